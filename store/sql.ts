/**
 * The store's logic is written once, as generators that yield SQL operations; each backend drives
 * them. SQLite drives a generator synchronously inside one `BEGIN IMMEDIATE` transaction (so a
 * transaction never spans an `await`, and several connections in one process cannot deadlock);
 * PostgreSQL drives it over one pooled connection, awaiting each statement, inside a transaction
 * it retries on serialization failures and deadlocks.
 *
 * SQL is written with `?` placeholders in the dialect common to both (PostgreSQL gets `$n`).
 * Integers come back as JS numbers on both backends (PostgreSQL BIGINT is parsed; sums are cast
 * to BIGINT).
 */

/** `Buffer`: blobs (SQLite BLOB, PostgreSQL bytea); both drivers take and return Buffers. */
export type Param = string | number | null | Buffer;

export type Op =
  /** `forUpdate`: PostgreSQL appends `FOR UPDATE` (SQLite's `BEGIN IMMEDIATE` already excludes other writers). */
  | { op: 'all'; sql: string; params: Param[]; forUpdate?: boolean }
  | { op: 'get'; sql: string; params: Param[]; forUpdate?: boolean }
  | { op: 'run'; sql: string; params: Param[] }
  /**
   * Serialises writers of these (kind, name, scope) rows until the transaction ends; the rows are
   * created when missing. SQLite: `BEGIN IMMEDIATE` already serialises every writer, so it only
   * creates the rows. PostgreSQL: `SELECT … FOR UPDATE`, in sorted order (no deadlocks).
   */
  | { op: 'lock'; kind: string; keys: [string, string][] };

export type Tx<T> = Generator<Op, T, unknown>;
export type Row = Record<string, unknown>;

export function* all<T = Row>(sql: string, params: Param[] = []): Tx<T[]> {
  return (yield { op: 'all', sql, params }) as T[];
}

export function* get<T = Row>(sql: string, params: Param[] = []): Tx<T | undefined> {
  return (yield { op: 'get', sql, params }) as T | undefined;
}

/** `all` that locks the rows it reads until the transaction ends (PostgreSQL `FOR UPDATE`). */
export function* allForUpdate<T = Row>(sql: string, params: Param[] = []): Tx<T[]> {
  return (yield { op: 'all', sql, params, forUpdate: true }) as T[];
}

/** `get` that locks the row it reads until the transaction ends (PostgreSQL `FOR UPDATE`). */
export function* getForUpdate<T = Row>(sql: string, params: Param[] = []): Tx<T | undefined> {
  return (yield { op: 'get', sql, params, forUpdate: true }) as T | undefined;
}

/** Runs a statement; returns the number of rows it changed. */
export function* run(sql: string, params: Param[] = []): Tx<number> {
  return (yield { op: 'run', sql, params }) as number;
}

export function* lock(kind: string, keys: [string, string][]): Tx<void> {
  if (keys.length === 0) return;
  const sorted = uniqueSorted(keys);
  yield { op: 'lock', kind, keys: sorted };
}

function uniqueSorted(keys: [string, string][]): [string, string][] {
  const seen = new Map<string, [string, string]>();
  for (const key of keys) seen.set(`${key[0]}\u0000${key[1]}`, key);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, key]) => key);
}

/**
 * How a backend runs a transaction: `write` serialises with other writers; `read` sees one
 * snapshot; `single`: a read of ONE statement, which needs no transaction around it (PostgreSQL
 * then takes one round trip instead of three — for the front door's per-request key checks).
 */
export type TxMode = 'read' | 'write' | 'single';

export interface Driver {
  readonly kind: 'sqlite' | 'postgres';
  transaction<T>(body: () => Tx<T>, mode: TxMode): Promise<T>;
  /**
   * The rows of one read-only statement as arrays (column order), in pages of at most `page`, without
   * holding them all: for reads too long for one result (audit replay).
   */
  stream(sql: string, params: Param[], page: number): AsyncIterable<unknown[][]>;
  close(): Promise<void>;
}

/** Scope values are stored NOT NULL (they are part of primary keys): `null` ↔ the empty string. */
export function encodeScope(scopeValue: string | null): string {
  return scopeValue ?? '';
}

export function decodeScope(stored: string): string | null {
  return stored === '' ? null : stored;
}

export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}
