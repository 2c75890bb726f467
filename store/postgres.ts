/**
 * The PostgreSQL backend (`pg` Pool), for many workers sharing one ledger and audit trail.
 *
 * Writes run at READ COMMITTED with explicit row locks: every writer of a (budget | rate limit,
 * scope value) first locks its `scope_locks` row(s) with `SELECT … FOR UPDATE`, in sorted order,
 * and every audit append locks the single `audit_head` row. After the lock, each statement sees
 * everything committed before, so the check-then-write of a reservation cannot interleave with
 * another one on the same scope: concurrency never overspends. Deadlocks (40P01), serialization
 * failures (40001) and unique violations from racing first inserts (23505) are retried with the
 * whole transaction. Reads run as REPEATABLE READ READ ONLY (one snapshot).
 *
 * URL: `postgres://user:password@host:port/db`, plus optional `?schema=NAME` (created when
 * missing; the store's tables live there) and `?pool=N` (connections, default 10); every other
 * parameter goes to `pg` unchanged. BIGINT columns come back as JS numbers (safe to ~9e15).
 */
import pg from 'pg';
import { StoreError, maskUrl, urlPassword } from './errors.js';
import { CREATE_MIGRATIONS_TABLE, checksum, pending, type AppliedMigration } from './migrations/index.js';
import { SqlStore } from './sql-store.js';
import type { Driver, Op, Param, Tx, TxMode } from './sql.js';
import type { Store, StoreOptions } from './types.js';

const INT8 = 20;
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const MAX_ATTEMPTS = 30;
/** An arbitrary constant: the advisory lock that serialises migrations across openers. */
const MIGRATION_LOCK = 7_346_170_221;

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8 && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

