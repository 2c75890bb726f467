/**
 * Rate limits: requests and tokens per calendar window (windows.ts) per scope value, counted in
 * the store so every worker shares them. Fixed windows: a counter resets when its window ends, and
 * a refused request is told how long until then (`retryAfterMs`), so the workflow can wait durably.
 */
import { encodeScope, get, lock, num, run, type Tx } from './sql.js';
import type { AdmitOutcome, LedgerWindow, RateLimitSpec, RateUse, RateWindowUsage } from './types.js';
import { windowEnd, windowStart } from './windows.js';
import { checkAmount } from './ledger.js';

const RATE_LOCK = 'rate';

export function validateUses(uses: readonly RateUse[]): void {
  const names = new Set<string>();
  for (const use of uses) {
    if (names.has(use.rateLimit)) throw new TypeError(`admit: rate limit ${use.rateLimit} appears twice`);
    names.add(use.rateLimit);
    checkAmount(`rate limit ${use.rateLimit} requests`, use.requests);
    checkAmount(`rate limit ${use.rateLimit} tokens`, use.tokens);
  }
}

function* counters(rateLimit: string, scope: string, window: LedgerWindow, now: number): Tx<RateWindowUsage> {
  const start = windowStart(window, now);
  const row = yield* get<{ requests: unknown; tokens: unknown }>(
    `SELECT requests, tokens FROM rate_counters
      WHERE rate_limit = ? AND scope_value = ? AND win = ? AND window_start = ?`,
    [rateLimit, scope, window, start],
  );
  return {
    window,
    windowStart: start,
    windowEnd: windowEnd(window, now),
    requests: num(row?.requests),
    tokens: num(row?.tokens),
  };
}

export function* rateUsageTx(
  rateLimit: string,
  scopeValue: string | null,
  window: LedgerWindow,
  now: number,
): Tx<RateWindowUsage> {
  return yield* counters(rateLimit, encodeScope(scopeValue), window, now);
}

export function* admitTx(
  key: string,
  uses: readonly RateUse[],
  limits: Record<string, RateLimitSpec[]>,
  now: number,
): Tx<AdmitOutcome> {
  if (uses.length === 0) return { ok: true, replayed: false };
  yield* lock(
    RATE_LOCK,
    uses.map((use) => [use.rateLimit, encodeScope(use.scopeValue)]),
  );
  const existing = yield* get('SELECT 1 AS hit FROM rate_admissions WHERE admission_key = ? LIMIT 1', [key]);
  if (existing !== undefined) return { ok: true, replayed: true };

  let refusal: Extract<AdmitOutcome, { ok: false }> | null = null;
  for (const use of uses) {
    const specs = limits[use.rateLimit];
    if (specs === undefined) throw new TypeError(`admit: no limits given for rate limit ${use.rateLimit}`);
    for (const limit of specs) {
      const usage = yield* counters(use.rateLimit, encodeScope(use.scopeValue), limit.window, now);
      const used = limit.kind === 'requests' ? usage.requests : usage.tokens;
      const need = limit.kind === 'requests' ? use.requests : use.tokens;
      if (used + need <= limit.amount) continue;
      const retryAfterMs = usage.windowEnd - now;
      const neverFits = need > limit.amount;
      // Report the binding refusal: one that can never fit, else the one that resets last.
      const binding =
        refusal === null ||
        (neverFits !== refusal.neverFits ? neverFits : retryAfterMs > refusal.retryAfterMs);
      if (binding) {
        refusal = {
          ok: false,
          rateLimit: use.rateLimit,
          scopeValue: use.scopeValue,
          limit,
          retryAfterMs,
          neverFits,
          used,
        };
      }
    }
  }
  if (refusal !== null) return refusal;

  for (const use of uses) {
    const scope = encodeScope(use.scopeValue);
    const windows = new Set((limits[use.rateLimit] ?? []).map((limit) => limit.window));
    for (const window of windows) {
      yield* run(
        `INSERT INTO rate_counters (rate_limit, scope_value, win, window_start, requests, tokens)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (rate_limit, scope_value, win, window_start) DO UPDATE SET
           requests = rate_counters.requests + excluded.requests,
           tokens = rate_counters.tokens + excluded.tokens`,
        [use.rateLimit, scope, window, windowStart(window, now), use.requests, use.tokens],
      );
    }
    yield* run(
      `INSERT INTO rate_admissions (admission_key, rate_limit, scope_value, requests, tokens, created_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [key, use.rateLimit, scope, use.requests, use.tokens, now],
    );
  }
  return { ok: true, replayed: false };
}
