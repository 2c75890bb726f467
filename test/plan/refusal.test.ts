/**
 * The machine's `refused` input (the ledger refused an attempt the machine had already issued: the
 * snapshot is advisory, `reserve` and `admit` decide), `Reservation.enforce`, the decision's
 * `audit`, and wait lengths from the ledger's or the calendar's windows.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../plan/evaluator.js';
import { next, start } from '../../plan/execution.js';
import type { Transition } from '../../plan/execution.js';
import type { AttemptStep, WaitStep } from '../../plan/trace.js';
import type { BudgetPlan, Plan, RateLimitPlan } from '../../plan/types.js';
import { WAIT_MARGIN_MS, untilWindowReset, waitLength, windowEnd, windowStart } from '../../plan/windows.js';
import { plan, request, route, supportPlan, TRUE } from './fixtures.js';

const DOLLAR = 1_000_000_000;

function budget(name: string, onExceed: BudgetPlan['onExceed'], dollars = 10): BudgetPlan {
  return {
    name,
    scope: 'team',
    limits: [{ kind: 'money', amount: dollars * DOLLAR, window: 'month' }],
    onExceed,
  };
}

function rateLimit(onExceed: RateLimitPlan['onExceed'], amount = 10): RateLimitPlan {
  return {
    name: 'rl',
    scope: 'team',
    limits: [{ kind: 'requests', amount, window: 'minute' }],
    onExceed,
  };
}

/** gpt-4o first (max-tokens 500 from the request), llama-8b as fallback. */
function budgeted(more: Partial<Plan>): Plan {
  return plan({
    routes: [route('r', TRUE, { model: 'gpt-4o' }, { fallbacks: [{ model: 'llama-8b' }] })],
    ...more,
  });
}

const req = request({ inputTokens: 1_000, maxTokens: 500, team: 'support' });

function attempt(t: Transition): AttemptStep {
  expect(t.step.step).toBe('attempt');
  return t.step as AttemptStep;
}

