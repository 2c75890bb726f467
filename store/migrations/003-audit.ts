import type { Migration } from './index.js';

/**
 * The audit trail: one row per request, in chain order (`seq` from 1, no gaps), the record as
 * canonical JSON in `body`, and copies of the fields queries filter on. `audit_head` is the single
 * row every append locks and moves: appends are serialised, so the chain never forks.
 * `models` is every model attempted or answering, space-separated with a space at each end.
 */
export const audit: Migration = {
  version: 3,
  name: 'audit',
  sqlite: `
CREATE TABLE audit_records (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time_ms INTEGER NOT NULL,
  team TEXT,
  app TEXT,
  user_name TEXT,
  policy TEXT NOT NULL,
  model TEXT,
  models TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time_ms);
CREATE INDEX audit_records_team ON audit_records (team, time_ms);
CREATE INDEX audit_records_status ON audit_records (status, time_ms);

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'sha256:0000000000000000000000000000000000000000000000000000000000000000');
`,
  postgres: `
CREATE TABLE audit_records (
  seq BIGINT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time_ms BIGINT NOT NULL,
  team TEXT,
  app TEXT,
  user_name TEXT,
  policy TEXT NOT NULL,
  model TEXT,
  models TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time_ms);
CREATE INDEX audit_records_team ON audit_records (team, time_ms);
CREATE INDEX audit_records_status ON audit_records (status, time_ms);

CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, 'sha256:0000000000000000000000000000000000000000000000000000000000000000');
`,
};
