import type { Migration } from './index.js';

/**
 * The budget ledger. `ledger_reservations` holds one row per (attempt key, budget): reserved, then
 * committed, released or expired. What is *reserved* in a window is the sum of the live rows
 * (state `reserved`, not yet expired) made in that window; what is *spent* is kept as counters per
 * calendar window in `ledger_spent` (every window kind is counted, so any limit can be read).
 * `scope_locks` rows are what writers lock (PostgreSQL) and the list of scopes the ledger has seen.
 */
export const ledger: Migration = {
  version: 1,
  name: 'ledger',
  sqlite: `
CREATE TABLE scope_locks (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  PRIMARY KEY (kind, name, scope_value)
) WITHOUT ROWID;

CREATE TABLE ledger_reservations (
  reservation_key TEXT NOT NULL,
  budget TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  nanos INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released', 'expired')),
  actual_nanos INTEGER,
  actual_tokens INTEGER,
  settled_ms INTEGER,
  PRIMARY KEY (reservation_key, budget)
);
CREATE INDEX ledger_reservations_live ON ledger_reservations (budget, scope_value, created_ms)
  WHERE state = 'reserved';
CREATE INDEX ledger_reservations_settled ON ledger_reservations (settled_ms) WHERE state <> 'reserved';

CREATE TABLE ledger_spent (
  budget TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  win TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  spent_nanos INTEGER NOT NULL DEFAULT 0,
  spent_tokens INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (budget, scope_value, win, window_start)
) WITHOUT ROWID;

CREATE TABLE budget_definitions (
  budget TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  limits TEXT NOT NULL,
  on_exceed TEXT NOT NULL,
  updated_ms INTEGER NOT NULL
);
`,
  postgres: `
CREATE TABLE scope_locks (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  PRIMARY KEY (kind, name, scope_value)
);

CREATE TABLE ledger_reservations (
  reservation_key TEXT NOT NULL,
  budget TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  nanos BIGINT NOT NULL,
  tokens BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released', 'expired')),
  actual_nanos BIGINT,
  actual_tokens BIGINT,
  settled_ms BIGINT,
  PRIMARY KEY (reservation_key, budget)
);
CREATE INDEX ledger_reservations_live ON ledger_reservations (budget, scope_value, created_ms)
  WHERE state = 'reserved';
CREATE INDEX ledger_reservations_settled ON ledger_reservations (settled_ms) WHERE state <> 'reserved';

CREATE TABLE ledger_spent (
  budget TEXT NOT NULL,
  scope_value TEXT NOT NULL,
  win TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  spent_nanos BIGINT NOT NULL DEFAULT 0,
  spent_tokens BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (budget, scope_value, win, window_start)
);

CREATE TABLE budget_definitions (
  budget TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  limits TEXT NOT NULL,
  on_exceed TEXT NOT NULL,
  updated_ms BIGINT NOT NULL
);
`,
};
