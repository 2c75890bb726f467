/**
 * The front door's errors, in OpenAI's shape (`{"error": {"message", "type", "code", "param"}}`) so
 * every OpenAI SDK raises its usual exception class, and the table of docs/http.md "Errors":
 *
 * | status | when                                                     | code                          |
 * |--------|----------------------------------------------------------|-------------------------------|
 * | 400    | the body is not JSON, a field has the wrong type         | `invalid_json`, `invalid_type`, `missing_field`, `invalid_value` |
 * | 401    | missing, unknown, revoked or expired key                 | `invalid_api_key`             |
 * | 403    | the key may not use this policy; an admin key            | `policy_not_allowed`, `admin_key` |
 * | 404    | unknown policy or capability; unknown path               | `model_not_found`, `not_found` |
 * | 409    | same `Idempotency-Key`, different body                   | `idempotency_key_conflict`    |
 * | 413    | the body is over the limit                               | `request_too_large`           |
 * | 422    | refused by a rule or a guard                             | `request_refused`             |
 * | 429    | refused by a budget or a rate limit (`Retry-After`)      | `budget_exceeded`, `rate_limit_exceeded` |
 * | 502    | every attempt failed (the attempts in the message)       | `all_attempts_failed`         |
 * | 504    | the deadline passed                                      | `deadline_exceeded`           |
 *
 * Messages never carry a stack trace or key material: they are written here, from results whose
 * provider errors were already scrubbed (activities/providers/errors.ts).
 */
import { untilWindowReset } from '../plan/windows.js';
import { limitText } from '../plan/governance.js';
import type { InferenceResult, Window } from '../plan/index.js';

export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** An HTTP error the front door answers with; `retryAfterS` becomes `Retry-After`. */
export class HttpError extends Error {
  /** Extra response headers (the Switchyard headers of a request that ran). */
  headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

export const badRequest = (code: string, message: string, param: string | null = null): HttpError =>
  new HttpError(400, 'invalid_request_error', code, message, param);

export const unauthorized = (message: string): HttpError =>
  new HttpError(401, 'invalid_request_error', 'invalid_api_key', message);

export const forbidden = (code: string, message: string): HttpError =>
  new HttpError(403, 'permission_error', code, message);

export const modelNotFound = (message: string): HttpError =>
  new HttpError(404, 'invalid_request_error', 'model_not_found', message, 'model');

export const tooLarge = (limit: number): HttpError =>
  new HttpError(
    413,
    'invalid_request_error',
    'request_too_large',
    `the request body is over the limit of ${formatBytes(limit)}`,
  );

export const idempotencyConflict = (): HttpError =>
  new HttpError(
    409,
    'invalid_request_error',
    'idempotency_key_conflict',
    'this Idempotency-Key was already used with a different request body; use a new key for a new request',
    'Idempotency-Key',
  );

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/**
 * The error for a result that is not `served` (docs/http.md "Errors"). `capabilities` are the ones
 * the policy's routes name: a request refused because no route matched a capability outside them
 * asked for a model that does not exist (404), not for something a rule refused (422).
 */
export function resultError(
  result: InferenceResult,
  capabilities: ReadonlySet<string> | undefined,
  capability: string,
  now: number = Date.now(),
): HttpError {
  const reason = result.reason ?? 'no reason given';
  const decision = result.decision;
  const budget = decision.budgets.find((b) => b.outcome === 'exceeded');
  const rate = decision.rateLimits.find((r) => r.outcome === 'exceeded');
  if (result.status === 'rejected' && (budget !== undefined || rate !== undefined)) {
    const retryAfterS = retryAfterOf(result, now);
    return rate !== undefined
      ? new HttpError(429, 'rate_limit_error', 'rate_limit_exceeded', reason, null, retryAfterS)
      : new HttpError(429, 'insufficient_quota', 'budget_exceeded', reason, null, retryAfterS);
  }
  if (reason.startsWith('deadline ')) {
    return new HttpError(504, 'timeout_error', 'deadline_exceeded', reason);
  }
  if (result.status === 'rejected') {
    if (result.plan === '' || result.decision.plan === '') return modelNotFound(reason);
    const noRoute = decision.route === null && decision.via !== 'when';
    if (noRoute && capabilities !== undefined && !capabilities.has(capability)) {
      return modelNotFound(
        `policy ${result.policy} has no capability "${capability}" (${reason}); GET /v1/models lists what this key may ask for`,
      );
    }
    const rule = decision.rule ? ` (${decision.rule})` : '';
    return new HttpError(422, 'invalid_request_error', 'request_refused', `${reason}${rule}`);
  }
  return new HttpError(502, 'api_error', 'all_attempts_failed', reason);
}

/**
 * Seconds until the refusing limit's window resets: the exceeded limit is found by its text among
 * the request's applicable budgets and rate limits; `undefined` when it cannot be told.
 */
function retryAfterOf(result: InferenceResult, now: number): number | undefined {
  const d = result.decision;
  const windows: Window[] = [];
  for (const effect of d.rateLimits) {
    if (effect.outcome !== 'exceeded') continue;
    const limits = d.governance.rateLimits.find((r) => r.name === effect.rateLimit)?.limits ?? [];
    const hit = limits.find((l) => effect.limit !== undefined && limitText(l) === effect.limit);
    if (hit) windows.push(hit.window);
  }
  for (const effect of d.budgets) {
    if (effect.outcome !== 'exceeded') continue;
    const limits = d.governance.budgets.find((b) => b.name === effect.budget)?.limits ?? [];
    const hit = limits.find((l) => effect.limit !== undefined && limitText(l) === effect.limit);
    if (hit) windows.push(hit.window);
  }
  if (windows.length === 0) return undefined;
  const ms = Math.max(...windows.map((w) => untilWindowReset(w, now)));
  return Math.max(1, Math.ceil(ms / 1000));
}
