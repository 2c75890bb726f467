import type { Migration } from './index.js';

/**
 * Direct-mode requests in flight (docs/language.md §4.9): a row from `trackRequest`
 * until the request's audit record is appended (same transaction). A row still here after
 * `expires_ms` belongs to a front door that stopped mid-request: `sweepInterrupted` releases its
 * reservations and writes its `interrupted` audit record. `retain_days` is its policy's audit
 * retention.
 */
export const inflightRequests: Migration = {
  version: 7,
  name: 'inflight-requests',
  sqlite: `
CREATE TABLE inflight_requests (
  request_id TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  route TEXT,
  team TEXT,
  app TEXT,
  user_name TEXT,
  capability TEXT,
  started_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  retain_days DOUBLE PRECISION
);
CREATE INDEX inflight_requests_expires ON inflight_requests (expires_ms);
`,
  postgres: `
CREATE TABLE inflight_requests (
  request_id TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  plan_hash TEXT NOT NULL,
  route TEXT,
  team TEXT,
  app TEXT,
  user_name TEXT,
  capability TEXT,
  started_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  retain_days DOUBLE PRECISION
);
CREATE INDEX inflight_requests_expires ON inflight_requests (expires_ms);
`,
};
