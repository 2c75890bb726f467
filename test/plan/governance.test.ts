/**
 * Budgets and rate limits (docs/language.md §4.2–4.3, §6): worst case, reserve/commit/release,
 * on-exceed.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../plan/evaluator.js';
import { next, start } from '../../plan/execution.js';
import { outputEstimate, attemptWorstCost } from '../../plan/governance.js';
import { simulate } from '../../plan/simulate.js';
import type { AttemptStep, DoneStep, Step } from '../../plan/trace.js';
import type { BudgetPlan, Plan } from '../../plan/types.js';
import { plan, request, route, supportPlan, TRUE } from './fixtures.js';

const DOLLAR = 1_000_000_000;
const attempts = (steps: Step[]) => steps.filter((s): s is AttemptStep => s.step === 'attempt');

function budget(name: string, onExceed: BudgetPlan['onExceed'], dollars = 10): BudgetPlan {
  return {
    name,
    scope: 'team',
    limits: [{ kind: 'money', amount: dollars * DOLLAR, window: 'month' }],
    onExceed,
  };
}

/** gpt-4o first, llama-8b as fallback, with the given budgets. */
function budgeted(...budgets: BudgetPlan[]): Plan {
  return plan({
    budgets,
    routes: [route('r', TRUE, { model: 'gpt-4o' }, { fallbacks: [{ model: 'llama-8b' }] })],
  });
}

describe('worst-case cost', () => {
  it('is input × input price + max-tokens × output price, in exact nano-dollars', () => {
    const d = decide(budgeted(), request({ inputTokens: 1_000, maxTokens: 500 }));
    // $0.0025/1k × 1000 + $0.01/1k × 500 = $0.0025 + $0.005
    expect(attemptWorstCost(d.chain[0]!, d.inputTokens)).toEqual({
      nanos: 7_500_000,
      tokens: 1_500,
      outputTokens: 500,
    });
  });

  it('without max-tokens, reserves the rest of the context', () => {
    const d = decide(budgeted(), request({ inputTokens: 1_000 }));
    expect(outputEstimate(d.chain[0]!, 1_000)).toBe(127_000);
    expect(attemptWorstCost(d.chain[0]!, 1_000).nanos).toBe(2_500_000 + 1_270_000_000);
    // Never below 0 when the input is larger than the context.
    expect(outputEstimate(d.chain[0]!, 200_000)).toBe(0);
  });

  it('rounds each part up to the next nano-dollar', () => {
    const cheap: Plan = budgeted();
    cheap.models = {
      ...cheap.models,
      'gpt-4o': {
        ...cheap.models['gpt-4o']!,
        price: { input: { nanos: 1, perTokens: 1_000 }, output: { nanos: 3, perTokens: 7 } },
      },
    };
    const d = decide(cheap, request({ inputTokens: 1, maxTokens: 1 }));
    // 1 × 1/1000 → 1 nano; 1 × 3/7 → 1 nano.
    expect(attemptWorstCost(d.chain[0]!, 1).nanos).toBe(2);
    expect(attemptWorstCost(d.chain[0]!, 1001).nanos).toBe(2 + 1);
  });

  it('a model without a context and without max-tokens reserves no output', () => {
    const p = budgeted();
    p.models = { ...p.models, 'gpt-4o': { ...p.models['gpt-4o']!, context: null } };
    const d = decide(p, request({ inputTokens: 10 }));
    expect(attemptWorstCost(d.chain[0]!, 10)).toEqual({ nanos: 25_000, tokens: 10, outputTokens: 0 });
  });

  it('is what the attempt step reserves against every budget, keyed by request and attempt; alert budgets are not enforced', () => {
    const r = request({ inputTokens: 1_000, maxTokens: 500, team: 'support' });
    const { steps } = simulate(
      budgeted(budget('a', { action: 'reject' }), budget('b', { action: 'alert' })),
      r,
    );
    expect(attempts(steps)[0]!.reserve).toEqual([
      {
        budget: 'a',
        scopeValue: 'support',
        key: `${r.id}#1`,
        nanos: 7_500_000,
        tokens: 1_500,
        enforce: true,
      },
      {
        budget: 'b',
        scopeValue: 'support',
        key: `${r.id}#1`,
        nanos: 7_500_000,
        tokens: 1_500,
        enforce: false,
      },
    ]);
  });
});

