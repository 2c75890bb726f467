/**
 * The `attempt` activity: one call to one model, on the provider's task queue
 * (docs/architecture.md, decisions 3 and 4).
 *
 * - The input names the plan (by hash) and the model; the worker's registry supplies the model and
 *   provider definitions, so no plan travels through history.
 * - The provider is built once per definition (activities/providers/), with its own retries off.
 * - The call is bounded by the attempt's timeout, cancelled with the activity (the activity's
 *   cancellation signal), and heartbeats: on a timer (a dead worker is noticed by the heartbeat
 *   timeout, and cancellation reaches a call that is still waiting for its first token) and as
 *   tokens stream in.
 * - Provider errors are classified once and **returned** as results (`kind: 'error'`), not thrown:
 *   the execution machine decides what they mean. The activity throws only when the attempt cannot
 *   run here (the plan is not loaded on this worker: retryable, another worker may have it) or was
 *   cancelled.
 * - Guards (docs/language.md §6 steps 5–6 and 9): the `before` redaction of the step (`redact`) is
 *   applied to the messages sent to THIS model only (the workflow passes them as written); the
 *   `after` guards of the step (`afterGuards`, looked up in the plan by hash: schema with ajv
 *   against the plan's embedded schema, block patterns) check the answer, and a failure makes it
 *   `invalid` (→ `output.invalid`, which drives `escalate … when output.invalid`). What they did is
 *   returned (`guards`) for the audit record. `block` and `max-input` before guards were applied
 *   by `decide` at decision time.
 * - Messages carry no secrets: provider errors are scrubbed by `classifyError`.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  NOT_LOCAL,
  type AttemptActivities,
  type AttemptGuardAction,
  type AttemptInput,
  type AttemptOutcome,
  type AttemptOutput,
  type LocalActivities,
} from '../contract/index.js';
import { checkAfterGuards, redactMessages } from './guards/index.js';
import {
  classifyError,
  createProvider,
  ProviderError,
  type CreateProviderOptions,
} from './providers/index.js';
import type { ModelPlan, ProviderPlan } from '../plan/types.js';
import type { LoadedPlan, PlanLookup } from './plans.js';
import { Semaphore } from './providers/semaphore.js';

/** Answers longer than this (UTF-8 bytes) are cut to it, and marked `contentTruncated`. */
export const MAX_CONTENT_BYTES = 200 * 1024;

export interface AttemptActivityOptions {
  plans: PlanLookup;
  /**
   * Attempts one provider may run at once in this process — its local and its queued attempts
   * together (worker/worker.ts: concurrency × endpoints). Absent: no limit here.
   */
  concurrency?: (provider: ProviderPlan) => number;
  /** Whether this process serves `queue` in-process (its attempts may run as local activities). */
  servesLocally?: (queue: string) => boolean;
  /** Passed to `createProvider` (stream, endpoint pool, env, threads …); `baseDir` comes from the plan. */
  providers?: Omit<CreateProviderOptions, 'baseDir'>;
  /** @default MAX_CONTENT_BYTES */
  maxContentBytes?: number;
}

