/**
 * What governance adds to a request's latency, on this machine, through the real workflow (a
 * local Temporal dev server, workers in this process, the provider test server in its own process):
 * the same sequential requests (4 tokens from the real GGUF model) with
 *
 * - no governance: a policy without budgets or rate limits, and no audit record (a benchmark-only
 *   worker switch) — the baseline;
 * - the audit record only (every request has one);
 * - a budget and a rate limit as well: snapshot, rate-limit admission, reservation, commit and the
 *   audit record — as local activities (the default), and as ordinary activities on the workflow
 *   task queue (to justify the default);
 * - the same on PostgreSQL when `SWITCHYARD_TEST_POSTGRES` names a server.
 *
 * The store is a fresh SQLite file (WAL) per run.
 *
 *   npx tsx bench/governance.ts [--n 200]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { SwitchyardClient } from '../client/index.js';
import type { InferenceRequest } from '../plan/types.js';
import { PlanRegistry } from '../worker/registry.js';
import { startWorkers, type StartWorkersOptions } from '../worker/worker.js';
import type { BenchResult } from './run.js';
import { pct, sorted, startBenchStack, summary, timed } from './temporal.js';

function policies(providerPort: number): string {
  return `provider gpu {
  kind ollama
  endpoints "http://127.0.0.1:${providerPort}"
  queue "bench-gov-gpu"
  concurrency 8
  timeout 30s
  private
}
model m {
  provider gpu
  name "stories260K"
  context 1024
  capabilities chat
  price input $0.0001 per 1k, output $0.0002 per 1k
}
policy plain {
  route all when true { use m max-tokens 4 }
}
policy governed {
  budget monthly per team {
    limit $100000 per month
    tokens 1000M per day
    on-exceed reject
  }
  rate-limit per team {
    1000000 requests per minute
    on-exceed wait 1s
  }
  route all when true { use m max-tokens 4 }
  audit { prompts hashed }
}
`;
}

interface Variant {
  name: string;
  policy: 'plain' | 'governed';
  worker: Pick<StartWorkersOptions, 'governance' | 'audit'>;
  store: string;
}

export async function benchGovernance(options: { n?: number } = {}): Promise<BenchResult[]> {
  const n = options.n ?? 200;
  const stack = await startBenchStack('switchyard-bench-gov-');
  const { tmp, address, providerPort } = stack;
  const results: BenchResult[] = [];
  try {
    const dir = path.join(tmp, 'policies');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'bench.policy'), policies(providerPort));
    const registry = await PlanRegistry.load(dir);
    const sqlite = `sqlite:${path.join(tmp, 'state.db')}`;
    const postgres = process.env.SWITCHYARD_TEST_POSTGRES?.trim();
    const pgUrl = postgres
      ? `${postgres}${postgres.includes('?') ? '&' : '?'}schema=bench_gov_${process.pid}`
      : undefined;

    const variants: Variant[] = [
      { name: 'no governance (baseline)', policy: 'plain', worker: { audit: false }, store: sqlite },
      { name: 'audit record only', policy: 'plain', worker: {}, store: sqlite },
      {
        name: 'budget + rate limit + audit, local activities',
        policy: 'governed',
        worker: {},
        store: sqlite,
      },
      {
        name: 'budget + rate limit + audit, ordinary activities',
        policy: 'governed',
        worker: { governance: 'remote' },
        store: sqlite,
      },
      ...(pgUrl
        ? [
            {
              name: 'budget + rate limit + audit, local activities, PostgreSQL',
              policy: 'governed' as const,
              worker: {},
              store: pgUrl,
            },
          ]
        : []),
    ];
    const messages = [{ role: 'user' as const, content: 'Once upon a time' }];
    let baseline: number[] | undefined;
    for (const variant of variants) {
      const connection = await NativeConnection.connect({ address });
      const taskQueue = `bench-gov-${Math.random().toString(36).slice(2, 8)}`;
      const workers = await startWorkers({
        connection,
        registry,
        taskQueue,
        watch: false,
        storeUrl: variant.store,
        log: () => undefined,
        ...variant.worker,
      });
      const clientConnection = await Connection.connect({ address });
      const client = new SwitchyardClient(new Client({ connection: clientConnection }), { taskQueue });
      let i = 0;
      const req = (): InferenceRequest => ({
        id: `${taskQueue}-${i++}`,
        policy: variant.policy,
        capability: 'chat',
        team: 'bench',
        messages,
      });
      for (let w = 0; w < 20; w++) await client.infer(req());
      const samples = await timed(n, async () => {
        const result = await client.infer(req());
        if (result.status !== 'served') throw new Error(`bench request ${result.status}: ${result.reason}`);
      });
      results.push(summary(`governance: request, ${variant.name}`, samples));
      if (baseline === undefined) baseline = samples;
      else {
        const b = sorted(baseline);
        const s = sorted(samples);
        results.push({
          name: `  added latency: ${variant.name}`,
          unit: 'ms',
          median: pct(s, 50) - pct(b, 50),
          p95: pct(s, 95) - pct(b, 95),
          samples: n,
          note: `p99 ${(pct(s, 99) - pct(b, 99)).toFixed(1)} ms`,
        });
      }
      await workers.shutdown();
      await connection.close();
      await clientConnection.close();
    }
    if (postgres && pgUrl) {
      const admin = new pg.Client({ connectionString: postgres });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "bench_gov_${process.pid}" CASCADE`);
      await admin.end();
    }
  } finally {
    await stack.stop();
  }
  return results;
}

// Run on its own: `npx tsx bench/governance.ts`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { n: { type: 'string' } } });
  const results = await benchGovernance(values.n ? { n: Number(values.n) } : {});
  for (const r of results) {
    console.log(
      `${r.name.padEnd(72)} median ${r.median.toFixed(1).padStart(7)} ${r.unit}  p95 ${r.p95.toFixed(1).padStart(7)} ${r.unit}  (n=${r.samples}${r.note ? `, ${r.note}` : ''})`,
    );
  }
  process.exit(0);
}