describe('reserve, commit, release', () => {
  it('releases a failed attempt, commits an answered one at its actual cost, never twice', () => {
    const r = request({ inputTokens: 1_000, maxTokens: 500 });
    const p = plan({
      budgets: [budget('a', { action: 'reject' })],
      routes: [route('r', TRUE, { model: 'gpt-4o', retries: 1, backoffMs: 10 })],
    });
    const { steps, result } = simulate(p, r, { failures: { 'gpt-4o': { error: 503, times: 1 } } });
    expect(steps.map((s) => [s.step, s.settle.map((x) => `${x.action} ${x.key}`)])).toEqual([
      ['attempt', []],
      ['attempt', [`release ${r.id}#1`]],
      ['done', [`commit ${r.id}#2`]],
    ]);
    // 1000 in × $0.0025/1k + 16 out × $0.01/1k
    const commit = (steps[2] as DoneStep).settle[0]!;
    expect(commit).toMatchObject({ nanos: 2_500_000 + 160_000, tokens: 1_016 });
    expect(result.cost).toBe('0.00266');
    expect(result.decision.budgets.map((b) => [b.attempt, b.outcome])).toEqual([
      [1, 'reserved'],
      [1, 'released'],
      [2, 'reserved'],
      [2, 'committed'],
    ]);
  });
});

