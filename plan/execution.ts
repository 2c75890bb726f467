/**
 * The execution machine (docs/language.md §6 steps 7–10): given a decision, it says which attempt
 * to make next, and decides what each reported result means — retry, fail over, escalate, serve,
 * fail.
 *
 * The same code runs in the Temporal workflow (with real activity results) and in the simulator
 * behind `switchyard test` and `explain` (with simulated ones). It never reads a clock: elapsed time
 * is the sum of what the caller reports (attempt `ms`, waits) plus the delays the machine asked for.
 *
 * Protocol:
 *   let t = next(start(decision, snapshot));
 *   while (t.step.step !== 'done') t = next(t.state, await perform(t.step));
 * where `perform` runs an `attempt` step (after its `delayBeforeMs`) and reports an
 * {@link AttemptResult}, or runs a `wait` step and reports {@link Waited}. Each step carries the
 * ledger intents (`reserve`, `settle`, `rateLimits`) the governance layer executes; when the ledger
 * refuses an attempt's `rateLimits` or `reserve` (the snapshot is advisory, the ledger decides),
 * the caller reports {@link Refused} instead of calling the model, and the machine runs that
 * limit's `on-exceed` for the same attempt.
 */
import { admit, checkBudgets } from './admission.js';
import type { Forced } from './admission.js';
import { durationText, evalOutputCondition } from './conditions.js';
import { copy, escalationFailed, escalationOf, failures, finish, plural, refuse } from './exec-state.js';
import type { Answer, ExecState, Pending, Transition } from './exec-state.js';
import { backoffDelay } from './calls.js';
import { actualCost, attemptWorstCost, limitText } from './governance.js';
import type { GovernanceSnapshot } from './trace.js';
import { bufferedBy } from './streaming.js';
import type {
  AttemptRecord,
  AttemptResult,
  ChainEntry,
  ErrorClass,
  RateLimitUse,
  Refused,
  Reservation,
  Settlement,
  Waited,
  WorstCase,
} from './trace.js';

export { start } from './exec-state.js';
export type { ExecState, Transition } from './exec-state.js';

/**
 * The next step. Call it first without `input`, then with the result of each `attempt` step (or
 * the ledger's {@link Refused} of it) or the {@link Waited} of each `wait` step. `snapshot`, when
 * given, replaces the ledger counters (it must then include this request's own commits); a
 * `Refused` input's own snapshot wins. After `done`, returns the same `done` step.
 */
export function next(
  state: ExecState,
  input?: AttemptResult | Waited | Refused,
  snapshot?: GovernanceSnapshot,
): Transition {
  if (state.result !== null) return { state, step: { step: 'done', result: state.result, settle: [] } };
  const s = copy(state);
  const settle: Settlement[] = [];
  if (input?.kind === 'refused' && input.snapshot !== undefined) snapshot = input.snapshot;
  if (snapshot !== undefined) {
    s.snapshot = snapshot;
    s.committed = {};
  }
  const pending = s.pending;
  s.pending = null;
  if (pending === null) {
    if (input !== undefined) throw new Error('next: no attempt or wait is pending; begin with next(state)');
    if (s.decision.status === 'rejected') return finish(s, 'rejected', s.decision.reason, settle);
    const first = s.chain[0];
    if (first === undefined) throw new Error('next: a planned decision has an empty chain');
    return prepare(s, first, 0, settle);
  }
  if (pending.kind === 'wait') {
    if (input?.kind !== 'waited')
      throw new Error('next: a wait is pending; report it with { kind: "waited", ms }');
    s.elapsedMs += input.ms;
    s.waitedMs[pending.key] = (s.waitedMs[pending.key] ?? 0) + input.ms;
    return prepare(s, pending.entry, Math.max(0, pending.delayMs - input.ms), settle);
  }
  if (input === undefined || input.kind === 'waited') {
    throw new Error('next: an attempt is pending; report its result');
  }
  if (input.kind === 'refused') return afterRefusal(s, pending, input, settle);
  return afterAttempt(s, pending, input, settle);
}

/** How an HTTP status from a provider is treated (docs/language.md §6.2). */
export function classifyStatus(status: number): ErrorClass {
  if (status === 429) return 'retry-after';
  if (status === 408 || status >= 500) return 'retryable';
  // Payload too large: the input does not fit this model, another one may take it.
  if (status === 413) return 'context-length';
  return 'non-retryable';
}

// ---------------------------------------------------------------------------------------------

/**
 * The ledger refused the pending attempt: nothing of it was admitted or reserved, and the model was
 * not called. Its delay was slept; the attempt is prepared again with the refused limit counted as
 * exceeded, so that limit's `on-exceed` runs (reject, downgrade, wait).
 */