describe('refused by the ledger', () => {
  it('reject: the request is rejected naming the budget, and nothing of the attempt stays recorded', () => {
    const d = decide(budgeted({ budgets: [budget('a', { action: 'reject' })] }), req);
    const first = next(start(d, {}));
    expect(attempt(first).reserve).toEqual([
      expect.objectContaining({ budget: 'a', key: `${req.id}#1`, enforce: true }),
    ]);
    const t = next(first.state, { kind: 'refused', budget: 'a', retryAfterMs: 5_000 });
    expect(t.step).toMatchObject({
      step: 'done',
      result: { status: 'rejected', reason: 'budget a exceeded ($10 per month)', attempts: [] },
    });
    expect(t.step.step === 'done' && t.step.result.decision.budgets).toEqual([
      expect.objectContaining({ budget: 'a', attempt: 1, outcome: 'exceeded', action: 'reject' }),
    ]);
  });

  it('downgrade: the same attempt goes to the downgrade model, the budget no longer enforced', () => {
    const d = decide(budgeted({ budgets: [budget('a', { action: 'downgrade', model: 'llama-8b' })] }), req);
    const first = next(start(d, {}));
    const t = next(first.state, { kind: 'refused', budget: 'a', snapshot: { budgets: { a: {} } } });
    const step = attempt(t);
    expect(step).toMatchObject({ attempt: 1, attemptOfModel: 1, model: 'llama-8b', role: 'downgrade' });
    // The same key: a refusal is not recorded by the ledger, so the key is reserved afresh.
    expect(step.reserve).toEqual([expect.objectContaining({ key: `${req.id}#1`, enforce: false })]);
    expect(t.state.decision.budgets).toEqual([]);
    expect(t.state.budgets.map((b) => [b.model, b.outcome, b.action ?? null])).toEqual([
      ['gpt-4o', 'exceeded', 'downgrade'],
      ['llama-8b', 'exempt', null],
    ]);
  });

  it('wait: waits as long as the ledger says the window needs, then tries the same attempt again', () => {
    const d = decide(budgeted({ budgets: [budget('a', { action: 'wait' })] }), req);
    const first = next(start(d, {}));
    const t = next(first.state, { kind: 'refused', budget: 'a', retryAfterMs: 1_500, window: 'month' });
    expect(t.step).toEqual({
      step: 'wait',
      limit: 'budget',
      name: 'a',
      window: 'month',
      maxWaitMs: null,
      retryAfterMs: 1_500,
      settle: [],
    } satisfies WaitStep);
    const again = next(t.state, { kind: 'waited', ms: 1_550 }, { budgets: { a: {} } });
    expect(attempt(again)).toMatchObject({ attempt: 1, attemptOfModel: 1, model: 'gpt-4o' });
    expect(attempt(again).reserve[0]).toMatchObject({ key: `${req.id}#1`, enforce: true });
    expect(again.state.elapsedMs).toBe(1_550);
  });

  it('a refused retry: its backoff was slept and counts; the request fails with what was tried', () => {
    const p = plan({
      budgets: [budget('a', { action: 'reject' })],
      routes: [route('r', TRUE, { model: 'gpt-4o', retries: 1, backoffMs: 200 })],
    });
    const d = decide(p, req);
    const first = next(start(d, {}));
    const retry = next(first.state, { kind: 'error', errorClass: 'retryable', message: '503', ms: 10 });
    expect(attempt(retry)).toMatchObject({ attempt: 2, delayBeforeMs: 200 });
    expect(retry.step.settle).toEqual([expect.objectContaining({ action: 'release', key: `${req.id}#1` })]);
    const t = next(retry.state, { kind: 'refused', budget: 'a' });
    expect(t.step).toMatchObject({
      step: 'done',
      result: { status: 'failed', reason: 'budget a exceeded ($10 per month)', elapsedMs: 210 },
    });
  });

  it('an escalation the ledger refuses leaves the first answer served', () => {
    const p = supportPlan();
    p.budgets = [budget('a', { action: 'reject' }, 100)];
    const d = decide(p, request({ capability: 'classify', team: 'support' }));
    const first = next(start(d, {}));
    const escalation = next(first.state, {
      kind: 'answered',
      output: { truncated: false, empty: false, invalid: true, tokens: 5, content: 'x' },
      usage: { inputTokens: 10, outputTokens: 5 },
      ms: 5,
    });
    expect(attempt(escalation)).toMatchObject({ model: 'gpt-4o', role: 'escalation' });
    const t = next(escalation.state, { kind: 'refused', budget: 'a' });
    expect(t.step).toMatchObject({
      step: 'done',
      result: {
        status: 'served',
        model: 'llama-8b',
        escalation: { outcome: 'skipped', reason: 'budget a exceeded ($100 per month)' },
      },
    });
  });

  it('a budget that may not refuse (alert, or already downgraded) stops the request instead of looping', () => {
    const d = decide(budgeted({ budgets: [budget('a', { action: 'alert' })] }), req);
    const first = next(start(d, {}));
    expect(attempt(first).reserve[0]!.enforce).toBe(false);
    const t = next(first.state, { kind: 'refused', budget: 'a' });
    expect(t.step).toMatchObject({
      step: 'done',
      result: {
        status: 'rejected',
        reason: 'the ledger refused budget a, which may not refuse this attempt',
      },
    });
  });

  it('a refusal naming a limit the decision lacks is a programming error', () => {
    const d = decide(budgeted({ budgets: [budget('a', { action: 'reject' })] }), req);
    const first = next(start(d, {}));
    expect(() => next(first.state, { kind: 'refused', budget: 'zz' })).toThrow(/budget zz/);
    expect(() => next(first.state, { kind: 'refused', rateLimit: 'zz' })).toThrow(/rate limit zz/);
  });

  it('rate limit, wait: the admission is asked for again after the wait the ledger named', () => {
    const d = decide(budgeted({ rateLimits: [rateLimit({ action: 'wait', maxWaitMs: 5_000 })] }), req);
    const first = next(start(d, {}));
    expect(attempt(first).rateLimits).toHaveLength(1);
    const t = next(first.state, { kind: 'refused', rateLimit: 'rl', retryAfterMs: 2_000, window: 'minute' });
    expect(t.step).toMatchObject({
      step: 'wait',
      limit: 'rate-limit',
      name: 'rl',
      maxWaitMs: 5_000,
      retryAfterMs: 2_000,
    });
    expect(t.state.rateLimits.map((e) => e.outcome)).toEqual(['exceeded']);
    const again = next(t.state, { kind: 'waited', ms: 2_050 }, { rateLimits: { rl: { requests: 0 } } });
    expect(attempt(again).rateLimits).toEqual([
      { rateLimit: 'rl', scopeValue: 'support', requests: 1, tokens: 1_500 },
    ]);
    expect(again.state.rateLimits.at(-1)).toMatchObject({ outcome: 'waited', waitedMs: 2_050 });
  });

  it('rate limit, wait: a window that resets after the longest wait is refused at once', () => {
    const d = decide(budgeted({ rateLimits: [rateLimit({ action: 'wait', maxWaitMs: 3_000 })] }), req);
    const t = next(next(start(d, {})).state, { kind: 'refused', rateLimit: 'rl', retryAfterMs: 40_000 });
    expect(t.step).toMatchObject({
      step: 'done',
      result: {
        status: 'rejected',
        reason:
          'rate limit rl exceeded (10 requests per minute); the window resets in 40s, after the longest wait (3s left)',
      },
    });
  });

  it('rate limit: a request larger than the limit by itself is never waited for', () => {
    const tokens: RateLimitPlan = {
      name: 'rl',
      scope: 'team',
      limits: [{ kind: 'tokens', amount: 1_000, window: 'minute' }],
      onExceed: { action: 'wait', maxWaitMs: 60_000 },
    };
    // 1,000 input + 500 max-tokens > 1,000 tokens per minute: no window will ever admit it.
    const t = next(start(decide(budgeted({ rateLimits: [tokens] }), req), {}));
    expect(t.step).toMatchObject({
      step: 'done',
      result: {
        status: 'rejected',
        reason:
          'rate limit rl exceeded (1k tokens per minute); this request alone is over the limit, no wait can admit it',
      },
    });
    // The ledger may say so too.
    const d = decide(budgeted({ rateLimits: [rateLimit({ action: 'wait', maxWaitMs: 60_000 })] }), req);
    const refused = next(next(start(d, {})).state, { kind: 'refused', rateLimit: 'rl', neverFits: true });
    expect(refused.step).toMatchObject({ step: 'done', result: { status: 'rejected' } });
  });

  it('rate limit, reject', () => {
    const d = decide(budgeted({ rateLimits: [rateLimit({ action: 'reject' })] }), req);
    const t = next(next(start(d, {})).state, { kind: 'refused', rateLimit: 'rl' });
    expect(t.step).toMatchObject({
      step: 'done',
      result: { status: 'rejected', reason: 'rate limit rl exceeded (10 requests per minute)' },
    });
  });
});