describe('budgets on-exceed', () => {
  it('exceeds only when spent + reserved + the reservation is above the limit', () => {
    const p = budgeted(budget('a', { action: 'reject' }));
    const r = request({ inputTokens: 1_000, maxTokens: 500 });
    const fits = { budgets: { a: { spentNanos: 10 * DOLLAR - 7_500_000 - 100, reservedNanos: 100 } } };
    expect(next(start(decide(p, r), fits)).step.step).toBe('attempt');
    const over = { budgets: { a: { spentNanos: 10 * DOLLAR - 7_500_000, reservedNanos: 1 } } };
    expect(next(start(decide(p, r), over)).step).toMatchObject({
      step: 'done',
      result: { status: 'rejected', reason: 'budget a exceeded ($10 per month)', attempts: [] },
    });
  });

  it('reject: refused before any attempt, the budget named', () => {
    const { result } = simulate(budgeted(budget('a', { action: 'reject' })), request(), {
      spent: { a: 10 * DOLLAR },
    });
    expect(result).toMatchObject({ status: 'rejected', reason: 'budget a exceeded ($10 per month)' });
    expect(result.decision.budgets).toEqual([
      expect.objectContaining({ budget: 'a', outcome: 'exceeded', action: 'reject', model: 'gpt-4o' }),
    ]);
  });

  it('token limits count input + output estimate', () => {
    const tokens: BudgetPlan = {
      name: 't',
      scope: 'policy',
      limits: [{ kind: 'tokens', amount: 1_000, window: 'day' }],
      onExceed: { action: 'reject' },
    };
    const p = budgeted(tokens);
    expect(simulate(p, request({ inputTokens: 500, maxTokens: 500 })).result.status).toBe('served');
    expect(simulate(p, request({ inputTokens: 500, maxTokens: 501 })).result.reason).toBe(
      'budget t exceeded (1k tokens per day)',
    );
  });

  it('downgrade: the request continues on the downgrade model alone', () => {
    const p = budgeted(budget('a', { action: 'downgrade', model: 'llama-8b' }));
    // gpt-4o's worst case ($1.27) does not fit in the $1 left; llama-8b's ($0.03) would.
    const { result } = simulate(p, request({ team: 'support' }), { spent: { a: 9 * DOLLAR } });
    expect(result).toMatchObject({ status: 'served', model: 'llama-8b' });
    expect(result.attempts.map((a) => [a.model, a.role])).toEqual([['llama-8b', 'downgrade']]);
  });

  it('downgrade: the budget charges the downgrade model but does not refuse it', () => {
    const p = budgeted(budget('a', { action: 'downgrade', model: 'llama-8b' }));
    const { result, steps } = simulate(p, request(), { spent: { a: 10 * DOLLAR } });
    expect(result).toMatchObject({ status: 'served', model: 'llama-8b' });
    expect(attempts(steps)[0]!.reserve.map((r) => r.budget)).toEqual(['a']);
    expect(result.decision.budgets.map((b) => [b.model, b.outcome, b.action ?? null])).toEqual([
      ['gpt-4o', 'exceeded', 'downgrade'],
      ['llama-8b', 'exempt', null],
      ['llama-8b', 'committed', null],
    ]);
  });

  it('downgrade: other budgets still apply to the downgrade model', () => {
    const p = budgeted(
      budget('a', { action: 'downgrade', model: 'llama-8b' }),
      budget('b', { action: 'reject' }, 20),
    );
    const { result } = simulate(p, request(), { spent: { a: 10 * DOLLAR, b: 20 * DOLLAR } });
    expect(result).toMatchObject({ status: 'rejected', reason: 'budget b exceeded ($20 per month)' });
  });

  it('downgrade: a target removed by require cannot be used, and the request is refused', () => {
    const p = budgeted(budget('a', { action: 'downgrade', model: 'gpt-4o' }));
    p.requires = [{ text: 'require private', when: null, kind: 'private' }];
    p.routes = [route('r', TRUE, { model: 'llama-8b' })];
    const { result } = simulate(p, request(), { spent: { a: 10 * DOLLAR } });
    expect(result.status).toBe('rejected');
    expect(result.reason).toBe(
      'budget a exceeded ($10 per month); cannot downgrade to gpt-4o: provider openai is external (require private)',
    );
  });

  it('alert: proceeds and records the alert once', () => {
    const p = plan({
      budgets: [budget('a', { action: 'alert' })],
      routes: [route('r', TRUE, { model: 'gpt-4o', retries: 2, backoffMs: 1 })],
    });
    const { result } = simulate(p, request(), {
      spent: { a: 10 * DOLLAR },
      failures: { 'gpt-4o': { error: 500, times: 2 } },
    });
    expect(result).toMatchObject({ status: 'served', model: 'gpt-4o' });
    expect(result.attempts).toHaveLength(3);
    expect(result.decision.budgets.filter((b) => b.outcome === 'exceeded')).toEqual([
      expect.objectContaining({ budget: 'a', action: 'alert', attempt: 1 }),
    ]);
  });

  it('wait without a deadline: parks until the window resets, then proceeds', () => {
    const { result, steps } = simulate(budgeted(budget('a', { action: 'wait' })), request(), {
      spent: { a: 10 * DOLLAR },
    });
    expect(steps[0]).toEqual({
      step: 'wait',
      limit: 'budget',
      name: 'a',
      window: 'month',
      maxWaitMs: null,
      settle: [],
    });
    expect(result).toMatchObject({ status: 'served', model: 'gpt-4o', elapsedMs: 30 * 86_400_000 });
  });

  it('wait with a deadline: refused when the window cannot reset before it', () => {
    const p = budgeted(budget('a', { action: 'wait' }));
    p.routes = [route('r', TRUE, { model: 'gpt-4o' }, { deadlineMs: 5_000 })];
    const { result, steps } = simulate(p, request(), { spent: { a: 10 * DOLLAR } });
    expect(steps[0]).toMatchObject({ step: 'wait', maxWaitMs: 5_000 });
    expect(result).toMatchObject({
      status: 'rejected',
      reason: 'deadline 5s passed before any attempt while waiting: budget a exceeded ($10 per month)',
    });
  });

  it('what the request committed counts: an escalation the budget refuses leaves the first answer served', () => {
    const p = supportPlan();
    p.budgets = [budget('a', { action: 'reject' }, 1)];
    const { result } = simulate(p, request({ capability: 'classify' }), {
      answers: { 'llama-8b': 'invalid' },
    });
    expect(result).toMatchObject({ status: 'served', model: 'llama-8b' });
    expect(result.escalation).toMatchObject({
      outcome: 'skipped',
      reason: 'budget a exceeded ($1 per month)',
    });
    expect(result.attempts).toHaveLength(1);
  });

  it('per-window counters are used when the snapshot has them', () => {
    const p = supportPlan();
    const r = request({ capability: 'reasoning', team: 'support' });
    const snapshot = {
      budgets: { 'team-monthly': { spentNanos: 0, byWindow: { day: { spentTokens: 19_900_000 } } } },
    };
    const t = next(start(decide(p, r), snapshot));
    // 20M tokens per day: 19.9M spent + gpt-4o's 128k worst case exceeds → downgrade to llama-8b.
    expect(t.step).toMatchObject({ step: 'attempt', model: 'llama-8b', role: 'downgrade' });
  });
});

