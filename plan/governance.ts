/**
 * Worst-case estimates and limit checks for budgets and rate limits
 * (docs/language.md §4.2–4.3, §6). The numbers come from a `GovernanceSnapshot` (trace.ts) the
 * caller resolved for the request's scope values; this module never touches a ledger, it only says
 * what to reserve and whether it fits.
 */
import { tokensText } from './conditions.js';
import { costNanos, formatDollars } from './money.js';
import type { BudgetUsage, ChainEntry, RateLimitUsage, Usage, WorstCase } from './trace.js';
import type { BudgetLimit, RateLimitPlan, Window } from './types.js';

/** Window lengths; `month` is 30 days (used by the simulator, which has no calendar; the workflow uses windows.ts). */
export const WINDOW_MS: Record<Window, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
  month: 2_592_000_000,
};

/**
 * Output tokens reserved for a call: the `max-tokens` the call will send (call option, else the
 * request's), else the model's context minus the input tokens (never below 0), else — a model
 * without a known context — 0: nothing can be reserved for output it cannot bound.
 */
export function outputEstimate(entry: ChainEntry, inputTokens: number): number {
  if (entry.maxTokens !== null) return entry.maxTokens;
  if (entry.context !== null) return Math.max(0, entry.context - inputTokens);
  return 0;
}

/**
 * The most one attempt of `entry` can cost with a prompt of `inputTokens`: what the ledger reserves
 * before the attempt (the input plus {@link outputEstimate} output tokens at the model's prices).
 */
export function attemptWorstCost(entry: ChainEntry, inputTokens: number): WorstCase {
  const outputTokens = outputEstimate(entry, inputTokens);
  const nanos = costNanos(inputTokens, entry.price?.input) + costNanos(outputTokens, entry.price?.output);
  return { nanos, tokens: inputTokens + outputTokens, outputTokens };
}

/** What an answer actually cost: the provider's reported usage at the model's prices, rounded up. */
export function actualCost(entry: ChainEntry, usage: Usage): number {
  return (
    costNanos(usage.inputTokens, entry.price?.input) + costNanos(usage.outputTokens, entry.price?.output)
  );
}

/** `$500 per month`, `20M tokens per day`. */
export function limitText(limit: BudgetLimit | RateLimitPlan['limits'][number]): string {
  switch (limit.kind) {
    case 'money':
      return `$${formatDollars(limit.amount)} per ${limit.window}`;
    case 'tokens':
      return `${tokensText(limit.amount)} tokens per ${limit.window}`;
    case 'requests':
      return `${limit.amount} requests per ${limit.window}`;
  }
}

/**
 * The first limit of a budget that `nanos`/`tokens` more would exceed (docs/language.md §4.2:
 * spent + reserved + it > limit), counting `extra` (what this request committed since the
 * snapshot); `null` if it fits.
 */
export function exceededBudgetLimit(
  limits: readonly BudgetLimit[],
  usage: BudgetUsage | undefined,
  extra: { nanos: number; tokens: number } | undefined,
  nanos: number,
  tokens: number,
): BudgetLimit | null {
  for (const limit of limits) {
    const counters = usage?.byWindow?.[limit.window] ?? usage;
    if (limit.kind === 'money') {
      const used = (counters?.spentNanos ?? 0) + (counters?.reservedNanos ?? 0) + (extra?.nanos ?? 0);
      if (used + nanos > limit.amount) return limit;
    } else {
      const used = (counters?.spentTokens ?? 0) + (counters?.reservedTokens ?? 0) + (extra?.tokens ?? 0);
      if (used + tokens > limit.amount) return limit;
    }
  }
  return null;
}

/** The first limit of a rate limit that one more request of `tokens` tokens would exceed; `null` if it fits. */
export function exceededRateLimit(
  limits: RateLimitPlan['limits'],
  usage: RateLimitUsage | undefined,
  tokens: number,
): RateLimitPlan['limits'][number] | null {
  for (const limit of limits) {
    const counters = usage?.byWindow?.[limit.window] ?? usage;
    const used = limit.kind === 'requests' ? (counters?.requests ?? 0) : (counters?.tokens ?? 0);
    if (used + (limit.kind === 'requests' ? 1 : tokens) > limit.amount) return limit;
  }
  return null;
}