function afterRefusal(
  s: ExecState,
  pending: Extract<Pending, { kind: 'attempt' }>,
  refused: Refused,
  settle: Settlement[],
): Transition {
  const d = s.decision;
  s.elapsedMs += pending.delayMs;
  s.modelAttempts -= 1;
  s.budgets = s.budgets.filter(
    (e) => !(e.attempt === pending.attempt && (e.outcome === 'reserved' || e.outcome === 'exempt')),
  );
  const forced: Forced = {};
  if (refused.retryAfterMs !== undefined) forced.retryAfterMs = refused.retryAfterMs;
  if (refused.window !== undefined) forced.window = refused.window;
  if (refused.rateLimit !== undefined) {
    if (!d.governance.rateLimits.some((r) => r.name === refused.rateLimit)) {
      throw new Error(
        `next: refused by rate limit ${refused.rateLimit}, which does not apply to this request`,
      );
    }
    // The admission did not happen: its effects go, and it is asked for again.
    s.rateLimits = s.rateLimits.filter((e) => e.outcome === 'exceeded');
    s.admitted = false;
    forced.rateLimit = refused.rateLimit;
    if (refused.neverFits === true) forced.neverFits = true;
  } else {
    const budget = d.governance.budgets.find((b) => b.name === refused.budget);
    if (budget === undefined) {
      throw new Error(`next: refused by budget ${refused.budget}, which does not apply to this request`);
    }
    if (s.exempt.includes(budget.name) || budget.onExceed.action === 'alert') {
      // The machine asked the ledger not to enforce it: a ledger that refuses anyway is not obeyed
      // by trying again (that would loop), the request stops here.
      return refuse(s, `the ledger refused budget ${budget.name}, which may not refuse this attempt`, settle);
    }
    forced.budget = budget.name;
  }
  return prepare(s, pending.entry, 0, settle, forced);
}

function prepare(
  s: ExecState,
  entry: ChainEntry,
  delayMs: number,
  settle: Settlement[],
  forced?: Forced,
): Transition {
  const d = s.decision;
  if (d.deadlineMs !== null && s.elapsedMs + delayMs >= d.deadlineMs) {
    const when =
      s.attempts.length === 0 ? 'before any attempt' : `after ${plural(s.attempts.length, 'attempt')}`;
    const waiting = s.waitingFor === null ? '' : ` while waiting: ${s.waitingFor}`;
    return refuse(s, `deadline ${durationText(d.deadlineMs)} passed ${when}${waiting}`, settle);
  }

  let rateLimits: RateLimitUse[] = [];
  if (!s.admitted) {
    const admission = admit(s, entry, delayMs, settle, forced);
    if ('transition' in admission) return admission.transition;
    rateLimits = admission.uses;
  }

  const attempt = s.attempts.length + 1;
  let reserve: Reservation[];
  let estimate: WorstCase;
  for (;;) {
    estimate = attemptWorstCost(entry, d.inputTokens);
    const check = checkBudgets(s, entry, attempt, estimate, forced);
    if ('reserve' in check) {
      reserve = check.reserve;
      break;
    }
    const { budget, limit } = check;
    const action = budget.onExceed.action;
    s.budgets.push({
      budget: budget.name,
      attempt,
      model: entry.model,
      outcome: 'exceeded',
      action,
      nanos: check.nanos,
      tokens: check.tokens,
      limit: limitText(limit),
    });
    const exceeded = `budget ${budget.name} exceeded (${limitText(limit)})`;
    // With an answer in hand, an escalation neither waits nor downgrades: the answer is served.
    if (action === 'reject' || s.answer !== null) return refuse(s, exceeded, settle);
    if (budget.onExceed.action === 'wait') {
      // A wait ends when the window resets, and a fresh window holds at most the limit: an attempt
      // larger than the limit by itself would wait forever.
      if ((limit.kind === 'money' ? check.nanos : check.tokens) > limit.amount) {
        return refuse(
          s,
          `${exceeded}; this attempt alone is over the limit, no wait can make it fit`,
          settle,
        );
      }
      const maxWaitMs = d.deadlineMs === null ? null : d.deadlineMs - s.elapsedMs;
      s.pending = { kind: 'wait', entry, delayMs, key: `budget:${budget.name}` };
      s.waitingFor = exceeded;
      return {
        state: s,
        step: {
          step: 'wait',
          limit: 'budget',
          name: budget.name,
          window: limit.window,
          maxWaitMs,
          ...(check.retryAfterMs !== undefined ? { retryAfterMs: check.retryAfterMs } : {}),
          settle,
        },
      };
    }
    if (budget.onExceed.action === 'downgrade') {
      const model = budget.onExceed.model;
      const target = d.governance.downgrades[model];
      if (target === undefined) {
        const why = d.governance.downgradeBlocked[model] ?? 'it is not in the plan';
        return refuse(s, `${exceeded}; cannot downgrade to ${model}: ${why}`, settle);
      }
      s.exempt.push(budget.name);
      s.downgraded = true;
      s.chain = [target];
      s.index = 0;
      if (target.model !== entry.model) {
        s.modelAttempts = 0;
        delayMs = 0;
      }
      entry = target;
    }
  }

  s.modelAttempts += 1;
  s.waitingFor = null;
  const startAt = s.elapsedMs + delayMs;
  const timeoutMs =
    d.deadlineMs === null ? entry.timeoutMs : Math.min(entry.timeoutMs, d.deadlineMs - startAt);
  for (const r of reserve) {
    const exempt = s.exempt.includes(r.budget);
    s.budgets.push({
      budget: r.budget,
      attempt,
      model: entry.model,
      outcome: exempt ? 'exempt' : 'reserved',
      nanos: r.nanos,
      tokens: r.tokens,
    });
  }
  s.pending = { kind: 'attempt', entry, attempt, delayMs, timeoutMs, reserve };
  return {
    state: s,
    step: {
      step: 'attempt',
      attempt,
      attemptOfModel: s.modelAttempts,
      model: entry.model,
      id: entry.id,
      provider: entry.provider,
      queue: entry.queue,
      role: entry.role,
      timeoutMs,
      maxTokens: entry.maxTokens,
      estimate,
      delayBeforeMs: delayMs,
      redact: entry.redact,
      afterGuards: entry.afterGuards,
      bufferedBy: bufferedBy(d, entry, [...s.tried, entry.model], s.downgraded),
      reserve,
      rateLimits,
      settle,
    },
  };
}