describe('rate limits', () => {
  it('reject: a full window refuses the request', () => {
    const p = plan({
      rateLimits: [
        {
          name: 'rl',
          scope: 'user',
          limits: [{ kind: 'requests', amount: 60, window: 'minute' }],
          onExceed: { action: 'reject' },
        },
      ],
      routes: [route('r', TRUE, { model: 'llama-8b' })],
    });
    expect(simulate(p, request(), { rateLimits: { rl: { requests: 59 } } }).result.status).toBe('served');
    const { result } = simulate(p, request(), { rateLimits: { rl: { requests: 60 } } });
    expect(result).toMatchObject({
      status: 'rejected',
      reason: 'rate limit rl exceeded (60 requests per minute)',
    });
    expect(result.decision.rateLimits).toEqual([
      {
        rateLimit: 'rl',
        outcome: 'exceeded',
        action: 'reject',
        requests: 1,
        tokens: 9,
        limit: '60 requests per minute',
      },
    ]);
  });

  it('is consumed once per request, not per retry', () => {
    const p = plan({
      rateLimits: [
        {
          name: 'rl',
          scope: 'policy',
          limits: [{ kind: 'requests', amount: 1, window: 'minute' }],
          onExceed: { action: 'reject' },
        },
      ],
      routes: [route('r', TRUE, { model: 'llama-8b', retries: 2, backoffMs: 1 })],
    });
    const { result, steps } = simulate(p, request(), { failures: { 'llama-8b': { error: 503, times: 2 } } });
    expect(result.status).toBe('served');
    expect(attempts(steps).map((s) => s.rateLimits.length)).toEqual([1, 0, 0]);
  });

  it('wait: waits at most its duration, then rejects', () => {
    const { result, steps } = simulate(supportPlan(), request({ capability: 'reasoning', team: 'support' }), {
      rateLimits: { 'rate-limit-1': { requests: 600 } },
    });
    expect(steps[0]).toMatchObject({
      step: 'wait',
      limit: 'rate-limit',
      maxWaitMs: 30_000,
      window: 'minute',
    });
    expect(result).toMatchObject({
      status: 'rejected',
      reason: 'rate limit rate-limit-1 exceeded (600 requests per minute); waited 30s',
      elapsedMs: 30_000,
    });
  });

  it('wait: proceeds when the window resets within the wait', () => {
    const p = supportPlan();
    p.rateLimits = [{ ...p.rateLimits[0]!, onExceed: { action: 'wait', maxWaitMs: 120_000 } }];
    const { result } = simulate(p, request({ capability: 'reasoning', team: 'support' }), {
      rateLimits: { 'rate-limit-1': { tokens: 199_999 } },
    });
    expect(result).toMatchObject({ status: 'served', model: 'gpt-4o', elapsedMs: 60_000 });
    expect(result.decision.rateLimits.at(-1)).toMatchObject({ outcome: 'waited', waitedMs: 60_000 });
  });

  it('wait is bounded by the deadline', () => {
    const { result, steps } = simulate(supportPlan(), request({ capability: 'chat', team: 'support' }), {
      rateLimits: { 'rate-limit-1': { requests: 600 } },
    });
    expect(steps[0]).toMatchObject({ step: 'wait', maxWaitMs: 8_000 });
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(
      /^deadline 8s passed before any attempt while waiting: rate limit rate-limit-1 exceeded/,
    );
  });
});
