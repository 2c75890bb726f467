/**
 * A call's options once the defaults apply (docs/language.md §4.6): per-attempt timeout, retries,
 * backoff and max-tokens. The one definition the evaluator (the runtime), the editor's hover and the
 * validator's deadline check all use, so the three can never disagree about what a call does.
 * Pure: runs in the workflow sandbox.
 */

/** Per-attempt timeout when neither the call nor its provider sets one. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Delay before the first retry when the call sets none; it doubles for each further retry. */
export const DEFAULT_BACKOFF_MS = 1_000;
/** A call is tried once unless it says `retries N`. */
export const DEFAULT_RETRIES = 0;

/** What a call target sets itself (`timeout 5s, retries 2, backoff 200ms, max-tokens 800`). */
export interface CallSettings {
  timeoutMs?: number | null;
  retries?: number | null;
  backoffMs?: number | null;
  maxTokens?: number | null;
}

/** What the call inherits when it sets nothing: its provider's `timeout`, the request's `maxTokens`. */
export interface CallContext {
  providerTimeoutMs?: number | null;
  requestMaxTokens?: number | null;
}

export interface ResolvedCall {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  /** `null`: the provider's default (no bound known to Switchyard). */
  maxTokens: number | null;
}

/** The call's options with the defaults applied: the call's own, else the inherited, else the default. */
export function resolveCall(call: CallSettings, context: CallContext = {}): ResolvedCall {
  return {
    timeoutMs: call.timeoutMs ?? context.providerTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    retries: call.retries ?? DEFAULT_RETRIES,
    backoffMs: call.backoffMs ?? DEFAULT_BACKOFF_MS,
    maxTokens: call.maxTokens ?? context.requestMaxTokens ?? null,
  };
}

/** The delay before retry number `retry` (1-based) of a call: backoff × 2^(retry − 1). */
export function backoffDelay(call: Pick<ResolvedCall, 'backoffMs'>, retry: number): number {
  return call.backoffMs * 2 ** (retry - 1);
}

/** How long a call can take at most, and how. */
export interface CallDuration {
  model: string;
  attempts: number;
  timeoutMs: number;
  /** All the backoffs between the attempts. */
  backoffMs: number;
  /** Every attempt timing out, with the backoffs between them. */
  totalMs: number;
}

/** The longest a call can take: `1 + retries` attempts each to its timeout, with the backoffs between. */
export function callDuration(
  call: Pick<ResolvedCall, 'timeoutMs' | 'retries' | 'backoffMs'> & { model: string },
): CallDuration {
  const retries = Math.max(0, call.retries);
  let backoffMs = 0;
  for (let retry = 1; retry <= retries; retry++) backoffMs += backoffDelay(call, retry);
  const attempts = 1 + retries;
  return {
    model: call.model,
    attempts,
    timeoutMs: call.timeoutMs,
    backoffMs,
    totalMs: attempts * call.timeoutMs + backoffMs,
  };
}
