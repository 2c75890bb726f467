/**
 * The store (ledger and audit trail), on SQLite and PostgreSQL:
 * - reservations per second at concurrency 64: each one a full cycle — reserve the worst case,
 *   then commit the actual cost (what every attempt does) — against budgets that bind, so that
 *   some reservations are refused; after each run the ledger is checked: any window whose
 *   spent + reserved passed its limit counts as an overspend (must be 0);
 *   - SQLite in one process (one connection; the driver is synchronous, so 64 in flight queue up),
 *   - SQLite from 4 processes × 16 in flight, one file (writers contend for the file lock),
 *   - PostgreSQL from one process with a pool of 16, one hot budget (every writer on one row lock)
 *     and 64 budgets (no contention);
 * - audit appends per second at concurrency 64 (every append serialises on the chain head).
 * Each sample is one run's throughput; PostgreSQL is skipped when no server can be started
 * (scripts/start-postgres.sh or SWITCHYARD_TEST_POSTGRES).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openStore } from '../store/index.js';
import type { AuditInput, BudgetLimits, Store } from '../store/types.js';
import type { BenchResult } from './run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TMP = path.join(ROOT, 'bench/.tmp');
const CONCURRENCY = 64;
const RUNS = 5;
const PER_RUN = 4_000;
const ESTIMATE = 10_000;

function summary(
  name: string,
  unit: string,
  samples: number[],
  extra: Partial<BenchResult> = {},
): BenchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { name, unit, median: at(50), p95: at(95), samples: samples.length, ...extra };
}

export interface CycleStats {
  ok: number;
  refused: number;
}

/** The limit of each budget for a run of `total` cycles: about 80% of the estimates fit (actuals are half). */
export function limitFor(total: number, budgets: number): number {
  return Math.floor(Math.ceil(total / budgets) * ESTIMATE * 0.4);
}

export interface CycleOptions {
  run: string;
  /** Cycles to run here, `concurrency` at a time. */
  count: number;
  concurrency: number;
  budgets: number;
  /** Each budget's limit (see `limitFor`). */
  limit: number;
  now: number;
  /** Distinguishes the keys of processes that share one run. */
  lane?: string;
}

/** Reserve→commit cycles spread over `budgets` budgets of the run. */
export async function cycles(store: Store, o: CycleOptions): Promise<CycleStats> {
  const limits: Record<string, BudgetLimits> = {};
  for (let b = 0; b < o.budgets; b++) {
    limits[`bench/b${b}`] = { limits: [{ kind: 'money', amount: o.limit, window: 'month' }] };
  }
  let next = 0;
  const stats: CycleStats = { ok: 0, refused: 0 };
  async function lane(): Promise<void> {
    for (let i = next++; i < o.count; i = next++) {
      const budget = `bench/b${i % o.budgets}`;
      const key = `${o.run}${o.lane ?? ''}-${i}#1`;
      const outcome = await store.reserve(
        [{ budget, scopeValue: o.run, key, nanos: ESTIMATE, tokens: 0 }],
        limits,
        o.now,
      );
      if (!outcome.ok) {
        stats.refused++;
        continue;
      }
      stats.ok++;
      await store.commit(key, ESTIMATE / 2, 0, o.now);
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, lane));
  return stats;
}

/** Windows of `run`'s budgets where spent + reserved exceeds the limit. */
async function overspends(
  store: Store,
  run: string,
  budgets: number,
  limit: number,
  now: number,
): Promise<number> {
  const usages = await store.usageMany(
    Array.from({ length: budgets }, (_, b) => ({
      budget: `bench/b${b}`,
      scopeValue: run,
      windows: ['month' as const],
    })),
    now,
  );
  return usages.filter(([u]) => u !== undefined && u.spentNanos + u.reservedNanos > limit).length;
}

async function inProcess(
  url: string,
  label: string,
  budgets: number,
  poolSize?: number,
): Promise<BenchResult> {
  const store = await openStore(url, poolSize ? { poolSize } : {});
  const samples: number[] = [];
  let over = 0;
  let refused = 0;
  const now = Date.now();
  try {
    const warm = { run: `warm-${randomUUID()}`, count: 500, concurrency: CONCURRENCY, budgets, now };
    await cycles(store, { ...warm, limit: limitFor(500, budgets) });
    for (let r = 0; r < RUNS; r++) {
      const run = randomUUID();
      const started = performance.now();
      const limit = limitFor(PER_RUN, budgets);
      const stats = await cycles(store, {
        run,
        count: PER_RUN,
        concurrency: CONCURRENCY,
        budgets,
        limit,
        now,
      });
      samples.push((PER_RUN / (performance.now() - started)) * 1000);
      refused += stats.refused;
      over += await overspends(store, run, budgets, limit, now);
    }
  } finally {
    await store.close();
  }
  return summary(`store: reservations/s (reserve+commit), ${label}`, 'ops/s', samples, {
    target: label.startsWith('SQLite') ? '≥ 2000 ops/s, 0 overspend' : '0 overspend',
    note: `overspent windows ${over}, refused ${Math.round((refused / (RUNS * PER_RUN)) * 100)}%`,
  });
}

