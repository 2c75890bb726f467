/**
 * The direct runner (docs/language.md §4.9, `execution direct`): a request driven in
 * this process by the same driver as the request workflow (plan/driver.ts), with the same activity
 * functions — the decision, the ledger, the attempt with its providers and guards, the audit record
 * — called directly instead of through Temporal. No rule is implemented here; this file only says
 * how each effect is performed in-process: real time, `setTimeout` sleeps, the caller's signal.
 *
 * - A caller that goes away (its `signal` aborts) cancels the provider call; what the model
 *   produced until then is charged and the request is audited (`failed`, "the caller went away").
 * - Streaming (§7.2): `sink` opens the caller's sink for each attempt that may stream; the
 *   attempt writes the model's text there as it comes.
 * - A process that dies mid-request leaves budget reserved: every request is tracked in the store
 *   by its first ledger write (the same transaction), the audit record forgets it, and the sweep
 *   (`sweepInterrupted`, run here every `sweepEveryMs`) releases the reservations of requests
 *   tracked past their expiry and writes their audit record as `interrupted`.
 */
import { createAttemptActivities, type AttemptActivityOptions } from '../activities/attempt.js';
import { createAuditActivities } from '../activities/audit.js';
import { createLocalActivities } from '../activities/decide.js';
import { createLedgerActivities } from '../activities/ledger.js';
import type { PlanLookup } from '../activities/plans.js';
import type { DeltaRelay, DeltaSink, SettleInput } from '../contract/index.js';
import {
  driveRequest,
  messageOf,
  type AttemptInput,
  type Decided,
  type DriverEffects,
  type InferenceRequest,
  type InferenceResult,
} from '../plan/index.js';
import type { Store } from '../store/types.js';
import { withRetries, sleepFor, RequestTracker } from './direct-effects.js';
import { recordInterrupted } from '../operations/metrics.js';

export interface DirectRunnerOptions {
  plans: PlanLookup;
  store: Store;
  /** Provider options (streaming, endpoint pool, env …), as the worker's. */
  providers?: AttemptActivityOptions['providers'];
  /** Attempts one provider may run at once in this process (as the worker's gate). Absent: no limit. */
  concurrency?: AttemptActivityOptions['concurrency'];
  /** Gates shared with a worker in this process (wins over `concurrency`): see activities/attempt.ts. */
  gates?: AttemptActivityOptions['gates'];
  /** The clock (epoch ms). @default Date.now */
  clock?: () => number;
  /** Where API-key variables are read from to scrub them from the audit. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** How often interrupted requests are swept (`0`: never; the caller runs `sweep`). @default 60000 */
  sweepEveryMs?: number;
  /** Warnings (a settlement left to expire, a failed sweep). @default stderr */
  log?: (line: string) => void;
}

export interface DirectRunOptions {
  /** The caller's connection: aborting it cancels the provider call (what was produced is charged). */
  signal?: AbortSignal;
  /** Opens the caller's sink for one attempt of a streamed request; `undefined`: nobody listens. */
  sink?: (attempt: number, model: string) => DeltaSink | undefined;
  /**
   * The decision the caller already made for this request with the policy's current plan (the
   * front door decides first, to know the execution mode): used as is instead of deciding again.
   */
  decided?: Decided;
}

export interface DirectRunner {
  run(request: InferenceRequest, options?: DirectRunOptions): Promise<InferenceResult>;
  /** Releases and audits requests of dead processes now (see the module's notes). */
  sweep(): Promise<void>;
  /** Stops the sweep timer (the store and providers are the caller's). */
  close(): void;
}

/** What the caller went away is recorded as. */
export const CALLER_GONE = 'cancelled: the caller went away';

