/**
 * The worker process (docs/architecture.md, decision 4): one Temporal worker for the workflow task
 * queue (the request workflow and its local activities), plus one per provider task queue found in
 * the plans, each running at most that provider's concurrency × its endpoints attempts at once.
 *
 * `queues` restricts what this process polls — a worker beside a GPU host polls that provider's
 * queue only; name the workflow task queue (`switchyard`) in the list to poll it too. Without
 * `queues` every queue is polled, and queues that appear when the policies change get a worker.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type LogEntry,
  type LogLevel,
  type NativeConnection,
  type WorkflowBundle,
} from '@temporalio/worker';
import {
  createAttemptActivities,
  createLocalActivities,
  type AttemptActivityOptions,
} from '../activities/index.js';
import { budgetDefinitions, createGovernanceActivities } from '../activities/governance.js';
import { closeProviders, createProvider, EmbeddedProvider } from '../activities/providers/index.js';
import type { ProviderPlan } from '../plan/types.js';
import { openStore, storeUrl } from '../store/index.js';
import type { Store } from '../store/types.js';
import {
  SEARCH_ATTRIBUTES,
  type AttemptActivities,
  type GovernanceActivities,
  type LocalActivities,
} from '../contract/index.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './config.js';
import { PlanRegistry } from './registry.js';

export interface StartWorkersOptions {
  connection: NativeConnection;
  /** The policies directory; or pass a loaded `registry`. */
  policiesDir?: string;
  registry?: PlanRegistry;
  /** @default 'default' */
  namespace?: string;
  /** The workflow task queue. @default 'switchyard' */
  taskQueue?: string;
  /** Poll only these task queues (provider queues, and the workflow queue if named). */
  queues?: string[];
  /** Recompile when the policies change. @default true */
  watch?: boolean;
  /** A prebuilt workflow bundle (`bundleWorkflows()`); built once per process otherwise. */
  workflowBundle?: WorkflowBundle;
  /** Provider options (streaming, endpoint pool …). */
  providers?: AttemptActivityOptions['providers'];
  /** How long in-flight attempts may finish on shutdown before they are cancelled. @default 5000 */
  shutdownGraceMs?: number;
  /** Extra Temporal worker options for the workflow worker (tuning). */
  workflowWorkerOptions?: Partial<
    Pick<
      Parameters<typeof Worker.create>[0],
      | 'maxConcurrentWorkflowTaskExecutions'
      | 'maxConcurrentLocalActivityExecutions'
      | 'maxCachedWorkflows'
      | 'stickyQueueScheduleToStartTimeout'
      | 'workflowTaskPollerBehavior'
    >
  >;
  /** Close the process-wide provider cache on shutdown. @default true */
  closeProviders?: boolean;
  /**
   * The ledger and audit store for the request workflows (only a worker that polls the workflow
   * task queue needs one). Given: used and left open. Otherwise opened from `storeUrl` (default
   * `SWITCHYARD_STORE`, else `sqlite:.switchyard/state.db`) and closed on shutdown.
   */
  store?: Store;
  storeUrl?: string;
  /** The governance activities' clock (epoch ms); tests move it. @default Date.now */
  clock?: () => number;
  /**
   * How request workflows call the ledger and the audit log: `local` activities (default; measured
   * faster, see docs/running.md) or ordinary activities on the workflow task queue.
   */
  governance?: 'local' | 'remote';
  /**
   * How the workflow runs attempts for provider queues this process also serves: `remote`
   * (default), always as ordinary activities on the provider's queue (any worker polling it may
   * take them); or `local`, as local activities of the workflow's worker — no round trip through
   * the server, but a cancellation or a dead worker is noticed only at the workflow task's
   * heartbeat (docs/running.md "Latency"). Attempts for queues this process does not serve always
   * go to their queue.
   */
  attempts?: 'local' | 'remote';
  /** `false`: request workflows append no audit record. Benchmarks only (measuring its cost). @default true */
  audit?: boolean;
  /**
   * Set the Switchyard search attributes on request workflows. `auto` (default): when the
   * namespace has them — the worker adds missing ones through the operator API when it may.
   */
  searchAttributes?: 'auto' | false;
  /** Progress lines (ready, reloads, errors). @default stderr */
  log?: (line: string) => void;
  /**
   * How often the workflow worker prunes its store (expired audit records, `store.pruneAudit`;
   * ledger reservations and rate-limit admissions older than 7 days, `store.prune`): at start, then
   * every this many ms; `0` never. @default 3600000 (an hour)
   */
  pruneEveryMs?: number;
}

