/**
 * The `attempt` activity: one call to one model (attempt-call.ts), on the provider's task queue
 * (docs/architecture.md, decisions 3 and 4) — or in-process, for the front door's direct runner.
 *
 * - The input names the plan (by hash) and the model; the registry supplies the model and provider
 *   definitions, so no plan travels through history.
 * - The provider is built once per definition (activities/providers/), with its own retries off.
 * - One concurrency gate per provider in this process: its queued, local and direct attempts
 *   together.
 * - As a Temporal activity, the call is cancelled with the activity (its cancellation signal) and
 *   heartbeats: on a timer (a dead worker is noticed by the heartbeat timeout, and cancellation
 *   reaches a call that is still waiting for its first token) and as tokens stream in. It throws
 *   only when the attempt cannot run here (the plan is not loaded on this worker: retryable,
 *   another worker may have it) or was cancelled.
 * - In-process (`attemptInProcess`), the caller's signal cancels the call, and what the model
 *   produced until then is charged (attempt-call.ts).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  NOT_LOCAL,
  type AttemptActivities,
  type AttemptInput,
  type AttemptOutcome,
  type DeltaRelay,
  type LocalActivities,
} from '../contract/index.js';
import type { ProviderPlan } from '../plan/types.js';
import { callModel, type CallContext, type Resolved } from './attempt-call.js';
import type { CreateProviderOptions } from './providers/index.js';
import type { PlanLookup } from './plans.js';
import { Semaphore } from './providers/semaphore.js';
import { trackConcurrency, type ConcurrencySource } from '../operations/metrics.js';

/** Answers longer than this (UTF-8 bytes) are cut to it, and marked `contentTruncated`. */
export const MAX_CONTENT_BYTES = 200 * 1024;

export interface AttemptActivityOptions {
  plans: PlanLookup;
  /**
   * Attempts one provider may run at once in this process — its local, queued and in-process
   * attempts together (worker/worker.ts: concurrency × endpoints). Absent: no limit here.
   */
  concurrency?: (provider: ProviderPlan) => number;
  /**
   * The gates to share with other attempt runners of this process (a worker and the front door's
   * direct runner side by side): then a provider runs at most its concurrency in the process, not
   * that much per runner. Wins over `concurrency`.
   */
  gates?: ProviderGates;
  /** Whether this process serves `queue` in-process (its attempts may run as local activities). */
  servesLocally?: (queue: string) => boolean;
  /** Passed to `createProvider` (stream, endpoint pool, env, threads …); `baseDir` comes from the plan. */
  providers?: Omit<CreateProviderOptions, 'baseDir'>;
  /** @default MAX_CONTENT_BYTES */
  maxContentBytes?: number;
  /** Where streamed attempts write their text (contract/stream.ts); absent: nobody streams here. */
  relay?: DeltaRelay;
}

/**
 * One concurrency gate per provider (and permit count), shared by whoever runs its attempts. The
 * metrics report them (`switchyard_provider_concurrency_*`, docs/operations.md).
 */
export class ProviderGates implements ConcurrencySource {
  private readonly gates = new Map<string, Semaphore>();

  constructor(private readonly permitsOf: (provider: ProviderPlan) => number) {
    trackConcurrency(this);
  }

  concurrency(): { provider: string; permits: number; active: number; queued: number }[] {
    return [...this.gates].map(([key, gate]) => ({
      provider: key.slice(0, key.indexOf('\0')),
      permits: gate.permits,
      active: gate.active,
      queued: gate.queued,
    }));
  }

  of(provider: ProviderPlan): Semaphore {
    const permits = Math.max(1, this.permitsOf(provider));
    const key = `${provider.name}\0${permits}`;
    let gate = this.gates.get(key);
    if (gate === undefined) {
      gate = new Semaphore(permits);
      this.gates.set(key, gate);
    }
    return gate;
  }
}