function sqlState(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** `?` → `$1, $2 …`, outside quoted text. */
function numbered(sql: string): string {
  let n = 0;
  let out = '';
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

class PostgresDriver implements Driver {
  readonly kind = 'postgres' as const;
  private readonly texts = new Map<string, { text: string; name: string }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectError: (error: unknown) => Error,
  ) {}

  async transaction<T>(body: () => Tx<T>, mode: TxMode): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw this.connectError(error);
      }
      let broken: Error | undefined;
      // Whether a failure came from the connection (true) or from the transaction's own logic.
      let fromDatabase = true;
      try {
        const single = mode === 'single';
        if (!single)
          await client.query(mode === 'write' ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const tx = body();
        let input: unknown = undefined;
        for (let statements = 0; ; statements++) {
          fromDatabase = false;
          const step = tx.next(input);
          if (single && !step.done && statements > 0)
            throw new Error('store: a single-statement read ran a second statement');
          fromDatabase = true;
          if (step.done) {
            if (!single) await client.query('COMMIT');
            return step.value;
          }
          input = await this.exec(client, step.value);
        }
      } catch (error) {
        const state = sqlState(error);
        if (fromDatabase && state === null) {
          // The connection itself failed: drop it (the server rolls back).
          broken = error instanceof Error ? error : new Error(String(error));
        } else if (mode !== 'single') {
          await client.query('ROLLBACK').catch(() => undefined);
        }
        if (state !== null && RETRYABLE.has(state) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
          continue;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  private prepared(sql: string, forUpdate: boolean): { text: string; name: string } {
    const source = forUpdate ? `${sql} FOR UPDATE` : sql;
    let entry = this.texts.get(source);
    if (entry === undefined) {
      entry = { text: numbered(source), name: `sy${this.texts.size + 1}` };
      this.texts.set(source, entry);
    }
    return entry;
  }

  private async exec(client: pg.PoolClient, op: Op): Promise<unknown> {
    if (op.op === 'lock') {
      await this.lockRows(client, op.kind, op.keys);
      return undefined;
    }
    const { text, name } = this.prepared(op.sql, op.op !== 'run' && op.forUpdate === true);
    const result = await client.query({ text, name, values: op.params });
    switch (op.op) {
      case 'all':
        return result.rows;
      case 'get':
        return result.rows[0];
      case 'run':
        return result.rowCount ?? 0;
    }
  }

  private async lockRows(client: pg.PoolClient, kind: string, keys: [string, string][]): Promise<void> {
    const tuples = keys.map((_, i) => `($${2 * i + 2}, $${2 * i + 3})`).join(', ');
    const params = [kind, ...keys.flat()];
    const select = {
      name: `sylock${keys.length}`,
      text: `SELECT name FROM scope_locks WHERE kind = $1 AND (name, scope_value) IN (${tuples})
             ORDER BY name COLLATE "C", scope_value COLLATE "C" FOR UPDATE`,
      values: params,
    };
    const found = await client.query(select);
    if ((found.rowCount ?? 0) >= keys.length) return;
    await client.query({
      name: `syins${keys.length}`,
      text: `INSERT INTO scope_locks (kind, name, scope_value)
             VALUES ${keys.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(', ')}
             ON CONFLICT DO NOTHING`,
      values: params,
    });
    await client.query(select);
  }

  /** A cursor in one read-only transaction, fetched `page` rows at a time. */
  async *stream(sql: string, params: Param[], page: number): AsyncGenerator<unknown[][]> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.connectError(error);
    }
    let broken: Error | undefined;
    let open = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      await client.query({
        text: `DECLARE switchyard_stream NO SCROLL CURSOR FOR ${numbered(sql)}`,
        values: params,
      });
      const fetch = {
        text: `FETCH ${Math.max(1, Math.floor(page))} FROM switchyard_stream`,
        rowMode: 'array' as const,
      };
      for (;;) {
        const result = await client.query<unknown[]>(fetch);
        if (result.rows.length > 0) yield result.rows;
        if (result.rows.length < page) break;
      }
      await client.query('COMMIT');
      open = false;
    } catch (error) {
      if (sqlState(error) === null) broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      // Stopped early (the consumer broke off) or failed: end the transaction before the
      // connection goes back to the pool.
      if (open && broken === undefined) await client.query('ROLLBACK').catch(() => undefined);
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

export function parsePostgresUrl(url: string): {
  connectionString: string;
  schema: string | null;
  pool: number | null;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError('E-STORE-URL', `${maskUrl(url)} is not a valid postgres:// URL`);
  }
  const schema = parsed.searchParams.get('schema');
  const pool = parsed.searchParams.get('pool');
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('pool');
  if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new StoreError('E-STORE-URL', `schema=${schema}: expected an identifier (letters, digits, _)`);
  }
  if (pool !== null && !/^[1-9][0-9]{0,3}$/.test(pool)) {
    throw new StoreError('E-STORE-URL', `pool=${pool}: expected a number of connections`);
  }
  return { connectionString: parsed.toString(), schema, pool: pool === null ? null : Number(pool) };
}

export async function openPostgres(url: string, options: StoreOptions = {}): Promise<Store> {
  const parsed = parsePostgresUrl(url);
  const schema = options.schema ?? parsed.schema;
  const masked = maskUrl(url);
  const password = urlPassword(url);
  const connectError = (error: unknown): Error => {
    let message = error instanceof Error ? error.message : String(error);
    if (password) message = message.split(password).join('***');
    return new StoreError('E-STORE-CONNECT', `cannot reach the PostgreSQL store ${masked}: ${message}`);
  };
  const pool = new pg.Pool({
    connectionString: parsed.connectionString,
    max: options.poolSize ?? parsed.pool ?? 10,
    application_name: 'switchyard',
    connectionTimeoutMillis: 10_000,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection that the server drops must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema, connectError);
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      'E-STORE-SCHEMA',
      `cannot migrate the PostgreSQL store ${masked}: ${(error as Error).message}`,
    );
  }
  return new SqlStore(new PostgresDriver(pool, connectError), masked, options, password ? [password] : []);
}

async function migrate(
  pool: pg.Pool,
  schema: string | null,
  connectError: (e: unknown) => Error,
): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw connectError(error);
  }
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const applied = (
      await client.query<AppliedMigration>(
        'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
      )
    ).rows;
    const todo = pending(applied, 'postgres', (message) => new StoreError('E-STORE-SCHEMA', message));
    for (const migration of todo) {
      await client.query(migration.postgres);
      await client.query(
        'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)',
        [migration.version, migration.name, checksum(migration, 'postgres'), new Date().toISOString()],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
