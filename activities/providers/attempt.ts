/**
 * What every provider does around one call: pick the endpoint, bound the call by its timeout,
 * honour cancellation, measure it, classify a failure once and tell the endpoint pool.
 */
import { ProviderError, classifyError } from './errors.js';
import type { EndpointPool } from './endpoints.js';
import { abortReason } from './semaphore.js';
import type { ChatAnswer, ChatCall } from './types.js';

export type AttemptResult = Omit<ChatAnswer, 'endpoint' | 'ms'>;

export interface AttemptContext {
  call: ChatCall;
  /** Absent for providers without endpoints (embedded). */
  pool?: EndpointPool;
  /** Used when there is no pool and the call names no endpoint. */
  endpoint?: string;
  /** Values that must never appear in an error message. */
  secrets: readonly string[];
}

class AttemptTimeout extends Error {
  override readonly name = 'TimeoutError';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/**
 * Passes answer text to `call.onDelta` (types.ts): skips empty pieces, and goes quiet once the
 * attempt is over, so a stream still draining after a timeout or a cancellation sends nothing more.
 */
export type EmitDelta = (text: string) => void;

/**
 * Runs `fn` with a signal that aborts on the call's timeout or cancellation. The returned promise
 * settles by then even if `fn` ignores the signal.
 */
export async function runAttempt(
  ctx: AttemptContext,
  fn: (endpoint: string, signal: AbortSignal, emit: EmitDelta) => Promise<AttemptResult>,
): Promise<ChatAnswer> {
  const { call, pool } = ctx;
  const endpoint = call.endpoint ?? pool?.next() ?? ctx.endpoint ?? 'unknown';
  const started = performance.now();

  if (call.signal?.aborted) throw abortReason(call.signal);
  const controller = new AbortController();
  let timedOut = false;
  let settle: ((reason: unknown) => void) | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    settle = reject;
  });
  stopped.catch(() => undefined);
  const timer = setTimeout(() => {
    timedOut = true;
    const reason = new AttemptTimeout(call.timeoutMs);
    controller.abort(reason);
    settle?.(reason);
  }, call.timeoutMs);
  const onCancel = () => {
    const reason = abortReason(call.signal!);
    controller.abort(reason);
    settle?.(reason);
  };
  call.signal?.addEventListener('abort', onCancel, { once: true });
  let over = false;
  const onDelta = call.onDelta;
  const emit: EmitDelta = (text) => {
    if (over || text === '' || controller.signal.aborted) return;
    onDelta?.(text);
  };

  try {
    const result = await Promise.race([fn(endpoint, controller.signal, emit), stopped]);
    pool?.success(endpoint);
    return { ...result, endpoint, ms: Math.round(performance.now() - started) };
  } catch (err) {
    if (call.signal?.aborted && !timedOut) throw abortReason(call.signal);
    const classified = classifyError(err, { timedOut, secrets: ctx.secrets });
    if (timedOut) classified.message = `${call.provider.name}: no answer within ${call.timeoutMs} ms`;
    pool?.failure(endpoint, classified);
    const ms = Math.round(performance.now() - started);
    throw new ProviderError(classified, { provider: call.provider.name, endpoint, ms });
  } finally {
    over = true;
    clearTimeout(timer);
    call.signal?.removeEventListener('abort', onCancel);
  }
}

/** The API key of a provider, from the environment variable it names (never from the plan). */
export function apiKeyOf(provider: { apiKeyEnv: string | null }, env: NodeJS.ProcessEnv): string | undefined {
  if (!provider.apiKeyEnv) return undefined;
  const value = env[provider.apiKeyEnv];
  return value === undefined || value === '' ? undefined : value;
}

/** docs/language.md §3.1 ("loopback"): 127.0.0.0/8, `::1` and `localhost`. */
export function isLoopback(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return false;
  }
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