export function createAttemptActivities(options: AttemptActivityOptions) {
  const maxContentBytes = options.maxContentBytes ?? MAX_CONTENT_BYTES;
  const gates =
    options.gates ?? (options.concurrency !== undefined ? new ProviderGates(options.concurrency) : undefined);
  const gateOf = (provider: ProviderPlan): Semaphore | undefined => gates?.of(provider);
  const resolve = (input: AttemptInput): Resolved | { missing: string } => {
    const loaded = options.plans.byHash(input.planHash);
    const model = loaded?.plan.models[input.model];
    const providerPlan = model ? loaded?.plan.providers[model.provider] : undefined;
    if (loaded === undefined || model === undefined || providerPlan === undefined) {
      const what =
        loaded === undefined ? `plan ${input.planHash}` : `model ${input.model} of plan ${input.planHash}`;
      return { missing: `${what} is not loaded on this worker` };
    }
    return { loaded, model, providerPlan };
  };
  const context = (signal: AbortSignal, cancelled: CallContext['cancelled']): CallContext => ({
    signal,
    cancelled,
    maxContentBytes,
    ...(options.relay !== undefined ? { relay: options.relay } : {}),
    ...(options.providers !== undefined ? { providers: options.providers } : {}),
  });
  /** Runs `call` once the provider's gate lets it; `waiting` is called while it waits. */
  const gated = async <T>(
    provider: ProviderPlan,
    signal: AbortSignal,
    call: () => Promise<T>,
    waiting?: () => () => void,
  ): Promise<T> => {
    const gate = gateOf(provider);
    if (gate === undefined) return call();
    const stopWaiting = waiting?.();
    let release: () => void;
    try {
      release = await gate.acquire(signal);
    } finally {
      stopWaiting?.();
    }
    try {
      return await call();
    } finally {
      release();
    }
  };

  /** The Temporal activity: heartbeats, cancelled with the activity. */
  const attempt = async (input: AttemptInput): Promise<AttemptOutcome> => {
    const resolved = resolve(input);
    if ('missing' in resolved) throw ApplicationFailure.retryable(resolved.missing, 'PlanNotLoaded');
    const ctx = Context.current();
    // A local activity has no heartbeats (its workflow task is kept alive instead).
    const local = ctx.info.isLocal;
    const interval = beatEvery(ctx);
    let tokens = 0;
    let lastBeat = 0;
    const beat = () => {
      lastBeat = performance.now();
      if (!local) ctx.heartbeat({ tokens });
    };
    // Waiting for a free slot: a queued attempt keeps heartbeating, or Temporal would think it lost.
    const waiting = () => {
      const timer = local ? undefined : setInterval(() => ctx.heartbeat({ tokens: 0 }), interval);
      return () => clearInterval(timer);
    };
    return gated(
      resolved.providerPlan,
      ctx.cancellationSignal,
      async () => {
        const timer = setInterval(beat, interval);
        beat();
        try {
          return await callModel(input, resolved, {
            ...context(ctx.cancellationSignal, 'throw'),
            progress: (n) => {
              tokens = n;
              if (performance.now() - lastBeat >= interval) beat();
            },
          });
        } finally {
          clearInterval(timer);
        }
      },
      waiting,
    );
  };

  const activities = {
    attempt,
    /**
     * The same attempt as a local activity of the workflow's worker — only for a queue this
     * process serves; otherwise (a replay on another worker) `NotLocal`, and the workflow sends
     * the attempt to the queue.
     */
    async localAttempt(input: AttemptInput): Promise<AttemptOutcome> {
      const resolved = resolve(input);
      const queue = 'missing' in resolved ? undefined : resolved.providerPlan.queue;
      if (queue === undefined || !(options.servesLocally?.(queue) ?? false)) {
        throw ApplicationFailure.nonRetryable(
          'missing' in resolved ? resolved.missing : `this worker does not serve queue ${queue}`,
          NOT_LOCAL,
        );
      }
      return attempt(input);
    },
  } satisfies AttemptActivities & Pick<LocalActivities, 'localAttempt'>;

  return {
    ...activities,
    /**
     * The same attempt called in-process (the front door's direct runner): `signal` is the
     * caller's; when it aborts, the call is cancelled and what was produced is charged.
     */
    async attemptInProcess(input: AttemptInput, signal: AbortSignal): Promise<AttemptOutcome> {
      const resolved = resolve(input);
      if ('missing' in resolved) throw new Error(resolved.missing);
      return gated(resolved.providerPlan, signal, () =>
        callModel(input, resolved, context(signal, 'charge')),
      );
    },
  };
}

export type AttemptActivityImplementations = ReturnType<typeof createAttemptActivities>;

/** How often an attempt heartbeats: three times per heartbeat timeout, at most every 200 ms. */
function beatEvery(ctx: Context): number {
  return Math.max(200, Math.floor((ctx.info.heartbeatTimeoutMs ?? 15_000) / 3));
}
