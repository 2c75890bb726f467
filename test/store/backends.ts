/**
 * The two store backends the shared suite runs against, each giving fresh, empty stores:
 * - SQLite: a new file under test/.tmp/ per store;
 * - PostgreSQL: a new schema (`?schema=t_…`) per store on the server named by
 *   `SWITCHYARD_TEST_POSTGRES`, else on the throwaway cluster `scripts/start-postgres.sh` starts.
 *   When neither works the PostgreSQL suite is skipped, saying why.
 * `raw(url)` gives direct SQL access (to tamper with records), `spawnWorkers` real concurrency from
 * several processes.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../../store/index.js';
import type { Store, StoreOptions } from '../../store/types.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = path.join(PROJECT_ROOT, 'test/.tmp/store');

export interface Raw {
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** Runs a script of several statements (no results). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** `null` when usable; else why not (the suite is skipped with this message). */
  unavailable: string | null;
  /** Set when a server was named (`SWITCHYARD_TEST_POSTGRES`) but cannot be used: the suite fails. */
  broken?: string;
  /** A URL for a fresh, empty store. */
  freshUrl(): string;
  raw(url: string): Promise<Raw>;
  /** Drops what `freshUrl` created. */
  cleanup(): Promise<void>;
}

export function sqliteBackend(): Backend {
  fs.mkdirSync(TMP, { recursive: true });
  const files: string[] = [];
  return {
    name: 'sqlite',
    unavailable: null,
    freshUrl() {
      const file = path.join(TMP, `${randomUUID()}.db`);
      files.push(file);
      return `sqlite:${file}`;
    },
    async raw(url) {
      const db = new Database(url.replace(/^sqlite:/, ''));
      db.pragma('busy_timeout = 30000');
      return {
        query: async (sql) =>
          db.prepare(sql).reader
            ? (db.prepare(sql).all() as Record<string, unknown>[])
            : (db.prepare(sql).run(), []),
        exec: async (sql) => void db.exec(sql),
        close: async () => void db.close(),
      };
    },
    async cleanup() {
      for (const file of files)
        for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    },
  };
}

/** The PostgreSQL server for tests: `SWITCHYARD_TEST_POSTGRES`, else the script's throwaway cluster. */
function postgresBase(): { url: string } | { reason: string } {
  const given = process.env.SWITCHYARD_TEST_POSTGRES?.trim();
  if (given) return { url: given };
  try {
    const url = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts/start-postgres.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    }).trim();
    return { url };
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    return { reason: stderr.split('\n').pop() || (error as Error).message };
  }
}

async function reachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function postgresBackend(): Promise<Backend> {
  const base = postgresBase();
  const problem = 'reason' in base ? base.reason : await reachable(base.url);
  const named = Boolean(process.env.SWITCHYARD_TEST_POSTGRES?.trim());
  const url = 'url' in base ? base.url : '';
  const schemas: string[] = [];
  const withSchema = (schema: string): string => `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
  return {
    name: 'postgres',
    unavailable:
      problem === null || named
        ? null
        : `no PostgreSQL server (${problem}); set SWITCHYARD_TEST_POSTGRES or install postgresql for scripts/start-postgres.sh`,
    ...(problem !== null && named
      ? { broken: `SWITCHYARD_TEST_POSTGRES names a server that cannot be used: ${problem}` }
      : {}),
    freshUrl() {
      const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      schemas.push(schema);
      return withSchema(schema);
    },
    async raw(storeUrl) {
      const schema = new URL(storeUrl).searchParams.get('schema');
      const client = new pg.Client({
        connectionString: url,
        ...(schema ? { options: `-c search_path=${schema}` } : {}),
      });
      await client.connect();
      return {
        query: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
        exec: async (sql) => void (await client.query(sql)),
        close: () => client.end(),
      };
    },
    async cleanup() {
      if (problem !== null || schemas.length === 0) return;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

export async function backends(): Promise<Backend[]> {
  return [sqliteBackend(), await postgresBackend()];
}

/** Opens a fresh store on `backend`; closed (and dropped) by the caller's `cleanup`. */
export async function freshStore(
  backend: Backend,
  options: StoreOptions = {},
): Promise<{ url: string; store: Store }> {
  const url = backend.freshUrl();
  return { url, store: await openStore(url, options) };
}

export type WorkerJob =
  | {
      op: 'reserve';
      /** Reserve then, when `commit` is set, commit `commit` nanos (and tokens) right away. */
      items: {
        key: string;
        budget: string;
        scopeValue: string | null;
        nanos: number;
        tokens: number;
        commit?: { nanos: number; tokens: number };
      }[];
      limits: Record<
        string,
        {
          limits: {
            kind: 'money' | 'tokens';
            amount: number;
            window: 'minute' | 'hour' | 'day' | 'week' | 'month';
          }[];
        }
      >;
      now: number;
    }
  | {
      op: 'admit';
      items: {
        key: string;
        rateLimit: string;
        scopeValue: string | null;
        requests: number;
        tokens: number;
      }[];
      limits: Record<
        string,
        {
          kind: 'requests' | 'tokens';
          amount: number;
          window: 'minute' | 'hour' | 'day' | 'week' | 'month';
        }[]
      >;
      now: number;
    }
  | { op: 'audit'; ids: string[] }
  /** `sweepInterrupted(now)` `times` times, concurrently. */
  | { op: 'sweep'; now: number; times: number };

/**
 * Runs jobs in separate processes (each its own connection), all released at once; each process
 * runs its items concurrently. Returns each process's results, in job order.
 */
export async function spawnWorkers(url: string, jobs: WorkerJob[]): Promise<unknown[][]> {
  const main = path.join(PROJECT_ROOT, 'test/store/worker-main.ts');
  const children = jobs.map((job) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, url], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ready = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (stdout.includes('ready\n')) resolve();
      };
      child.stdout.on('data', check);
      child.on('exit', (code) => reject(new Error(`worker exited ${code} before ready: ${stderr}`)));
    });
    const done = new Promise<unknown[]>((resolve, reject) => {
      child.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`worker exited ${code}: ${stderr}`));
        const line = stdout.split('\n').find((l) => l.startsWith('result '));
        if (line === undefined) return reject(new Error(`worker printed no result: ${stdout} ${stderr}`));
        resolve(JSON.parse(line.slice('result '.length)) as unknown[]);
      });
    });
    child.stdin.write(`${JSON.stringify(job)}\n`);
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.end('go\n');
  return Promise.all(children.map((c) => c.done));
}
