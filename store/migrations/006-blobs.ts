import type { Migration } from './index.js';

/**
 * Blobs: large prompts and answers kept out of Temporal's workflow histories, which carry only
 * their sha256 (client/large-payloads.ts). Content-addressed, so storing the same bytes twice keeps
 * one row; `used_ms` is the last time they were stored, which `pruneBlobs` goes by.
 */
export const blobs: Migration = {
  version: 6,
  name: 'blobs',
  sqlite: `
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  bytes BLOB NOT NULL,
  size INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  used_ms INTEGER NOT NULL
);
CREATE INDEX blobs_used ON blobs (used_ms);
`,
  postgres: `
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  bytes BYTEA NOT NULL,
  size BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  used_ms BIGINT NOT NULL
);
CREATE INDEX blobs_used ON blobs (used_ms);
`,
};
