/**
 * One call to one model, as the `attempt` activity and the front door's direct runner make it
 * (activities/attempt.ts wraps it for both): the step's `before` redaction, the provider call with
 * its timeout and cancellation, the answer's text to the caller's stream when it streams, the
 * step's `after` guards, and the outcome the execution machine understands. Nothing here knows
 * Temporal: the caller says how to heartbeat and what cancels the call.
 *
 * - Guards (docs/language.md §6): the `before` redaction (`redact`) is applied to the messages
 *   sent to THIS model only; the `after` guards (`afterGuards`: schema, block patterns) check the
 *   answer, and a failure makes it `invalid` (→ `output.invalid`). What they did is returned
 *   (`guards`) for the audit record.
 * - Streaming (docs/language.md §6.4): when the input names a stream target and the relay
 *   opens a sink for it, the provider's text goes there as it comes; the outcome says `streamed`
 *   when any reached it. The driver never asks to stream an answer that must be checked first.
 * - Provider errors are classified once and returned as outcomes, never thrown.
 * - Cancellation: `cancelled` says what to do — `throw` (a Temporal activity: cancellation is not a
 *   provider failure), or `charge` (the direct runner: the caller went away; what the model
 *   produced until then is an `answered` outcome marked `cancelled`, so it is charged and audited).
 */
import { estimateInputTokens } from '../plan/index.js';
import type { ModelPlan, ProviderPlan } from '../plan/types.js';
import type {
  AttemptGuardAction,
  AttemptInput,
  AttemptOutcome,
  AttemptOutput,
  DeltaRelay,
  DeltaSink,
} from '../contract/index.js';
import { checkAfterGuards, redactMessages } from './guards/index.js';
import {
  classifyError,
  createProvider,
  ProviderError,
  type CreateProviderOptions,
} from './providers/index.js';
import type { LoadedPlan } from './plans.js';
import { recordProviderCall } from '../operations/metrics.js';

export interface CallContext {
  /** Cancels the call. */
  signal: AbortSignal;
  /** What a cancelled call becomes: thrown as is, or charged for what it produced. */
  cancelled: 'throw' | 'charge';
  /** Called as tokens arrive (and by the caller's own timer): keeps a Temporal activity alive. */
  progress?: (tokens: number) => void;
  relay?: DeltaRelay;
  providers?: Omit<CreateProviderOptions, 'baseDir'>;
  maxContentBytes: number;
}

export interface Resolved {
  loaded: LoadedPlan;
  model: ModelPlan;
  providerPlan: ProviderPlan;
}

export async function callModel(
  input: AttemptInput,
  resolved: Resolved,
  ctx: CallContext,
): Promise<AttemptOutcome> {
  const outcome = await call(input, resolved, ctx);
  // The provider call's metrics, once, where it is made (docs/operations.md).
  recordProviderCall(resolved.providerPlan.name, input.model, outcome);
  return outcome;
}

async function call(
  input: AttemptInput,
  { loaded, model, providerPlan }: Resolved,
  ctx: CallContext,
): Promise<AttemptOutcome> {
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

  const sink: DeltaSink | undefined =
    input.stream !== undefined ? ctx.relay?.open(input.stream, input.attempt, input.model) : undefined;
  let tokens = 0;
  let text = '';
  let streamed = false;
  const started = performance.now();
  try {
    const provider = createProvider(providerPlan, { ...ctx.providers, baseDir: loaded.baseDir });
    const answer = await provider.chat({
      model,
      provider: providerPlan,
      messages,
      ...(input.maxTokens !== null ? { maxTokens: input.maxTokens } : {}),
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      timeoutMs: input.timeoutMs,
      signal: ctx.signal,
      onProgress: (n) => {
        tokens = n;
        ctx.progress?.(n);
      },
      onDelta: (piece) => {
        text += piece;
        if (sink !== undefined) {
          streamed = true;
          sink.write(piece);
        }
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
    cutContent(output, ctx.maxContentBytes);
    if (sink !== undefined && !streamed && answer.content !== '') {
      // A provider that gave no pieces: the caller's stream still gets the whole answer.
      sink.write(answer.content);
      streamed = true;
    }
    return {
      kind: 'answered',
      output,
      usage: { inputTokens: answer.usage.inputTokens, outputTokens: answer.usage.outputTokens },
      ms: answer.ms,
      endpoint: answer.endpoint,
      ...(guards.length > 0 ? { guards } : {}),
      ...(streamed ? { streamed } : {}),
    };
  } catch (err) {
    const ms = Math.round(performance.now() - started);
    if (ctx.signal.aborted) {
      if (ctx.cancelled === 'throw') throw err;
      return cancelledOutcome(messages, text, tokens, ms, streamed, guards, ctx.maxContentBytes);
    }
    const classified = err instanceof ProviderError ? err : classifyError(err);
    const result: AttemptOutcome = {
      kind: 'error',
      errorClass: classified.errorClass,
      message: classified.message,
      ms: err instanceof ProviderError && err.ms !== undefined ? err.ms : ms,
    };
    if (classified.status !== undefined) result.status = classified.status;
    if (classified.retryAfterMs !== undefined) result.retryAfterMs = classified.retryAfterMs;
    const endpoint = err instanceof ProviderError ? err.endpoint : undefined;
    if (endpoint !== undefined) result.endpoint = endpoint;
    if (guards.length > 0) result.guards = guards;
    if (streamed) result.streamed = true;
    return result;
  } finally {
    sink?.end();
  }
}

/**
 * A call cancelled with its caller: what the model produced is charged (docs/language.md §6.4,
 * "counted, charged and audited exactly like the others"). Its output tokens are the provider's
 * count so far, else estimated from the text (the provider's usage report never came); its input
 * tokens are estimated from the messages sent. A call that produced nothing is an `error`.
 */
function cancelledOutcome(
  messages: AttemptInput['messages'],
  text: string,
  tokens: number,
  ms: number,
  streamed: boolean,
  guards: AttemptGuardAction[],
  maxContentBytes: number,
): AttemptOutcome {
  const extra = { ...(guards.length > 0 ? { guards } : {}), ...(streamed ? { streamed } : {}) };
  const produced = Math.max(tokens, Math.ceil(text.length / 4));
  if (produced === 0) {
    const message = 'cancelled: the caller went away before the model produced anything';
    return { kind: 'error', errorClass: 'non-retryable', message, ms, cancelled: true, ...extra };
  }
  const output: AttemptOutput = {
    truncated: true,
    empty: text.trim() === '',
    invalid: false,
    tokens: produced,
    content: text,
    finishReason: 'cancelled',
  };
  cutContent(output, maxContentBytes);
  return {
    kind: 'answered',
    output,
    usage: { inputTokens: estimateInputTokens(messages), outputTokens: produced },
    ms,
    cancelled: true,
    ...extra,
  };
}

/** Answers longer than `maxBytes` (UTF-8) are cut to it, without a broken character. */
function cutContent(output: AttemptOutput, maxBytes: number): void {
  if (Buffer.byteLength(output.content, 'utf8') <= maxBytes) return;
  output.content = Buffer.from(output.content, 'utf8')
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  output.contentTruncated = true;
}
