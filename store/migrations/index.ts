/**
 * Versioned schema migrations, the same numbered list for both backends (SQL per dialect). They
 * are applied on open, in order, each in the transaction that records it in `schema_migrations`
 * (version, name, checksum of its SQL, applied_at); concurrent openers serialise (SQLite: `BEGIN
 * IMMEDIATE`; PostgreSQL: an advisory transaction lock). A migration is never edited once
 * released: a recorded checksum that differs from the code's, or a database newer than the code,
 * refuses to open. Add a change as a new file with the next version.
 */
import { createHash } from 'node:crypto';
import { ledger } from './001-ledger.js';
import { rateLimits } from './002-rate-limits.js';
import { audit } from './003-audit.js';
import { auditRetention } from './004-audit-retention.js';
import { apiKeys } from './005-api-keys.js';
import { blobs } from './006-blobs.js';
import { inflightRequests } from './007-inflight-requests.js';
import { auditRouting } from './008-audit-routing.js';
import { liveReservations } from './009-live-reservations.js';

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  ledger,
  rateLimits,
  audit,
  auditRetention,
  apiKeys,
  blobs,
  inflightRequests,
  auditRouting,
  liveReservations,
];

export function checksum(migration: Migration, dialect: 'sqlite' | 'postgres'): string {
  return createHash('sha256').update(migration[dialect], 'utf8').digest('hex').slice(0, 16);
}

export const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

/** Which migrations to apply, after checking what is recorded; throws on an edited or unknown migration. */
export function pending(
  applied: AppliedMigration[],
  dialect: 'sqlite' | 'postgres',
  fail: (message: string) => Error,
): Migration[] {
  const known = new Map(MIGRATIONS.map((m) => [m.version, m]));
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  for (const row of applied) {
    const migration = known.get(row.version);
    if (migration === undefined) {
      throw fail(
        `the store's schema is at version ${Math.max(...applied.map((a) => a.version))}, newer than this switchyard knows (${latest}); upgrade switchyard`,
      );
    }
    if (checksum(migration, dialect) !== row.checksum) {
      throw fail(
        `migration ${row.version} (${row.name}) recorded in the store differs from this switchyard's (checksum ${row.checksum} ≠ ${checksum(migration, dialect)})`,
      );
    }
  }
  const done = new Set(applied.map((a) => a.version));
  return MIGRATIONS.filter((m) => !done.has(m.version));
}
