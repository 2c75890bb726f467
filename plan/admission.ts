/**
 * Admission before an attempt: rate limits (once per request) and budgets (every attempt), against
 * the snapshot plus what this request committed since (docs/language.md §4.2–4.3, §6).
 *
 * The snapshot is advisory: the ledger's `reserve`/`admit` decide. When the ledger refuses an
 * attempt the machine already issued, the refusal comes back as a {@link Forced} limit: it counts
 * as exceeded whatever the snapshot says, and its `on-exceed` runs.
 */
import { durationText } from './conditions.js';
import { refuse } from './exec-state.js';
import type { ExecState, Transition } from './exec-state.js';
import { exceededBudgetLimit, exceededRateLimit, limitText } from './governance.js';
import type {
  ApplicableBudget,
  ChainEntry,
  RateLimitUse,
  Reservation,
  Settlement,
  WorstCase,
} from './trace.js';
import type { BudgetLimit, Window } from './types.js';

/** A limit the ledger refused (the machine's `refused` input), applied to the next admission only. */
export interface Forced {
  budget?: string;
  rateLimit?: string;
  retryAfterMs?: number;
  neverFits?: boolean;
  window?: Window;
}

/** The limit a forced refusal names: the one in `window`, else the first. */
function forcedLimit<L extends { window: Window }>(
  limits: readonly L[],
  window: Window | undefined,
): L | null {
  return limits.find((l) => l.window === window) ?? limits[0] ?? null;
}

/** Rate limits admit a request once, before its first attempt: one request and its input + max-tokens. */
export function admit(
  s: ExecState,
  entry: ChainEntry,
  delayMs: number,
  settle: Settlement[],
  forced?: Forced,
): { transition: Transition } | { uses: RateLimitUse[] } {
  const d = s.decision;
  const tokens = d.inputTokens + (entry.maxTokens ?? 0);
  for (const rate of d.governance.rateLimits) {
    const usage = s.snapshot.rateLimits?.[rate.name];
    const isForced = forced?.rateLimit === rate.name;
    const limit =
      exceededRateLimit(rate.limits, usage, tokens) ??
      (isForced ? forcedLimit(rate.limits, forced.window) : null);
    if (limit === null) continue;
    const key = `rate-limit:${rate.name}`;
    const waited = s.waitedMs[key] ?? 0;
    const action = rate.onExceed.action;
    s.rateLimits.push({
      rateLimit: rate.name,
      outcome: 'exceeded',
      action,
      requests: 1,
      tokens,
      limit: limitText(limit),
    });
    const exceeded = `rate limit ${rate.name} exceeded (${limitText(limit)})`;
    if (rate.onExceed.action === 'reject') return { transition: refuse(s, exceeded, settle) };
    const own = limit.kind === 'requests' ? 1 : tokens;
    if (own > limit.amount || (isForced && forced.neverFits === true)) {
      const why = `${exceeded}; this request alone is over the limit, no wait can admit it`;
      return { transition: refuse(s, why, settle) };
    }
    const left = rate.onExceed.maxWaitMs - waited;
    if (left <= 0) {
      return { transition: refuse(s, `${exceeded}; waited ${durationText(waited)}`, settle) };
    }
    const counters = usage?.byWindow?.[limit.window] ?? usage;
    const retryAfterMs = isForced ? forced.retryAfterMs : counters?.resetsInMs;
    // Rate-limit counters only drop when their window resets: a reset beyond the longest wait
    // cannot admit the request in time, so it is refused now rather than after the wait.
    if (retryAfterMs !== undefined && retryAfterMs > left) {
      const why = `${exceeded}; the window resets in ${durationText(Math.ceil(retryAfterMs))}, after the longest wait (${durationText(left)} left)`;
      return { transition: refuse(s, why, settle) };
    }
    const maxWaitMs = d.deadlineMs === null ? left : Math.min(left, d.deadlineMs - s.elapsedMs);
    s.pending = { kind: 'wait', entry, delayMs, key };
    s.waitingFor = exceeded;
    return {
      transition: {
        state: s,
        step: {
          step: 'wait',
          limit: 'rate-limit',
          name: rate.name,
          window: limit.window,
          maxWaitMs,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          settle,
        },
      },
    };
  }
  s.admitted = true;
  return {
    uses: d.governance.rateLimits.map((rate) => {
      const waitedMs = s.waitedMs[`rate-limit:${rate.name}`];
      s.rateLimits.push({
        rateLimit: rate.name,
        outcome: waitedMs ? 'waited' : 'admitted',
        requests: 1,
        tokens,
        ...(waitedMs ? { waitedMs } : {}),
      });
      return { rateLimit: rate.name, scopeValue: rate.scopeValue, requests: 1, tokens };
    }),
  };
}

export type BudgetCheck =
  | { reserve: Reservation[] }
  | {
      budget: ApplicableBudget;
      limit: BudgetLimit;
      nanos: number;
      tokens: number;
      /** Until the limit's window resets, when the ledger said. */
      retryAfterMs?: number;
    };

/** Reserves the worst case against every budget, or names the first that refuses it. */
export function checkBudgets(
  s: ExecState,
  entry: ChainEntry,
  attempt: number,
  estimate: WorstCase,
  forced?: Forced,
): BudgetCheck {
  const { nanos, tokens } = estimate;
  const reserve: Reservation[] = [];
  for (const budget of s.decision.governance.budgets) {
    const exempt = s.exempt.includes(budget.name);
    const alert = budget.onExceed.action === 'alert';
    if (!exempt) {
      const usage = s.snapshot.budgets?.[budget.name];
      const isForced = forced?.budget === budget.name && !alert;
      const limit =
        exceededBudgetLimit(budget.limits, usage, s.committed[budget.name], nanos, tokens) ??
        (isForced ? forcedLimit(budget.limits, forced.window) : null);
      if (limit !== null) {
        if (!alert) {
          const counters = usage?.byWindow?.[limit.window] ?? usage;
          const retryAfterMs = isForced ? forced.retryAfterMs : counters?.resetsInMs;
          return { budget, limit, nanos, tokens, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
        }
        if (!s.alerted.includes(budget.name)) {
          s.alerted.push(budget.name);
          s.budgets.push({
            budget: budget.name,
            attempt,
            model: entry.model,
            outcome: 'exceeded',
            action: 'alert',
            nanos,
            tokens,
            limit: limitText(limit),
          });
        }
      }
    }
    const key = `${s.decision.id}#${attempt}`;
    reserve.push({
      budget: budget.name,
      scopeValue: budget.scopeValue,
      key,
      nanos,
      tokens,
      enforce: !exempt && !alert,
    });
  }
  return { reserve };
}
