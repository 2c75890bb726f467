import type { Migration } from './index.js';

/**
 * What a budget has reserved now (`windowUsage`, read by every snapshot and every reservation) is
 * summed over the reservations still `reserved` — a handful, the requests in flight. The index it
 * had, `ledger_reservations_live` (budget, scope, created_ms), also held every settled reservation
 * of the window, each looked up in the table to read its state: a month's budget read a month of
 * reservations (measured: 11 ms per read with 50,000 settled, against 34 µs with this one). This
 * index holds only reserved rows, with every column the sum reads.
 */
export const liveReservations: Migration = {
  version: 9,
  name: 'live-reservations',
  sqlite: `
DROP INDEX ledger_reservations_live;
CREATE INDEX ledger_reservations_reserved
  ON ledger_reservations (budget, scope_value, created_ms, expires_ms, nanos, tokens)
  WHERE state = 'reserved';
`,
  postgres: `
DROP INDEX ledger_reservations_live;
CREATE INDEX ledger_reservations_reserved
  ON ledger_reservations (budget, scope_value, created_ms, expires_ms, nanos, tokens)
  WHERE state = 'reserved';
`,
};