/** Ledger reservations and rate-limit admissions are forgotten this long after they ended. */
export const LEDGER_KEEP_MS = 7 * 24 * 3_600_000;

export interface QueueWorker {
  queue: string;
  /** Attempts in flight at most (0 for the workflow queue). */
  concurrency: number;
  /** The providers whose attempts it runs (empty for the workflow queue). */
  providers: string[];
  kind: 'workflows' | 'attempts';
}

export interface WorkersHandle {
  registry: PlanRegistry;
  /** What runs now (grows when new provider queues appear). */
  queues(): QueueWorker[];
  /** Stops polling, lets in-flight work finish (up to the grace time), closes providers. */
  shutdown(): Promise<void>;
  /** Settles when every worker stopped; rejects if one failed. */
  done: Promise<void>;
}

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow code, bundled once per process (a few seconds: webpack). */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: new DefaultLogger('WARN'),
  }).then((b) => ({ code: b.code }));
  return bundle;
}

/** `workflows/index` beside this room: `.ts` from source, `.js` from `dist/` (also from the CLI bundle). */
export function workflowsPath(): string {
  for (const candidate of ['../workflows/index.ts', '../workflows/index.js']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new Error('workflows/index.js not found beside the worker (was the project built?)');
}

/**
 * Installs Temporal's runtime with a quieter logger (warnings and errors only, or `level`) and
 * without its own signal handlers: the CLI stops workers itself, in order. Call it before the first
 * connection; later calls do nothing.
 */
export function installRuntime(level: LogLevel = 'WARN'): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(level, printLog),
      // SDK Core's own messages go through the same logger, at the same level.
      telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } },
      shutdownSignals: [],
    });
  } catch {
    // Already installed (by an earlier call or by a connection): keep it.
  }
}

