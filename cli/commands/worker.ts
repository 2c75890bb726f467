import type { NativeConnection } from '@temporalio/worker';
import { PlanRegistry, PolicyErrors } from '../../worker/registry.js';
import {
  QueueError,
  startWorkers,
  type StartWorkersOptions,
  type WorkersHandle,
} from '../../worker/worker.js';
import type { SwitchyardConfig } from '../../worker/config.js';
import { httpRelay } from '../../frontdoor/relay-client.js';
import { largePayloads } from './serve.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, configFrom, connectWorker, untilSignal } from '../temporal.js';
import {
  installRuntimeFor,
  listenMetrics,
  metricsAddress,
  METRICS_OPTIONS,
  METRICS_USAGE,
} from '../metrics.js';
import type { MetricsServer } from '../../operations/server.js';

export const workerUsage = `usage: switchyard worker --policies DIR [--queues Q1,Q2] [--attempts local|remote] [--no-watch] [--store URL] [--address A] [--namespace N]

Compiles and validates every policy in DIR (refuses to start on errors, printing them), then polls
Temporal: the workflow task queue (requests and their decisions) and one task queue per provider
found in the plans, each running at most that provider's concurrency × endpoints attempts at once.
Watches DIR: new requests use the new plans, running ones keep theirs. Ctrl-C stops gracefully.

  --policies DIR     the policies (or 'policies:' in switchyard.yaml)
  --queues Q1,Q2     poll only these task queues, e.g. a GPU host's provider queue; add the
                     workflow task queue (switchyard) to run requests here too
  --attempts MODE    remote (default): attempts always go through the provider's queue;
                     local: attempts for provider queues this worker also polls run as local
                     activities of the request's workflow — no round trip through Temporal, but
                     a cancellation waits for the workflow task's heartbeat (up to 8 s)
                     (SWITCHYARD_ATTEMPTS, 'attempts:' in switchyard.yaml)
  --no-watch         do not recompile when DIR changes
  --store URL        the budget ledger and audit trail (SWITCHYARD_STORE, 'store:' in
                     switchyard.yaml; default sqlite:.switchyard/state.db); workers that poll the
                     workflow task queue need it
${METRICS_USAGE}

${CONNECTION_USAGE}`;

export async function worker(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      policies: { type: 'string' },
      queues: { type: 'string' },
      attempts: { type: 'string' },
      'no-watch': { type: 'boolean' },
      store: { type: 'string' },
      ...METRICS_OPTIONS,
      ...CONNECTION_OPTIONS,
    },
    workerUsage,
  );
  if (values.help) return { stdout: workerUsage, exitCode: 0 };
  if (positionals.length > 0) return { usage: `unexpected argument '${positionals[0]}'\n${workerUsage}` };
  const queues =
    typeof values.queues === 'string'
      ? values.queues
          .split(',')
          .map((q) => q.trim())
          .filter((q) => q !== '')
      : undefined;
  const config = configFrom(values, {
    ...(typeof values.policies === 'string' ? { policies: values.policies } : {}),
    ...(queues ? { queues } : {}),
    ...(typeof values.store === 'string' ? { store: values.store } : {}),
    ...(typeof values.attempts === 'string' ? { attempts: values.attempts } : {}),
  });
  if (config.policies === undefined) {
    return {
      usage: `switchyard worker needs --policies DIR (or 'policies:' in switchyard.yaml)\n${workerUsage}`,
    };
  }

  const metricsAt = metricsAddress(values, config);
  const registry = await loadRegistry(config.policies);
  await installRuntimeFor(metricsAt !== undefined);
  const connection = await connectWorker(config);
  const stop = untilSignal();
  let handle: WorkersHandle | undefined;
  let metrics: MetricsServer | undefined;
  try {
    if (metricsAt !== undefined) metrics = await listenMetrics(metricsAt);
    // Streamed durable requests name their front door's relay URL: attempts here stream to it.
    handle = await launch(connection, registry, config, !values['no-watch'], { relay: httpRelay });
    process.stdout.write(`${readyLine('switchyard worker', handle, config)}\n`);
    if (metrics) process.stdout.write(`  metrics (Prometheus): ${metrics.url}/metrics\n`);
    const outcome = await Promise.race([
      stop.promise.then(() => 'signal' as const),
      handle.done.then(
        () => 'stopped' as const,
        (err: unknown) => err,
      ),
    ]);
    await handle.shutdown();
    if (outcome === 'signal' || outcome === 'stopped') return { exitCode: 0 };
    throw new CliError('E-WORKER-FAILED', `a worker stopped: ${(outcome as Error).message}`);
  } finally {
    stop.dispose();
    await metrics?.close();
    await handle?.shutdown();
    await connection.close();
  }
}

/** Compiles the policies, printing every error (one `file:line:col: error CODE message` line each). */
export async function loadRegistry(dir: string): Promise<PlanRegistry> {
  try {
    return await PlanRegistry.load(dir);
  } catch (err) {
    if (!(err instanceof PolicyErrors)) throw err;
    for (const line of err.errors) process.stderr.write(`${line}\n`);
    throw new CliError(
      'E-POLICIES',
      `${err.errors.length} error${err.errors.length === 1 ? '' : 's'} in ${dir}; not starting`,
    );
  }
}

export async function launch(
  connection: NativeConnection,
  registry: PlanRegistry,
  config: SwitchyardConfig,
  watch: boolean,
  /** More worker options (the front door's relay when it shares the process). */
  extra: Partial<StartWorkersOptions> = {},
): Promise<WorkersHandle> {
  // Large prompts arrive as references to the store's blobs (docs/http.md "Limits and hardening").
  const blobs = largePayloads(config.store);
  try {
    const handle = await startWorkers({
      payloadCodecs: blobs.codecs,
      ...extra,
      connection,
      registry,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      watch,
      storeUrl: config.store,
      attempts: config.attempts,
      ...(config.queues ? { queues: config.queues } : {}),
      ...(config.alerts ? { alerts: config.alerts } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    return {
      ...handle,
      shutdown: async () => {
        await handle.shutdown();
        await blobs.close();
      },
    };
  } catch (err) {
    await blobs.close();
    if (err instanceof QueueError) throw new CliError(err.code, err.message);
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (typeof code === 'string' && code.startsWith('E-STORE')) throw new CliError(code, message);
    throw new CliError('E-WORKER-START', `cannot start the workers: ${message.split('\n')[0]}`);
  }
}

export function readyLine(who: string, handle: WorkersHandle, config: SwitchyardConfig): string {
  const plans = handle.registry
    .plans()
    .map((p) => `${p.plan.name} (${p.plan.hash.slice(0, 15)}…)`)
    .join(', ');
  const queues = handle
    .queues()
    .map((q) =>
      q.kind === 'workflows'
        ? `${q.queue} (requests)`
        : `${q.queue} (${q.providers.join(', ')}: ${q.concurrency} at once)`,
    )
    .join(', ');
  return `${who} ready on ${config.address}, namespace ${config.namespace}\n  policies: ${plans}\n  task queues: ${queues}`;
}
