import type { Migration } from './index.js';

/**
 * Rate-limit counters per (rate limit, scope value, window kind, window start), and the requests
 * admitted (one row per request and rate limit: what makes `admit` idempotent).
 */
export const rateLimits: Migration = {
  version: 2,
  name: 'rate-limits',
  sqlite: `
CREATE TABLE rate_counters (
  rate_limit TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  win TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (rate_limit, scope_value, win, window_start)
) WITHOUT ROWID;

CREATE TABLE rate_admissions (
  admission_key TEXT NOT NULL,
  rate_limit TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  requests INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (admission_key, rate_limit)
);
CREATE INDEX rate_admissions_created ON rate_admissions (created_ms);
`,
  postgres: `
CREATE TABLE rate_counters (
  rate_limit TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  win TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  requests BIGINT NOT NULL DEFAULT 0,
  tokens BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (rate_limit, scope_value, win, window_start)
);

CREATE TABLE rate_admissions (
  admission_key TEXT NOT NULL,
  rate_limit TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  requests BIGINT NOT NULL,
  tokens BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (admission_key, rate_limit)
);
CREATE INDEX rate_admissions_created ON rate_admissions (created_ms);
`,
};