/** Temporal's log lines on stderr, minus the expected: provider-queue workers run no workflows. */
function printLog(entry: LogEntry): void {
  if (entry.message.startsWith('No workflows registered')) return;
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { breakLength: Infinity, depth: 4 })}`;
  process.stderr.write(`${time} [${entry.level}] ${entry.message}${meta}\n`);
}

/** Attempts a provider may run at once on one worker: its concurrency × its endpoints. */
export function providerConcurrency(provider: ProviderPlan): number {
  const perEndpoint = Math.max(1, provider.concurrency || 1);
  return provider.kind === 'embedded' ? perEndpoint : perEndpoint * Math.max(1, provider.endpoints.length);
}

/** Provider task queues of the loaded plans: each queue's providers and summed concurrency. */
export function providerQueues(
  registry: PlanRegistry,
): Map<string, { concurrency: number; providers: Map<string, number> }> {
  const queues = new Map<string, { concurrency: number; providers: Map<string, number> }>();
  for (const { plan } of registry.plans()) {
    for (const provider of Object.values(plan.providers)) {
      let queue = queues.get(provider.queue);
      if (!queue) {
        queue = { concurrency: 0, providers: new Map() };
        queues.set(provider.queue, queue);
      }
      // The same provider in several plans counts once, at its largest concurrency.
      const n = providerConcurrency(provider);
      queue.providers.set(provider.name, Math.max(n, queue.providers.get(provider.name) ?? 0));
      queue.concurrency = [...queue.providers.values()].reduce((a, b) => a + b, 0);
    }
  }
  return queues;
}

export async function startWorkers(options: StartWorkersOptions): Promise<WorkersHandle> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
  const registry =
    options.registry ??
    (options.policiesDir !== undefined ? await PlanRegistry.load(options.policiesDir) : undefined);
  if (!registry) throw new Error('startWorkers: give policiesDir or registry');
  const restrict = options.queues ? new Set(options.queues) : undefined;
  const shutdownGraceTime = options.shutdownGraceMs ?? 5_000;

  if (restrict) {
    const known = new Set([taskQueue, ...providerQueues(registry).keys()]);
    const unknown = [...restrict].filter((q) => !known.has(q));
    if (unknown.length > 0) {
      throw new QueueError(
        `no provider of the loaded policies uses queue${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ` +
          `(queues: ${[...known].join(', ')})`,
      );
    }
  }

  let searchable = false;
  // Provider queues served in this process (by their own worker, or by the workflow worker).
  const served = new Set<string>();
  const localAttempts = options.attempts === 'local';
  const local = createLocalActivities(registry, {
    searchAttributes: () => searchable,
    localQueues: () => (localAttempts ? [...served].sort() : []),
    governance: options.governance ?? 'local',
    ...(options.audit === false ? { audit: false } : {}),
  });
  let store: Store | undefined = options.store;
  let ownsStore = false;
  const attempts = createAttemptActivities({
    plans: registry,
    concurrency: providerConcurrency,
    servesLocally: (queue) => localAttempts && served.has(queue),
    ...(options.providers ? { providers: options.providers } : {}),
  }) satisfies AttemptActivities;

  const running: { worker: Worker; info: QueueWorker; run: Promise<void> }[] = [];
  let stopping = false;
  let failed: (err: unknown) => void = () => undefined;
  const failure = new Promise<never>((_resolve, reject) => {
    failed = reject;
  });
  failure.catch(() => undefined);

  const launch = (worker: Worker, info: QueueWorker) => {
    const run = worker.run();
    run.catch((err: unknown) => {
      if (!stopping) {
        log(`switchyard worker: the worker for queue ${info.queue} stopped: ${(err as Error).message}`);
        failed(err);
      }
    });
    running.push({ worker, info, run });
  };

  const recordBudgets = async () => {
    const definitions = budgetDefinitions(registry.plans().map((p) => p.plan));
    if (store !== undefined && definitions.length > 0) await store.recordBudgets(definitions);
  };

  const startWorkflowWorker = async () => {
    if (restrict && !restrict.has(taskQueue)) return;
    if (store === undefined) {
      store = await openStore(options.storeUrl ?? storeUrl());
      ownsStore = true;
    }
    // `budget show` knows the limits of every loaded budget, used or not.
    await recordBudgets();
    const governance = createGovernanceActivities(store, {
      plans: registry,
      ...(options.clock ? { now: options.clock } : {}),
    }) satisfies GovernanceActivities;
    const workflowActivities = {
      ...local,
      ...governance,
      localAttempt: attempts.localAttempt,
    } satisfies LocalActivities;
    if (options.searchAttributes !== false) {
      searchable = await ensureSearchAttributes(options.connection, namespace, log);
    }
    const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
    // A provider whose queue is the workflow queue gets its attempts run by this worker too.
    const shared = providerQueues(registry).get(taskQueue);
    const worker = await Worker.create({
      connection: options.connection,
      namespace,
      taskQueue,
      workflowBundle,
      activities: shared ? { ...workflowActivities, attempt: attempts.attempt } : workflowActivities,
      enableNonLocalActivities: shared !== undefined || options.governance === 'remote',
      ...(shared ? { maxConcurrentActivityTaskExecutions: shared.concurrency } : {}),
      shutdownGraceTime,
      // A request whose worker died waits this long for it before another worker takes over
      // (Temporal's default is 10 s; requests are interactive).
      stickyQueueScheduleToStartTimeout: '3s',
      ...options.workflowWorkerOptions,
    });
    const providers = shared ? [...shared.providers.keys()].sort() : [];
    if (shared) served.add(taskQueue);
    launch(worker, { queue: taskQueue, concurrency: shared?.concurrency ?? 0, providers, kind: 'workflows' });
  };

  const startQueues = async () => {
    for (const [queue, { concurrency, providers }] of providerQueues(registry)) {
      if (queue === taskQueue || (restrict && !restrict.has(queue))) continue;
      if (running.some((r) => r.info.queue === queue)) continue;
      const worker = await Worker.create({
        connection: options.connection,
        namespace,
        taskQueue: queue,
        activities: { attempt: attempts.attempt },
        maxConcurrentActivityTaskExecutions: concurrency,
        shutdownGraceTime,
      });
      served.add(queue);
      launch(worker, { queue, concurrency, providers: [...providers.keys()].sort(), kind: 'attempts' });
    }
    warmEmbedded(registry, restrict, options.providers, log);
  };
  try {
    await startWorkflowWorker();
    await startQueues();
  } catch (err) {
    // Leave nothing polling behind.
    stopping = true;
    for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(running.map((r) => r.run));
    if (ownsStore) await store?.close().catch(() => undefined);
    throw err;
  }

  // Store housekeeping (workflow worker only): audit retention and old ledger keys, at start and
  // then on a timer that never keeps the process alive; a failure is logged, never fatal.
  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<void> | undefined;
  const pruneStore = (): void => {
    if (store === undefined || stopping || pruning !== undefined) return;
    const target = store;
    const at = (options.clock ?? Date.now)();
    pruning = (async () => {
      try {
        const audit = await target.pruneAudit(at);
        if (audit.deleted > 0) {
          log(
            `switchyard worker: pruned ${audit.deleted} expired audit record${audit.deleted === 1 ? '' : 's'}; the chain now starts after #${audit.floorSeq}`,
          );
        }
        if (audit.broken !== undefined) {
          log(
            `switchyard worker: audit pruning stopped at record #${audit.broken.seq} (${audit.broken.id}): ${audit.broken.reason}; run 'switchyard audit verify'`,
          );
        }
      } catch (err) {
        log(`switchyard worker: cannot prune the audit trail: ${(err as Error).message}`);
      }
      try {
        await target.prune(at - LEDGER_KEEP_MS);
      } catch (err) {
        log(`switchyard worker: cannot prune the ledger: ${(err as Error).message}`);
      }
    })().finally(() => {
      pruning = undefined;
    });
  };
  const pruneEveryMs = options.pruneEveryMs ?? 3_600_000;
  if (running.some((r) => r.info.kind === 'workflows') && pruneEveryMs > 0) {
    pruneStore();
    pruneTimer = setInterval(pruneStore, pruneEveryMs);
    pruneTimer.unref();
  }

  let stopWatching: (() => void) | undefined;
  if (options.watch ?? true) {
    stopWatching = registry.watch({
      onReload: (result) => {
        if (!result.ok) {
          log(`switchyard worker: policies changed but have errors; still serving the plans loaded before:`);
          for (const line of result.errors) log(line);
          return;
        }
        const what = [
          ...result.added.map((n) => `${n} (new)`),
          ...result.changed.map((n) => `${n} (changed)`),
          ...result.removed.map((n) => `${n} (removed)`),
        ];
        if (what.length === 0) return;
        log(`switchyard worker: reloaded policies: ${what.join(', ')}; new requests use the new plans`);
        recordBudgets().catch((err: unknown) =>
          log(`switchyard worker: cannot record the budgets in the store: ${(err as Error).message}`),
        );
        if (!stopping) {
          startQueues().catch((err: unknown) =>
            log(`switchyard worker: cannot start a worker for a new queue: ${(err as Error).message}`),
          );
        }
      },
    });
  }

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = () => {
    shutdownPromise ??= (async () => {
      stopping = true;
      stopWatching?.();
      clearInterval(pruneTimer);
      for (const { worker } of running) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
      // A prune in flight finishes (page by page) before the store closes.
      await Promise.allSettled([...running.map((r) => r.run), pruning]);
      if (options.closeProviders ?? true) await closeProviders();
      if (ownsStore) await store?.close().catch(() => undefined);
    })();
    return shutdownPromise;
  };

  const done = (async () => {
    await Promise.race([Promise.all(running.map((r) => r.run)), failure]);
  })();
  done.catch(() => undefined);

  return {
    registry,
    queues: () => running.map((r) => r.info),
    shutdown,
    done,
  };
}

