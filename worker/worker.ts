/**
 * The worker process (docs/architecture.md decision 4): one Temporal worker for the workflow task
 * queue (the request workflow and its local activities), plus one per provider task queue found in
 * the plans, each running at most that provider's concurrency × its endpoints attempts at once.
 *
 * `queues` restricts what this process polls — a worker beside a GPU host polls that provider's
 * queue only; name the workflow task queue (`switchyard`) in the list to poll it too. Without
 * `queues` every queue is polled, and queues that appear when the policies change get a worker.
 *
 * This file wires the parts: the store and the budgets' definitions (store.ts), the search
 * attributes (search-attributes.ts), the two kinds of worker (below), queues (queues.ts), pruning
 * and hot reload (maintenance.ts), the runtime and the workflow bundle (runtime.ts), shutdown.
 */
import type { PayloadCodec } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import {
  createAttemptActivities,
  createLocalActivities,
  type AttemptActivityOptions,
  type ProviderGates,
} from '../activities/index.js';
import { createGovernanceActivities } from '../activities/governance.js';
import { closeProviders } from '../activities/providers/index.js';
import type { Store } from '../store/types.js';
import type {
  AttemptActivities,
  DeltaRelay,
  GovernanceActivities,
  LocalActivities,
} from '../contract/index.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from './config.js';
import { startPruner, watchPolicies, type Pruner } from './maintenance.js';
import { checkQueues, providerConcurrency, providerQueues, warmEmbedded } from './queues.js';
import { PlanRegistry } from './registry.js';
import { bundleWorkflows } from './runtime.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { recordBudgets, WorkerStore } from './store.js';
import { setBudgetStore } from '../operations/metrics.js';
import type { AlertsConfig } from '../operations/alerts.js';
import { createAlertActivities } from '../activities/alerts.js';
import type { AlertActivities } from '../contract/alerts.js';
import { startAlertWatcher, type AlertWatcher } from './alerts.js';

