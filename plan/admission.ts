/**
 * Admission before an attempt: rate limits (once per request) and budgets (every attempt), against
 * the snapshot plus what this request committed since (LANGUAGE.md §3.2 step 5, §5).
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
import type { BudgetLimit } from './types.js';

/** Rate limits admit a request once, before its first attempt: one request and its input + max-tokens. */
export function admit(
  s: ExecState,
  entry: ChainEntry,
  delayMs: number,
  settle: Settlement[],
): { transition: Transition } | { uses: RateLimitUse[] } {
  const d = s.decision;
  const tokens = d.inputTokens + (entry.maxTokens ?? 0);
  for (const rate of d.governance.rateLimits) {
    const limit = exceededRateLimit(rate.limits, s.snapshot.rateLimits?.[rate.name], tokens);
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
    const left = rate.onExceed.maxWaitMs - waited;
    if (left <= 0) {
      return { transition: refuse(s, `${exceeded}; waited ${durationText(waited)}`, settle) };
    }
    const maxWaitMs = d.deadlineMs === null ? left : Math.min(left, d.deadlineMs - s.elapsedMs);
    s.pending = { kind: 'wait', entry, delayMs, key };
    s.waitingFor = exceeded;
    return {
      transition: {
        state: s,
        step: { step: 'wait', limit: 'rate-limit', name: rate.name, window: limit.window, maxWaitMs, settle },
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
  | { budget: ApplicableBudget; limit: BudgetLimit; nanos: number; tokens: number };

/** Reserves the worst case against every budget, or names the first that refuses it. */
export function checkBudgets(
  s: ExecState,
  entry: ChainEntry,
  attempt: number,
  estimate: WorstCase,
): BudgetCheck {
  const { nanos, tokens } = estimate;
  const reserve: Reservation[] = [];
  for (const budget of s.decision.governance.budgets) {
    if (!s.exempt.includes(budget.name)) {
      const usage = s.snapshot.budgets?.[budget.name];
      const limit = exceededBudgetLimit(budget.limits, usage, s.committed[budget.name], nanos, tokens);
      if (limit !== null) {
        if (budget.onExceed.action !== 'alert') return { budget, limit, nanos, tokens };
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
    reserve.push({ budget: budget.name, scopeValue: budget.scopeValue, key, nanos, tokens });
  }
  return { reserve };
}