/**
 * Whether the namespace has every Switchyard search attribute (Keyword); missing ones are added
 * through the operator API when the server allows it (a dev server does; a cluster may need an
 * operator: `temporal operator search-attribute create --name SwitchyardTeam --type Keyword`).
 */
export async function ensureSearchAttributes(
  connection: NativeConnection,
  namespace: string,
  log: (line: string) => void,
): Promise<boolean> {
  const names: string[] = Object.values(SEARCH_ATTRIBUTES);
  try {
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    const known = { ...listed.customAttributes, ...listed.systemAttributes };
    const missing = names.filter((name) => !(name in known));
    if (missing.length === 0) return true;
    await connection.operatorService.addSearchAttributes({
      namespace,
      // 2 = INDEXED_VALUE_TYPE_KEYWORD
      searchAttributes: Object.fromEntries(missing.map((name) => [name, 2])),
    });
    return true;
  } catch (err) {
    log(
      `switchyard worker: the namespace ${namespace} lacks the search attributes ${names.join(', ')} ` +
        `and they cannot be added (${(err as Error).message.split('\n')[0]}); requests run without them. ` +
        `Register them as Keyword (temporal operator search-attribute create --name NAME --type Keyword).`,
    );
    return false;
  }
}

/** A `--queues` entry that no loaded provider uses. */
export class QueueError extends Error {
  readonly code = 'E-QUEUE-UNKNOWN';
}

/** Loads embedded models now rather than on their first attempt (failures show up on the attempt). */
function warmEmbedded(
  registry: PlanRegistry,
  restrict: Set<string> | undefined,
  providers: AttemptActivityOptions['providers'],
  log: (line: string) => void,
): void {
  for (const { plan, baseDir } of registry.plans()) {
    for (const provider of Object.values(plan.providers)) {
      if (provider.kind !== 'embedded' || (restrict && !restrict.has(provider.queue))) continue;
      const instance = createProvider(provider, { ...providers, baseDir });
      if (instance instanceof EmbeddedProvider) {
        instance.open().catch((err: unknown) => log(`switchyard worker: ${(err as Error).message}`));
      }
    }
  }
}