describe('no infinite wait', () => {
  it('a budget wait for an attempt larger than the limit by itself rejects', () => {
    // gpt-4o's worst case here is $0.0075; the limit is $0.005.
    const tiny: BudgetPlan = {
      name: 'tiny',
      scope: 'team',
      limits: [{ kind: 'money', amount: 5_000_000, window: 'minute' }],
      onExceed: { action: 'wait' },
    };
    const t = next(start(decide(budgeted({ budgets: [tiny] }), req), {}));
    expect(t.step).toMatchObject({
      step: 'done',
      result: {
        status: 'rejected',
        reason:
          'budget tiny exceeded ($0.005 per minute); this attempt alone is over the limit, no wait can make it fit',
      },
    });
  });

  it("the snapshot's reset time becomes the wait step's", () => {
    const d = decide(budgeted({ budgets: [budget('a', { action: 'wait' })] }), req);
    const t = next(
      start(d, {
        budgets: {
          a: { spentNanos: 10 * DOLLAR, byWindow: { month: { spentNanos: 10 * DOLLAR, resetsInMs: 42 } } },
        },
      }),
    );
    expect(t.step).toMatchObject({ step: 'wait', retryAfterMs: 42 });
  });
});

describe('wait lengths and calendar windows (UTC)', () => {
  const at = Date.UTC(2026, 1, 28, 23, 59, 58, 500); // Saturday 28 Feb 2026, 23:59:58.5

  it('windows start and end on the UTC calendar', () => {
    expect(windowStart('minute', at)).toBe(Date.UTC(2026, 1, 28, 23, 59));
    expect(windowEnd('day', at)).toBe(Date.UTC(2026, 2, 1));
    expect(windowStart('week', at)).toBe(Date.UTC(2026, 1, 23)); // Monday
    expect(windowEnd('month', at)).toBe(Date.UTC(2026, 2, 1));
    expect(untilWindowReset('minute', at)).toBe(1_500);
  });

  it("waits the ledger's figure, else until the calendar window resets, capped by maxWaitMs", () => {
    expect(waitLength({ window: 'month', maxWaitMs: null, retryAfterMs: 700 }, at)).toBe(
      700 + WAIT_MARGIN_MS,
    );
    expect(waitLength({ window: 'minute', maxWaitMs: null }, at)).toBe(1_500 + WAIT_MARGIN_MS);
    expect(waitLength({ window: 'month', maxWaitMs: null }, at)).toBe(1_500 + WAIT_MARGIN_MS);
    expect(waitLength({ window: 'hour', maxWaitMs: 300 }, at)).toBe(300);
    expect(waitLength({ window: 'hour', maxWaitMs: -5 }, at)).toBe(0);
  });
});

describe('the decision carries what the audit needs', () => {
  it("the plan's `audit prompts`", () => {
    expect(decide(supportPlan(), request({ capability: 'chat' })).audit).toEqual({ prompts: 'hashed' });
    expect(decide(plan({ routes: [route('r', TRUE, { model: 'llama-8b' })] }), request()).audit).toEqual({
      prompts: 'none',
    });
  });
});