export function createDirectRunner(options: DirectRunnerOptions): DirectRunner {
  const now = options.clock ?? (() => Date.now());
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // Sinks of the streamed requests running now, by request id (the in-process relay).
  const sinks = new Map<string, NonNullable<DirectRunOptions['sink']>>();
  const relay: DeltaRelay = {
    open: (target, attempt, model) => sinks.get(target.requestId)?.(attempt, model),
  };
  const decide = createLocalActivities(options.plans);
  const ledger = createLedgerActivities(options.store, { now });
  const audit = createAuditActivities(options.store, {
    now,
    plans: options.plans,
    execution: 'direct',
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  const attempts = createAttemptActivities({
    plans: options.plans,
    relay,
    ...(options.providers !== undefined ? { providers: options.providers } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.gates !== undefined ? { gates: options.gates } : {}),
  });

  const sweep = async () => {
    try {
      const swept = await options.store.sweepInterrupted(now());
      recordInterrupted(swept.interrupted.length);
      if (swept.interrupted.length > 0) {
        log(
          `switchyard direct: recorded ${swept.interrupted.length} interrupted request(s): ${swept.interrupted.join(', ')}`,
        );
      }
    } catch (err) {
      log(`switchyard direct: cannot sweep interrupted requests: ${messageOf(err)}`);
    }
  };
  const sweepEveryMs = options.sweepEveryMs ?? 60_000;
  const timer = sweepEveryMs > 0 ? setInterval(() => void sweep(), sweepEveryMs) : undefined;
  timer?.unref();

  return {
    async run(request, runOptions = {}) {
      const { signal, sink, decided } = runOptions;
      if (sink !== undefined) {
        if (sinks.has(request.id)) throw new Error(`request ${request.id} is already running here`);
        sinks.set(request.id, sink);
        if (request.stream === undefined) request = { ...request, stream: {} };
      }
      const tracker = new RequestTracker(options.store, options.plans, request, now);
      const gone = () => (signal?.aborted === true ? CALLER_GONE : undefined);
      const warn = (message: string, fields: Record<string, unknown>) =>
        log(`switchyard direct: ${request.id}: ${message} ${JSON.stringify(fields)}`);
      // Settlements the driver made and the store has not yet: written with the audit record when
      // that comes next (one transaction), else before whatever the driver does next — so the
      // store sees every write in the driver's order, and nothing waits in between.
      let owed: SettleInput | undefined;
      const settleOwed = async () => {
        if (owed === undefined) return;
        const input = owed;
        owed = undefined;
        try {
          await withRetries(() => ledger.settle(input));
        } catch (err) {
          // As the driver says of a settlement that fails (plan/driver.ts `settle`).
          warn('settling reservations failed; they will expire', { error: messageOf(err) });
        }
      };
      /** `fn` after the settlements owed. */
      const then =
        <A extends unknown[], T>(fn: (...args: A) => Promise<T>) =>
        async (...args: A): Promise<T> => {
          await settleOwed();
          return fn(...args);
        };
      const effects: DriverEffects = {
        decide: (r) => (decided !== undefined ? Promise.resolve(decided) : decide.decideRequest(r)),
        snapshot: then((input) => withRetries(() => ledger.snapshot(input))),
        admitRateLimits: then(async (input) => {
          const row = tracker.due();
          const admitted = await withRetries(() => ledger.admitRateLimits(input, row));
          tracker.written(row);
          return admitted;
        }),
        reserve: then(async (input) => {
          const row = tracker.due(input.timeoutMs);
          const reserved = await withRetries(() => ledger.reserve(input, row));
          tracker.written(row);
          return reserved;
        }),
        settle: (input) => {
          owed = owed === undefined ? input : { settlements: [...owed.settlements, ...input.settlements] };
          // The driver does not read what settling did (plan/driver.ts `settle`).
          return Promise.resolve({ keys: [] });
        },
        attempt: then((input: AttemptInput) =>
          attempts.attemptInProcess(input, signal ?? new AbortController().signal),
        ),
        lostAttempt: (err, _step, ms) => ({
          kind: 'error',
          errorClass: 'retryable',
          message: `attempt failed: ${messageOf(err)}`,
          ms,
        }),
        // The audit record is owed for every request: retried longer than the ledger calls.
        appendAudit: async (input) => {
          if (owed !== undefined) {
            const settle = owed;
            try {
              const appended = await audit.appendAudit(input, settle);
              owed = undefined;
              return appended;
            } catch {
              // Apart, as before: the settlements (a warning if they fail), then the record.
            }
          }
          await settleOwed();
          return withRetries(() => audit.appendAudit(input), 8);
        },
        sleep: then(async (ms: number) => {
          await tracker.extend(ms);
          await sleepFor(ms, signal);
        }),
        now,
        isCancellation: () => signal?.aborted === true,
        stopped: gone,
        warn,
        decided: (decided) => tracker.decided(decided),
      };
      try {
        return await driveRequest(request, effects);
      } finally {
        // A request not audited (benchmarks only) or ended by an error still settles.
        await settleOwed();
        if (sink !== undefined) sinks.delete(request.id);
      }
    },
    sweep,
    close() {
      clearInterval(timer);
    },
  };
}