export { bundleWorkflows, installRuntime, workflowsPath } from './runtime.js';
export { checkQueues, providerConcurrency, providerQueues, QueueError } from './queues.js';
export { ensureSearchAttributes } from './search-attributes.js';
export { LEDGER_KEEP_MS } from './maintenance.js';

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
  /**
   * Where streamed attempts write their text (contract/stream.ts): the front door's relay when it
   * shares this process, or one that reaches front doors across processes. Absent: attempts of
   * streamed requests run without streaming.
   */
  relay?: DeltaRelay;
  /**
   * Provider gates shared with the front door's direct runner in this process (one concurrency per
   * provider for both). Absent: this worker's own (`providerConcurrency`).
   */
  gates?: ProviderGates;
  /**
   * Payload codecs of every worker here — the large-payload codec (client/large-payloads.ts) keeps
   * big prompts out of histories; the front door's client must use the same over the same store.
   */
  payloadCodecs?: PayloadCodec[];
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
   * `alerts:` of switchyard.yaml: budget alerts to webhooks, watched by the workflow worker
   * (worker/alerts.ts, docs/operations.md "Alerts"). Absent or no webhook: none sent.
   */
  alerts?: AlertsConfig;
  /**
   * How often the workflow worker prunes its store (expired audit records, `store.pruneAudit`;
   * ledger reservations and rate-limit admissions older than 7 days, `store.prune`): at start, then
   * every this many ms; `0` never. @default 3600000 (an hour)
   */
  pruneEveryMs?: number;
}

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
  if (restrict) checkQueues(registry, taskQueue, restrict);

  let searchable = false;
  let forgetBudgets: (() => void) | undefined;
  let alertWatcher: AlertWatcher | undefined;
  // Provider queues served in this process (by their own worker, or by the workflow worker).
  const served = new Set<string>();
  const localAttempts = options.attempts === 'local';
  const local = createLocalActivities(registry, {
    searchAttributes: () => searchable,
    localQueues: () => (localAttempts ? [...served].sort() : []),
    governance: options.governance ?? 'local',
    ...(options.audit === false ? { audit: false } : {}),
  });
  const store = new WorkerStore(options);
  const attempts = createAttemptActivities({
    plans: registry,
    concurrency: providerConcurrency,
    ...(options.gates ? { gates: options.gates } : {}),
    servesLocally: (queue) => localAttempts && served.has(queue),
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.relay ? { relay: options.relay } : {}),
  });

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

  /** The workflow task queue's worker: request workflows, their local activities (decide, ledger, audit). */
  const startWorkflowWorker = async () => {
    if (restrict && !restrict.has(taskQueue)) return;
    const opened = await store.open();
    // The budget gauges of this process's /metrics read this store (docs/operations.md).
    forgetBudgets = setBudgetStore(opened);
    // `budget show` knows the limits of every loaded budget, used or not.
    await recordBudgets(opened, registry);
    const governance: GovernanceActivities = createGovernanceActivities(opened, {
      plans: registry,
      ...(options.clock ? { now: options.clock } : {}),
    });
    const workflowActivities = {
      ...local,
      ...governance,
      localAttempt: attempts.localAttempt,
      // Alert workflows may run on any workflow worker: each can deliver (docs/operations.md).
      ...createAlertActivities(),
    } satisfies LocalActivities & AlertActivities;
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
      // Ordinary activities: a shared provider's attempts, remote governance, alert deliveries.
      enableNonLocalActivities: true,
      ...(shared ? { maxConcurrentActivityTaskExecutions: shared.concurrency } : {}),
      shutdownGraceTime,
      // A request whose worker died waits this long for it before another worker takes over
      // (Temporal's default is 10 s; requests are interactive).
      stickyQueueScheduleToStartTimeout: '3s',
      ...(options.payloadCodecs ? { dataConverter: { payloadCodecs: options.payloadCodecs } } : {}),
      ...options.workflowWorkerOptions,
    });
    const providers = shared ? [...shared.providers.keys()].sort() : [];
    if (shared) served.add(taskQueue);
    if (options.alerts !== undefined && options.alerts.webhooks.length > 0) {
      alertWatcher = startAlertWatcher({
        config: options.alerts,
        store: opened,
        connection: options.connection,
        namespace,
        taskQueue,
        log,
        ...(options.clock ? { clock: options.clock } : {}),
      });
    }
    launch(worker, { queue: taskQueue, concurrency: shared?.concurrency ?? 0, providers, kind: 'workflows' });
  };

  /** One worker per provider queue (not yet served), running that queue's attempts. */
  const startQueues = async () => {
    for (const [queue, { concurrency, providers }] of providerQueues(registry)) {
      if (queue === taskQueue || (restrict && !restrict.has(queue))) continue;
      if (running.some((r) => r.info.queue === queue)) continue;
      const worker = await Worker.create({
        connection: options.connection,
        namespace,
        taskQueue: queue,
        activities: { attempt: attempts.attempt } satisfies AttemptActivities,
        maxConcurrentActivityTaskExecutions: concurrency,
        shutdownGraceTime,
        ...(options.payloadCodecs ? { dataConverter: { payloadCodecs: options.payloadCodecs } } : {}),
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
    await Promise.allSettled([...running.map((r) => r.run), alertWatcher?.stop()]);
    forgetBudgets?.();
    await store.close();
    throw err;
  }

  // Store housekeeping (workflow worker only): audit retention and old ledger keys.
  let pruner: Pruner | undefined;
  const pruneEveryMs = options.pruneEveryMs ?? 3_600_000;
  if (store.current !== undefined && running.some((r) => r.info.kind === 'workflows') && pruneEveryMs > 0) {
    pruner = startPruner(store.current, {
      everyMs: pruneEveryMs,
      log,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  const stopWatching =
    (options.watch ?? true)
      ? watchPolicies(registry, log, () => {
          if (store.current !== undefined) {
            recordBudgets(store.current, registry).catch((err: unknown) =>
              log(`switchyard worker: cannot record the budgets in the store: ${(err as Error).message}`),
            );
          }
          if (!stopping) {
            startQueues().catch((err: unknown) =>
              log(`switchyard worker: cannot start a worker for a new queue: ${(err as Error).message}`),
            );
          }
        })
      : undefined;

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = () => {
    shutdownPromise ??= (async () => {
      stopping = true;
      stopWatching?.();
      for (const { worker } of running) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
      // A prune in flight finishes (page by page) before the store closes.
      await Promise.allSettled([...running.map((r) => r.run), pruner?.stop(), alertWatcher?.stop()]);
      if (options.closeProviders ?? true) await closeProviders();
      forgetBudgets?.();
      await store.close();
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