async function multiProcess(url: string, processes: number, budgets: number): Promise<BenchResult> {
  const samples: number[] = [];
  let over = 0;
  const now = Date.now();
  const worker = path.join(ROOT, 'bench/store-worker.ts');
  const check = await openStore(url);
  try {
    for (let r = 0; r < RUNS; r++) {
      const run = randomUUID();
      const children = Array.from({ length: processes }, (_, p) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            worker,
            url,
            JSON.stringify({
              run,
              count: PER_RUN / processes,
              concurrency: CONCURRENCY / processes,
              budgets,
              limit: limitFor(PER_RUN, budgets),
              now,
              lane: `p${p}`,
            }),
          ],
          { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
        );
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        const ready = new Promise<void>((resolve) =>
          child.stdout.on('data', () => out.includes('ready') && resolve()),
        );
        const done = new Promise<void>((resolve, reject) =>
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`bench worker exited ${code}`)),
          ),
        );
        return { child, ready, done };
      });
      await Promise.all(children.map((c) => c.ready));
      const started = performance.now();
      for (const c of children) c.child.stdin.end('go\n');
      await Promise.all(children.map((c) => c.done));
      samples.push((PER_RUN / (performance.now() - started)) * 1000);
      over += await overspends(check, run, budgets, limitFor(PER_RUN, budgets), now);
    }
  } finally {
    await check.close();
  }
  return summary(
    `store: reservations/s (reserve+commit), SQLite, ${processes} processes × ${CONCURRENCY / processes}, one budget`,
    'ops/s',
    samples,
    {
      target: '≥ 2000 ops/s, 0 overspend',
      note: `overspent windows ${over}`,
    },
  );
}

function auditInput(id: string): AuditInput {
  return {
    id,
    caller: { team: 'support', app: 'helpdesk', user: 'u-42' },
    capability: 'chat',
    classification: 'internal',
    mode: 'interactive',
    policy: 'support',
    plan: 'sha256:bench',
    route: 'interactive',
    model: 'llama-8b',
    provider: 'gpu-east',
    status: 'served',
    reason: null,
    attempts: [
      {
        attempt: 1,
        model: 'llama-8b',
        provider: 'gpu-east',
        endpoint: 'http://gpu-east-1:11434',
        outcome: 'answered',
        errorClass: null,
        error: null,
        status: null,
        ms: 812,
      },
    ],
    usage: { inputTokens: 31, outputTokens: 54 },
    costNanos: 13_900,
    cost: '0.0000139',
    guards: [],
    budgets: [
      {
        budget: 'team-monthly',
        attempt: 1,
        model: 'llama-8b',
        outcome: 'committed',
        nanos: 13_900,
        tokens: 85,
      },
    ],
    rateLimits: [],
    prompts: {
      mode: 'hashed',
      messages: [{ role: 'user', sha256: `sha256:${'ab'.repeat(32)}` }],
      answer: null,
    },
  };
}

async function audits(url: string, label: string, poolSize?: number): Promise<BenchResult> {
  const store = await openStore(url, poolSize ? { poolSize } : {});
  const samples: number[] = [];
  const count = 2_000;
  let verified = true;
  try {
    for (let r = 0; r < RUNS; r++) {
      const run = randomUUID();
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = next++; i < count; i = next++) await store.appendAudit(auditInput(`${run}-${i}`));
        }),
      );
      samples.push((count / (performance.now() - started)) * 1000);
    }
    verified = (await store.verifyAudit()).ok;
  } finally {
    await store.close();
  }
  return summary(`store: audit appends/s, ${label}, concurrency ${CONCURRENCY}`, 'ops/s', samples, {
    note: verified ? 'chain verifies' : 'CHAIN BROKEN',
  });
}

function postgresUrl(): string | null {
  const given = process.env.SWITCHYARD_TEST_POSTGRES?.trim();
  if (given) return given;
  try {
    return execFileSync('bash', [path.join(ROOT, 'scripts/start-postgres.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export async function benchStore(): Promise<BenchResult[]> {
  fs.mkdirSync(TMP, { recursive: true });
  const results: BenchResult[] = [];
  const file = path.join(TMP, `store-${randomUUID()}.db`);
  const sqlite = `sqlite:${file}`;
  try {
    results.push(await inProcess(sqlite, 'SQLite, one process, one budget', 1));
    results.push(await multiProcess(sqlite, 4, 1));
    results.push(await audits(sqlite, 'SQLite'));
  } finally {
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  }

  const base = postgresUrl();
  if (base === null) {
    results.push({
      name: 'store: PostgreSQL',
      unit: 'ops/s',
      median: NaN,
      p95: NaN,
      samples: 0,
      note: 'skipped: no PostgreSQL server',
    });
    return results;
  }
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const url = `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  try {
    results.push(await inProcess(url, 'PostgreSQL, pool 16, one budget', 1, 16));
    results.push(await inProcess(url, 'PostgreSQL, pool 16, 64 budgets', 64, 16));
    results.push(await audits(url, 'PostgreSQL', 16));
  } finally {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  return results;
}