function afterAttempt(
  s: ExecState,
  pending: Extract<Pending, { kind: 'attempt' }>,
  result: AttemptResult,
  settle: Settlement[],
): Transition {
  const entry = pending.entry;
  s.elapsedMs += pending.delayMs + result.ms;
  if (!s.tried.includes(entry.model)) s.tried.push(entry.model);
  const record: AttemptRecord = {
    attempt: pending.attempt,
    model: entry.model,
    provider: entry.provider,
    role: entry.role,
    outcome: result.kind === 'answered' ? 'answered' : result.errorClass === 'timeout' ? 'timeout' : 'error',
    ms: result.ms,
    delayBeforeMs: pending.delayMs,
    timeoutMs: pending.timeoutMs,
  };
  if (result.endpoint !== undefined) record.endpoint = result.endpoint;
  if (result.kind === 'error') {
    record.error = result.message;
    record.errorClass = result.errorClass;
    if (result.status !== undefined) record.status = result.status;
  }
  s.attempts.push(record);

  if (result.kind === 'answered') {
    const nanos = actualCost(entry, result.usage);
    const tokens = result.usage.inputTokens + result.usage.outputTokens;
    for (const r of pending.reserve) {
      settle.push({
        action: 'commit',
        budget: r.budget,
        scopeValue: r.scopeValue,
        key: r.key,
        nanos,
        tokens,
      });
      const before = s.committed[r.budget];
      s.committed[r.budget] = { nanos: (before?.nanos ?? 0) + nanos, tokens: (before?.tokens ?? 0) + tokens };
      s.budgets.push({
        budget: r.budget,
        attempt: pending.attempt,
        model: entry.model,
        outcome: 'committed',
        nanos,
        tokens,
      });
    }
    s.costNanos += nanos;
    s.usage = {
      inputTokens: s.usage.inputTokens + result.usage.inputTokens,
      outputTokens: s.usage.outputTokens + result.usage.outputTokens,
    };
    const answer: Answer = { entry, output: result.output };
    if (s.escalating !== null) {
      s.escalation = { ...escalationOf(s), outcome: 'answered' };
      return finish(s, 'served', null, settle, answer);
    }
    if (!s.downgraded) {
      for (const escalation of s.decision.chain) {
        if (escalation.role !== 'escalation' || s.tried.includes(escalation.model)) continue;
        if (escalation.condition === undefined || !evalOutputCondition(escalation.condition, result.output))
          continue;
        s.answer = answer;
        s.escalating = escalation;
        s.modelAttempts = 0;
        s.escalation = {
          from: entry.model,
          to: escalation.model,
          when: escalation.when ?? '',
          outcome: 'skipped',
        };
        return prepare(s, escalation, 0, settle);
      }
    }
    return finish(s, 'served', null, settle, answer);
  }

  for (const r of pending.reserve) {
    settle.push({ action: 'release', budget: r.budget, scopeValue: r.scopeValue, key: r.key });
    s.budgets.push({
      budget: r.budget,
      attempt: pending.attempt,
      model: entry.model,
      outcome: 'released',
      nanos: r.nanos,
      tokens: r.tokens,
    });
  }
  if (result.errorClass === 'non-retryable') {
    const why = `${entry.model} failed: ${result.message} (not retried, not failed over)`;
    if (s.escalating !== null) return escalationFailed(s, why, settle);
    return finish(s, 'failed', why, settle);
  }
  if (result.errorClass !== 'context-length' && s.modelAttempts < 1 + entry.retries) {
    let delay = backoffDelay(entry, s.modelAttempts);
    if (result.errorClass === 'retry-after' && result.retryAfterMs !== undefined) {
      delay = Math.max(delay, result.retryAfterMs);
    }
    return prepare(s, entry, delay, settle);
  }
  if (s.escalating !== null) return escalationFailed(s, `${entry.model} failed: ${result.message}`, settle);
  s.index += 1;
  s.modelAttempts = 0;
  const following = s.chain[s.index];
  if (following === undefined) {
    return finish(
      s,
      'failed',
      `all ${plural(s.attempts.length, 'attempt')} failed (${failures(s.attempts)})`,
      settle,
    );
  }
  return prepare(s, following, 0, settle);
}