export function createAttemptActivities(options: AttemptActivityOptions) {
  const maxContentBytes = options.maxContentBytes ?? MAX_CONTENT_BYTES;
  const gates = new Map<string, Semaphore>();
  const gateOf = (provider: ProviderPlan): Semaphore | undefined => {
    if (options.concurrency === undefined) return undefined;
    const permits = Math.max(1, options.concurrency(provider));
    const key = `${provider.name}\0${permits}`;
    let gate = gates.get(key);
    if (gate === undefined) {
      gate = new Semaphore(permits);
      gates.set(key, gate);
    }
    return gate;
  };
  const resolve = (input: AttemptInput) => {
    const loaded = options.plans.byHash(input.planHash);
    const model = loaded?.plan.models[input.model];
    const providerPlan = model ? loaded?.plan.providers[model.provider] : undefined;
    if (loaded === undefined || model === undefined || providerPlan === undefined) {
      const what =
        loaded === undefined ? `plan ${input.planHash}` : `model ${input.model} of plan ${input.planHash}`;
      return { missing: `${what} is not loaded on this worker` } as const;
    }
    return { loaded, model, providerPlan } as const;
  };

  const attempt = async (input: AttemptInput): Promise<AttemptOutcome> => {
    const resolved = resolve(input);
    if ('missing' in resolved) throw ApplicationFailure.retryable(resolved.missing, 'PlanNotLoaded');
    const gate = gateOf(resolved.providerPlan);
    if (gate === undefined) return run(input, resolved.loaded, resolved.model, resolved.providerPlan);
    // Waiting for a free slot: a queued attempt keeps heartbeating, or Temporal would think it lost.
    const ctx = Context.current();
    const waiting = ctx.info.isLocal
      ? undefined
      : setInterval(() => ctx.heartbeat({ tokens: 0 }), beatEvery(ctx));
    let release: () => void;
    try {
      release = await gate.acquire(ctx.cancellationSignal);
    } finally {
      clearInterval(waiting);
    }
    try {
      return await run(input, resolved.loaded, resolved.model, resolved.providerPlan);
    } finally {
      release();
    }
  };

  const run = async (
    input: AttemptInput,
    loaded: LoadedPlan,
    model: ModelPlan,
    providerPlan: ProviderPlan,
  ): Promise<AttemptOutcome> => {
    const ctx = Context.current();

    const guards: AttemptGuardAction[] = [];
    let messages = input.messages;
    if (input.redact !== undefined && input.redact.length > 0) {
      const redacted = redactMessages(input.messages, input.redact);
      messages = redacted.messages;
      if (Object.keys(redacted.counts).length > 0) {
        guards.push({
          attempt: input.attempt,
          model: input.model,
          phase: 'before',
          action: 'redact',
          counts: redacted.counts,
        });
      }
    }

    let tokens = 0;
    let lastBeat = 0;
    // A local activity has no heartbeats (its workflow task is kept alive instead).
    const local = ctx.info.isLocal;
    const beat = () => {
      lastBeat = performance.now();
      if (!local) ctx.heartbeat({ tokens });
    };
    const interval = beatEvery(ctx);
    const timer = setInterval(beat, interval);
    beat();
    const started = performance.now();
    try {
      const provider = createProvider(providerPlan, { ...options.providers, baseDir: loaded.baseDir });
      const answer = await provider.chat({
        model,
        provider: providerPlan,
        messages,
        ...(input.maxTokens !== null ? { maxTokens: input.maxTokens } : {}),
        ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
        timeoutMs: input.timeoutMs,
        signal: ctx.cancellationSignal,
        onProgress: (n) => {
          tokens = n;
          if (performance.now() - lastBeat >= interval) beat();
        },
      });
      let invalid = false;
      if (input.afterGuards !== undefined && input.afterGuards.length > 0) {
        const checked = checkAfterGuards(loaded.plan.guards, input.afterGuards, answer.content);
        invalid = checked.invalid;
        for (const finding of checked.findings) {
          guards.push({
            attempt: input.attempt,
            model: input.model,
            phase: 'after',
            action: 'check',
            guard: finding.guard,
            check: finding.check,
            ok: finding.ok,
            ...(finding.detail !== undefined ? { detail: finding.detail.slice(0, 500) } : {}),
          });
        }
      }
      const output: AttemptOutput = {
        truncated: answer.finishReason === 'length',
        empty: answer.content.trim() === '',
        invalid,
        tokens: answer.usage.outputTokens,
        content: answer.content,
        finishReason: answer.finishReason,
      };
      if (Buffer.byteLength(answer.content, 'utf8') > maxContentBytes) {
        output.content = cutUtf8(answer.content, maxContentBytes);
        output.contentTruncated = true;
      }
      return {
        kind: 'answered',
        output,
        usage: { inputTokens: answer.usage.inputTokens, outputTokens: answer.usage.outputTokens },
        ms: answer.ms,
        endpoint: answer.endpoint,
        ...(guards.length > 0 ? { guards } : {}),
      };
    } catch (err) {
      // Cancellation (the workflow was cancelled, the worker is shutting down) is not a provider
      // failure: rethrow it as is, Temporal knows what to do.
      if (ctx.cancellationSignal.aborted) throw err;
      const classified = err instanceof ProviderError ? err : classifyError(err);
      const result: AttemptOutcome = {
        kind: 'error',
        errorClass: classified.errorClass,
        message: classified.message,
        ms:
          err instanceof ProviderError && err.ms !== undefined
            ? err.ms
            : Math.round(performance.now() - started),
      };
      if (classified.status !== undefined) result.status = classified.status;
      if (classified.retryAfterMs !== undefined) result.retryAfterMs = classified.retryAfterMs;
      const endpoint = err instanceof ProviderError ? err.endpoint : undefined;
      if (endpoint !== undefined) result.endpoint = endpoint;
      if (guards.length > 0) result.guards = guards;
      return result;
    } finally {
      clearInterval(timer);
    }
  };

  return {
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
}

export type AttemptActivityImplementations = ReturnType<typeof createAttemptActivities>;

/** How often an attempt heartbeats: three times per heartbeat timeout, at most every 200 ms. */
function beatEvery(ctx: Context): number {
  return Math.max(200, Math.floor((ctx.info.heartbeatTimeoutMs ?? 15_000) / 3));
}

/** The longest prefix of `text` that fits in `maxBytes` UTF-8 bytes, without a broken character. */
function cutUtf8(text: string, maxBytes: number): string {
  return Buffer.from(text, 'utf8')
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}
