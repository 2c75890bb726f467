/**
 * Provider errors are classified once, here, into the classes of docs/language.md §6.2, and the
 * workflow only ever sees the class (as the `type` of a Temporal `ApplicationFailure`):
 *
 * - `timeout`: the attempt ran past its timeout — retryable;
 * - `retryable`: connection errors (refused, reset, dropped mid-answer), 408, 5xx;
 * - `retry-after`: 429, and 5xx with a `Retry-After` — retryable, after `retryAfterMs` when the
 *   server said how long;
 * - `non-retryable`: other 4xx (400/401/403/404/422 …) — neither retried nor failed over;
 * - `context-length`: the prompt does not fit the model (an explicit code or message, or 413) —
 *   not retried, but failed over.
 *
 * The status rules match `classifyStatus` in plan/execution.ts, which the simulator uses, so a
 * policy test's `given M fails 429` behaves as a real 429 does.
 *
 * No message leaves this file without secrets stripped: the values of the provider's API-key
 * variable, `Authorization`/`Bearer` values and key-shaped strings.
 */
import { ApplicationFailure } from '@temporalio/common';

export type ErrorClass = 'retryable' | 'retry-after' | 'non-retryable' | 'context-length' | 'timeout';

export const ERROR_CLASSES: readonly ErrorClass[] = [
  'retryable',
  'retry-after',
  'non-retryable',
  'context-length',
  'timeout',
];

export interface ClassifiedError {
  errorClass: ErrorClass;
  /** HTTP status, when the server answered. */
  status?: number;
  /** For `retry-after`: how long the server asked us to wait. */
  retryAfterMs?: number;
  /** The provider's error code when it sent one (`context_length_exceeded`, `ECONNREFUSED` …). */
  code?: string;
  /** Human-readable, secrets removed. */
  message: string;
}

export interface ClassifyOptions {
  /** Epoch ms used to turn an HTTP-date `Retry-After` into a delay; defaults to `Date.now()`. */
  now?: number;
  /** Strings that must never appear in a message (API keys). */
  secrets?: readonly string[];
  /** The caller's own timer fired: whatever the error looks like, it is a `timeout`. */
  timedOut?: boolean;
}

export type ProviderErrorJSON = ClassifiedError & { provider?: string; endpoint?: string; ms?: number };

/** What a provider throws: the classification plus where it happened. */
export class ProviderError extends Error implements ClassifiedError {
  readonly errorClass: ErrorClass;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly code?: string;
  readonly provider?: string;
  readonly endpoint?: string;
  /** How long the failed attempt took, in ms. */
  readonly ms?: number;

  constructor(
    classified: ClassifiedError,
    where: { provider?: string; endpoint?: string; ms?: number } = {},
  ) {
    super(classified.message);
    this.name = 'ProviderError';
    this.errorClass = classified.errorClass;
    if (classified.status !== undefined) this.status = classified.status;
    if (classified.retryAfterMs !== undefined) this.retryAfterMs = classified.retryAfterMs;
    if (classified.code !== undefined) this.code = classified.code;
    if (where.provider !== undefined) this.provider = where.provider;
    if (where.endpoint !== undefined) this.endpoint = where.endpoint;
    if (where.ms !== undefined) this.ms = where.ms;
  }

  /** A plain, JSON-safe copy (Temporal failure details, audit records). */
  toJSON(): ProviderErrorJSON {
    const out: ProviderErrorJSON = {
      errorClass: this.errorClass,
      message: this.message,
    };
    if (this.status !== undefined) out.status = this.status;
    if (this.retryAfterMs !== undefined) out.retryAfterMs = this.retryAfterMs;
    if (this.code !== undefined) out.code = this.code;
    if (this.provider !== undefined) out.provider = this.provider;
    if (this.endpoint !== undefined) out.endpoint = this.endpoint;
    if (this.ms !== undefined) out.ms = this.ms;
    return out;
  }
}

