/**
 * Results the request driver (driver.ts) makes itself, when it stops driving the machine before
 * the machine's own `done`: a request that got no decision, one abandoned because the ledger
 * could not be asked or too many waits, one whose streamed attempt failed, one whose caller went
 * away. Defined once, for the workflow and the direct runner alike (docs/language.md §6, §4.9).
 */
import type { ExecState } from './exec-state.js';
import { formatDollars } from './money.js';
import type { Decision, InferenceResult } from './trace.js';
import type { InferenceRequest } from './types.js';

/** What a decision says before any route is looked at; the rest starts empty. */
export type DecisionHead = Pick<
  Decision,
  'id' | 'policy' | 'plan' | 'status' | 'reason' | 'rule' | 'inputTokens' | 'requestMaxTokens' | 'audit'
>;

/** A decision with no route, chain, guards or governance yet: where `decide` starts, and what a request that was never decided ends with. */
export function blankDecision(head: DecisionHead): Decision {
  return {
    id: head.id,
    policy: head.policy,
    plan: head.plan,
    route: null,
    execution: null,
    matched: null,
    via: null,
    status: head.status,
    reason: head.reason,
    rule: head.rule,
    inputTokens: head.inputTokens,
    requestMaxTokens: head.requestMaxTokens,
    deadlineMs: null,
    split: null,
    chain: [],
    excluded: [],
    guards: [],
    budgets: [],
    rateLimits: [],
    governance: { budgets: [], rateLimits: [], downgrades: {}, downgradeBlocked: {} },
    audit: head.audit,
  };
}

/** The decision of a request that was never decided (unknown policy, the decision step failed). */
export function emptyDecision(request: InferenceRequest, reason: string, rule: string): Decision {
  return blankDecision({
    id: request.id,
    policy: request.policy,
    plan: '',
    status: 'rejected',
    reason,
    rule,
    inputTokens: 0,
    requestMaxTokens: request.maxTokens ?? null,
    audit: { prompts: 'hashed' },
  });
}

/**
 * A result for a request that never got a decision: `rejected` (no plan for its policy) or
 * `failed` (the decision step itself failed); `rule` names what refused it (`policy`, `internal`).
 */
export function undecidedResult(
  request: InferenceRequest,
  status: 'rejected' | 'failed',
  reason: string,
  rule: string,
): InferenceResult {
  return {
    id: request.id,
    status,
    policy: request.policy,
    plan: '',
    route: null,
    model: null,
    provider: null,
    output: null,
    usage: { inputTokens: 0, outputTokens: 0 },
    cost: formatDollars(0),
    costNanos: 0,
    attempts: [],
    reason,
    elapsedMs: 0,
    decision: emptyDecision(request, reason, rule),
  };
}

/**
 * The machine's state turned into a result when the driver stops driving it (the ledger is
 * unavailable, too many waits): `rejected` before any attempt, else `failed`, with what was
 * tried, used and charged so far.
 */
export function abandonedResult(state: ExecState, reason: string): InferenceResult {
  const d = state.decision;
  return {
    id: d.id,
    status: state.attempts.length === 0 ? 'rejected' : 'failed',
    policy: d.policy,
    plan: d.plan,
    route: d.route,
    model: null,
    provider: null,
    output: null,
    usage: state.usage,
    cost: formatDollars(state.costNanos),
    costNanos: state.costNanos,
    attempts: state.attempts,
    reason,
    elapsedMs: state.elapsedMs,
    decision: { ...d, budgets: state.budgets, rateLimits: state.rateLimits },
  };
}

/**
 * A request that ends after its last attempt (if any), whatever the machine would do next
 * (docs/language.md §6.4: once a streamed attempt failed, no fallback follows it into the
 * started stream; or the caller went away): `failed`. The budget effects the machine already planned for an attempt that will not
 * be made are dropped: that attempt reserved nothing. `lastAttempt`, when given, replaces what the
 * machine recorded of the last attempt's outcome (a call cancelled with the caller is an `error`,
 * though what it produced is charged like an answer).
 */
export function endedResult(
  state: ExecState,
  reason: string,
  lastAttempt?: { outcome: 'error'; error: string },
): InferenceResult {
  const made = state.attempts.length;
  const attempts =
    lastAttempt === undefined || made === 0
      ? state.attempts
      : [...state.attempts.slice(0, -1), { ...state.attempts[made - 1]!, ...lastAttempt }];
  const ended = abandonedResult(
    { ...state, attempts, budgets: state.budgets.filter((b) => b.attempt <= made) },
    reason,
  );
  // Not refused by a rule: stopped (by its stream, or by its caller), so `failed` even before any attempt.
  return { ...ended, status: 'failed' };
}