/** Thrown by in-process engines when a prompt does not fit the context window. */
export class ContextLengthError extends Error {
  readonly code = 'context_length_exceeded';
  constructor(
    readonly promptTokens: number,
    readonly contextSize: number,
    readonly requestedTokens = 0,
  ) {
    super(
      requestedTokens > 0
        ? `maximum context length is ${contextSize} tokens, but ${promptTokens + requestedTokens} were requested ` +
            `(${promptTokens} in the messages, ${requestedTokens} in the completion)`
        : `maximum context length is ${contextSize} tokens, but the messages are ${promptTokens} tokens`,
    );
    this.name = 'ContextLengthError';
  }
}

const CONTEXT_PATTERNS = [
  /context[_ ]length[_ ]exceeded/i,
  /maximum context length/i,
  /exceeds? (the )?(model'?s? )?context (length|window|size)/i,
  /context (window|length) (is )?(full|exceeded)/i,
  /(prompt|input) is too long/i,
  /too many tokens/i,
  /reduce the length of the messages/i,
];

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Classify anything a provider client threw. Idempotent: a `ProviderError` keeps its class. */
export function classifyError(err: unknown, opts: ClassifyOptions = {}): ClassifiedError {
  const secrets = opts.secrets ?? [];
  if (err instanceof ProviderError) {
    return { ...err.toJSON(), message: redactSecrets(err.message, secrets) };
  }
  const now = opts.now ?? Date.now();
  const facts = collectFacts(err);
  const out = (c: Omit<ClassifiedError, 'message'>, message = facts.message): ClassifiedError => {
    const result: ClassifiedError = { ...c, message: redactSecrets(message, secrets) };
    if (result.status === undefined && facts.status !== undefined) result.status = facts.status;
    if (result.code === undefined && facts.code !== undefined) result.code = facts.code;
    return result;
  };

  if (opts.timedOut || facts.timeout) return out({ errorClass: 'timeout' }, timeoutMessage(facts));

  const contextLength =
    facts.code === 'context_length_exceeded' || CONTEXT_PATTERNS.some((p) => p.test(facts.message));
  if (contextLength && facts.status !== 429) return out({ errorClass: 'context-length' });

  const status = facts.status;
  if (status !== undefined) {
    if (status === 429 || status >= 500) {
      const retryAfterMs = retryAfterFrom(facts.headers, now);
      if (retryAfterMs !== undefined) return out({ errorClass: 'retry-after', retryAfterMs });
      return out({ errorClass: status === 429 ? 'retry-after' : 'retryable' });
    }
    if (status === 408) return out({ errorClass: 'retryable' });
    // Payload too large: this input does not fit this model; another one may take it.
    if (status === 413) return out({ errorClass: 'context-length' });
    if (status >= 400) return out({ errorClass: 'non-retryable' });
  }
  // No status: the request never got an answer (connection refused, reset, dropped mid-stream), or
  // the server reported an error inside a stream. Both are worth another attempt.
  return out({ errorClass: 'retryable' });
}

/** `Retry-After` (delta-seconds or HTTP-date, RFC 9110 §10.2.3) as milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const KEY_SHAPES = [
  // Authorization header values and bare bearer tokens.
  /\b(authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)(bearer\s+|basic\s+)?[^\s"',}]+/gi,
  /\bbearer\s+[A-Za-z0-9._~+/=-]+/gi,
  // key=…, api_key: …, "x-api-key": "…"
  /\b((?:x-)?api[-_]?key|key|(?:access[-_]?|refresh[-_]?)?token|secret|password)(["']?\s*[:=]\s*["']?)[^\s"',}&]+/gi,
  // OpenAI-, Anthropic-, GitHub-shaped keys.
  /\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g,
  /\bgh[pousr]_[A-Za-z0-9]{16,}/g,
];

/** Remove every secret and anything shaped like a credential from `text`. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  out = out.replace(KEY_SHAPES[0]!, (_m, name: string, sep: string) => `${name}${sep}[redacted]`);
  out = out.replace(KEY_SHAPES[1]!, 'Bearer [redacted]');
  out = out.replace(KEY_SHAPES[2]!, (_m, name: string, sep: string) => `${name}${sep}[redacted]`);
  out = out.replace(KEY_SHAPES[3]!, '[redacted]');
  out = out.replace(KEY_SHAPES[4]!, '[redacted]');
  return out.length > 2000 ? `${out.slice(0, 2000)}…` : out;
}

/** The Temporal failure an activity throws for a classified provider error. */
export function toApplicationFailure(
  err: ClassifiedError | ProviderError,
  extraDetails: Record<string, unknown> = {},
): ApplicationFailure {
  const plain = err instanceof ProviderError ? err.toJSON() : { ...err };
  return ApplicationFailure.create({
    message: plain.message,
    type: plain.errorClass,
    // A context-length error fails over to the next candidate: retrying the same model cannot help.
    nonRetryable: plain.errorClass === 'non-retryable' || plain.errorClass === 'context-length',
    ...(plain.errorClass === 'retry-after' && plain.retryAfterMs !== undefined
      ? { nextRetryDelay: plain.retryAfterMs }
      : {}),
    details: [{ ...plain, ...extraDetails }],
  });
}

// ---------------------------------------------------------------------------------------------

interface Facts {
  message: string;
  status?: number;
  code?: string;
  headers?: unknown;
  timeout: boolean;
}

function collectFacts(err: unknown): Facts {
  const facts: Facts = { message: 'unknown provider error', timeout: false };
  if (typeof err === 'string') {
    facts.message = err;
    return facts;
  }
  if (!isObject(err)) return facts;

  const status =
    numberField(err, 'status') ?? numberField(err, 'status_code') ?? numberField(err, 'statusCode');
  if (status !== undefined && status >= 100 && status < 600) facts.status = status;
  if ('headers' in err) facts.headers = err.headers;

  // Error codes: the error's own, then its body's (`error.code` of an OpenAI error), then its causes'.
  const messages: string[] = [];
  let node: unknown = err;
  for (let depth = 0; depth < 5 && isObject(node); depth++) {
    const code = stringField(node, 'code');
    if (code !== undefined && facts.code === undefined) facts.code = code;
    const name = stringField(node, 'name') ?? '';
    if (name === 'APIConnectionTimeoutError' || name === 'TimeoutError') facts.timeout = true;
    if (code !== undefined && TIMEOUT_CODES.has(code)) facts.timeout = true;
    const message = stringField(node, 'message');
    const trimmed = message?.trim().replace(/\.$/, '');
    if (trimmed && !messages.includes(trimmed)) messages.push(trimmed);
    node = node.cause;
  }
  const body = isObject(err) && 'error' in err ? err.error : undefined;
  if (isObject(body)) {
    const code = stringField(body, 'code');
    if (code !== undefined) facts.code = code;
  }

  let message = messages.join(': ') || facts.message;
  // The openai client prefixes the status ("503 …"): keep one status, ours.
  if (facts.status !== undefined) message = message.replace(new RegExp(`^${facts.status}\\s+`), '');
  if (facts.code !== undefined && CONNECTION_CODES.has(facts.code) && !message.includes(facts.code)) {
    message = `${message} (${facts.code})`;
  }
  facts.message = facts.status !== undefined ? `HTTP ${facts.status}: ${message}` : message;
  return facts;
}

function timeoutMessage(facts: Facts): string {
  return /timed? ?out|timeout/i.test(facts.message) ? facts.message : `timed out (${facts.message})`;
}

function retryAfterFrom(headers: unknown, now: number): number | undefined {
  const get = (name: string): string | undefined => {
    if (!headers) return undefined;
    if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
    if (isObject(headers)) {
      for (const [k, v] of Object.entries(headers)) {
        if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
      }
    }
    return undefined;
  };
  // `retry-after-ms` (OpenAI's, more precise) wins over `retry-after`.
  const ms = get('retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  return parseRetryAfter(get('retry-after'), now);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function numberField(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function stringField(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}
