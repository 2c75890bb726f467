/**
 * The execution machine (docs/language.md §6 steps 8–10): retries, fail-over, escalation, deadline.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../plan/evaluator.js';
import { next, start } from '../../plan/execution.js';
import { simulate } from '../../plan/simulate.js';
import { runTest } from '../../plan/testing.js';
import type { AttemptResult, AttemptStep, Step } from '../../plan/trace.js';
import type { OutputCondition } from '../../plan/types.js';
import { capability, plan, request, route, supportPlan, TRUE } from './fixtures.js';

const chat = () => request({ capability: 'chat', team: 'support' });
const attemptSteps = (steps: Step[]) => steps.filter((s): s is AttemptStep => s.step === 'attempt');
const truncated: OutputCondition = { op: 'output', field: 'truncated' };

describe('retries', () => {
  it('each model gets 1 + retries attempts, with backoff doubling from `backoff` (200ms, 400ms)', () => {
    const { result, steps } = simulate(supportPlan(), chat(), {
      failures: { 'llama-8b': 503, 'gpt-4o': 503 },
    });
    expect(result.status).toBe('failed');
    expect(attemptSteps(steps).map((s) => [s.model, s.attemptOfModel, s.delayBeforeMs])).toEqual([
      ['llama-8b', 1, 0],
      ['llama-8b', 2, 200],
      ['llama-8b', 3, 400],
      ['gpt-4o', 1, 0],
    ]);
    expect(result.reason).toBe(
      'all 4 attempts failed (llama-8b: 503 Service Unavailable ×3; gpt-4o: 503 Service Unavailable)',
    );
    expect(result.attempts.map((a) => a.outcome)).toEqual(['error', 'error', 'error', 'error']);
    expect(result.model).toBeNull();
    expect(result.cost).toBe('0');
  });

  it('backoff defaults to 1s, ×2 per retry', () => {
    const p = plan({ routes: [route('r', TRUE, { model: 'gpt-4o', retries: 3 })] });
    const { steps } = simulate(p, request(), { failures: { 'gpt-4o': 500 } });
    expect(attemptSteps(steps).map((s) => s.delayBeforeMs)).toEqual([0, 1_000, 2_000, 4_000]);
  });

  it('retries default to 0: one attempt, then the next fallback', () => {
    const p = plan({
      routes: [route('r', TRUE, { model: 'gpt-4o' }, { fallbacks: [{ model: 'llama-8b' }] })],
    });
    const { result } = simulate(p, request(), { failures: { 'gpt-4o': 502 } });
    expect(result.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ['gpt-4o', 'error'],
      ['llama-8b', 'answered'],
    ]);
    expect(result.status).toBe('served');
  });

  it('a model that recovers is served after its retries, with the elapsed time of the delays', () => {
    const { result } = simulate(supportPlan(), chat(), {
      failures: { 'llama-8b': { error: 'connection', times: 2 } },
    });
    expect(result).toMatchObject({ status: 'served', model: 'llama-8b', elapsedMs: 600 });
    expect(result.attempts.map((a) => a.error ?? 'ok')).toEqual([
      'connection refused',
      'connection refused',
      'ok',
    ]);
  });

  it('429 honours Retry-After when it is longer than the backoff', () => {
    const { result } = simulate(supportPlan(), chat(), {
      failures: { 'llama-8b': { error: 429, times: 2, retryAfterMs: 1_500 } },
    });
    expect(result.attempts.map((a) => [a.outcome, a.delayBeforeMs])).toEqual([
      ['error', 0],
      ['error', 1_500],
      ['answered', 1_500],
    ]);
    expect(result.attempts[0]).toMatchObject({
      status: 429,
      errorClass: 'retry-after',
      error: '429 Too Many Requests',
    });
  });

  it('429 with a Retry-After shorter than the backoff waits the backoff', () => {
    const { result } = simulate(supportPlan(), chat(), {
      failures: { 'llama-8b': { error: 429, times: 2, retryAfterMs: 50 } },
    });
    expect(result.attempts.map((a) => a.delayBeforeMs)).toEqual([0, 200, 400]);
  });

  for (const status of [400, 401, 403, 422]) {
    it(`${status} fails the request: not retried, not failed over`, () => {
      const { result } = simulate(supportPlan(), chat(), { failures: { 'llama-8b': status } });
      expect(result.status).toBe('failed');
      expect(result.attempts).toHaveLength(1);
      expect(result.reason).toMatch(
        new RegExp(`^llama-8b failed: ${status}.* \\(not retried, not failed over\\)$`),
      );
    });
  }

  it('a context-length error is not retried but fails over to the next fallback', () => {
    const { result } = simulate(supportPlan(), chat(), { failures: { 'llama-8b': 'context-length' } });
    expect(result.attempts.map((a) => [a.model, a.outcome, a.errorClass ?? null])).toEqual([
      ['llama-8b', 'error', 'context-length'],
      ['gpt-4o', 'answered', null],
    ]);
    expect(result).toMatchObject({ status: 'served', model: 'gpt-4o' });
  });

  it('timeouts are retryable, recorded as outcome timeout, and take the attempt timeout', () => {
    const p = plan({
      routes: [
        route(
          'r',
          TRUE,
          { model: 'llama-8b', retries: 1, backoffMs: 100 },
          { fallbacks: [{ model: 'gpt-4o' }] },
        ),
      ],
    });
    const { result } = simulate(p, request(), { failures: { 'llama-8b': 'timeout' } });
    expect(result.attempts.map((a) => [a.model, a.outcome, a.timeoutMs, a.ms])).toEqual([
      ['llama-8b', 'timeout', 30_000, 30_000],
      ['llama-8b', 'timeout', 30_000, 30_000],
      ['gpt-4o', 'answered', 60_000, 0],
    ]);
    expect(result.attempts[0]!.error).toBe('timed out after 30s');
    expect(result.elapsedMs).toBe(60_100);
  });
});

describe('escalation', () => {
  it('happens after an answer whose output matches, and the escalated answer is the result', () => {
    const { result } = simulate(supportPlan(), chat(), { answers: { 'llama-8b': 'truncated' } });
    expect(result.attempts.map((a) => [a.model, a.role, a.outcome])).toEqual([
      ['llama-8b', 'primary', 'answered'],
      ['gpt-4o', 'escalation', 'answered'],
    ]);
    expect(result).toMatchObject({ status: 'served', model: 'gpt-4o', provider: 'openai' });
    expect(result.output?.truncated).toBe(false);
    expect(result.escalation).toEqual({
      from: 'llama-8b',
      to: 'gpt-4o',
      when: 'output.truncated or output.empty',
      outcome: 'answered',
    });
    // Both answers were paid for: 9 input tokens ("Where is my invoice?": 20 chars / 4 + 4);
    // llama answered truncated at its whole output estimate (128k - 9), gpt-4o 16 tokens.
    expect(result.usage).toEqual({ inputTokens: 18, outputTokens: 127_991 + 16 });
    expect(result.costNanos).toBe(9 * 100 + 127_991 * 200 + 9 * 2_500 + 16 * 10_000);
    expect(result.cost).toBe('0.0257816');
  });

  it('does not happen when the output does not match', () => {
    const { result } = simulate(supportPlan(), request({ capability: 'classify' }));
    expect(result.attempts.map((a) => a.model)).toEqual(['llama-8b']);
    expect(result.escalation).toBeUndefined();
    const invalid = simulate(supportPlan(), request({ capability: 'classify' }), {
      answers: { 'llama-8b': 'invalid' },
    });
    expect(invalid.result.model).toBe('gpt-4o');
  });

  it('is not a fallback: when the primary fails, the escalation target is not tried', () => {
    const p = plan({
      routes: [
        route(
          'r',
          TRUE,
          { model: 'llama-8b' },
          { escalations: [{ model: 'gpt-4o', when: truncated, whenText: 'output.truncated' }] },
        ),
      ],
    });
    const { result } = simulate(p, request(), { failures: { 'llama-8b': 503 } });
    expect(result.status).toBe('failed');
    expect(result.attempts.map((a) => a.model)).toEqual(['llama-8b']);
  });

  it('when the escalation fails, the earlier answer is returned with the failure recorded', () => {
    const { result } = simulate(supportPlan(), chat(), {
      answers: { 'llama-8b': 'empty' },
      failures: { 'gpt-4o': 500 },
    });
    expect(result).toMatchObject({ status: 'served', model: 'llama-8b', reason: null });
    expect(result.output).toMatchObject({ empty: true, tokens: 0 });
    expect(result.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ['llama-8b', 'answered'],
      ['gpt-4o', 'error'],
    ]);
    expect(result.escalation).toMatchObject({
      outcome: 'failed',
      reason: 'gpt-4o failed: 500 Internal Server Error',
    });
  });

  it('a non-retryable escalation failure also returns the earlier answer', () => {
    const { result } = simulate(supportPlan(), chat(), {
      answers: { 'llama-8b': 'truncated' },
      failures: { 'gpt-4o': 401 },
    });
    expect(result).toMatchObject({ status: 'served', model: 'llama-8b' });
    expect(result.escalation?.outcome).toBe('failed');
  });

  it('takes the first rule whose condition holds and whose target was not tried yet', () => {
    const p = plan({
      routes: [
        route(
          'r',
          TRUE,
          { model: 'gpt-4o' },
          {
            fallbacks: [],
            escalations: [
              { model: 'gpt-4o', when: truncated, whenText: 'output.truncated' },
              {
                model: 'llama-8b',
                when: { op: 'output-tokens', cmp: '>', value: 100 },
                whenText: 'output.tokens > 100',
              },
              { model: 'llama-8b', when: truncated, whenText: 'output.truncated' },
            ],
          },
        ),
      ],
    });
    const { result } = simulate(p, request({ maxTokens: 64 }), { answers: { 'gpt-4o': 'truncated' } });
    expect(result.attempts.map((a) => a.model)).toEqual(['gpt-4o', 'llama-8b']);
    expect(result.escalation?.when).toBe('output.truncated');
  });

  it('an escalation answer is final, even when it matches another rule', () => {
    const { result } = simulate(supportPlan(), chat(), {
      answers: { 'llama-8b': 'truncated', 'gpt-4o': 'truncated' },
    });
    expect(result.attempts).toHaveLength(2);
    expect(result).toMatchObject({ model: 'gpt-4o', output: { truncated: true } });
  });
});

describe('deadline', () => {
  it('caps the timeout of an attempt to what is left, and fails the request when it passes', () => {
    const { result } = simulate(supportPlan(), chat(), { failures: { 'llama-8b': 'timeout' } });
    // 5s timeout, 200ms backoff, then only 2.8s of the 8s deadline are left.
    expect(result.attempts.map((a) => [a.timeoutMs, a.delayBeforeMs, a.ms])).toEqual([
      [5_000, 0, 5_000],
      [2_800, 200, 2_800],
    ]);
    expect(result).toMatchObject({
      status: 'failed',
      reason: 'deadline 8s passed after 2 attempts',
      elapsedMs: 8_000,
    });
  });

  it('stops the chain before an attempt that could not start in time (reported ms count)', () => {
    const d = decide(supportPlan(), chat());
    let t = next(start(d));
    const reported: AttemptResult = {
      kind: 'error',
      errorClass: 'retryable',
      status: 503,
      message: '503',
      ms: 7_900,
    };
    expect(t.step).toMatchObject({ step: 'attempt', model: 'llama-8b', timeoutMs: 5_000 });
    t = next(t.state, reported);
    // 7.9s + 200ms backoff reaches the 8s deadline: no second attempt, no fallback.
    expect(t.step.step).toBe('done');
    if (t.step.step !== 'done') return;
    expect(t.step.result).toMatchObject({ status: 'failed', reason: 'deadline 8s passed after 1 attempt' });
  });

  it('an escalation that cannot start in time is skipped and the answer served', () => {
    const d = decide(supportPlan(), chat());
    let t = next(start(d));
    t = next(t.state, {
      kind: 'answered',
      output: { truncated: true, empty: false, invalid: false, tokens: 10 },
      usage: { inputTokens: 4, outputTokens: 10 },
      ms: 8_500,
    });
    expect(t.step.step).toBe('done');
    if (t.step.step !== 'done') return;
    expect(t.step.result).toMatchObject({ status: 'served', model: 'llama-8b' });
    expect(t.step.result.escalation).toMatchObject({
      outcome: 'skipped',
      reason: 'deadline 8s passed after 1 attempt',
    });
  });
});

describe('expect fail', () => {
  const testCase = {
    name: 'everything down',
    policy: 'support',
    file: 'x.policy',
    line: 1,
    request: chat(),
    given: { failures: { 'llama-8b': 503, 'gpt-4o': 'timeout' as const }, answers: {}, spent: {} },
    expect: { kind: 'fail' as const },
  };

  it('passes when every attempt failed', () => {
    expect(runTest(supportPlan(), testCase)).toMatchObject({ passed: true, failures: [] });
  });

  it('fails when the request was served, saying by whom', () => {
    const outcome = runTest(supportPlan(), { ...testCase, given: { failures: {}, answers: {}, spent: {} } });
    expect(outcome.failures).toEqual([
      'expected the request to fail, but it was served by llama-8b (route interactive)',
    ]);
  });

  it('a rejected request is not a failure', () => {
    const outcome = runTest(supportPlan(), { ...testCase, request: request({ capability: 'poetry' }) });
    expect(outcome.passed).toBe(false);
  });
});

describe('the step protocol', () => {
  it('refuses out-of-order input and repeats done', () => {
    const d = decide(plan({ routes: [route('r', capability('chat'), { model: 'llama-8b' })] }), request());
    const first = next(start(d));
    expect(() => next(first.state)).toThrow(/attempt is pending/);
    expect(() => next(start(d), { kind: 'waited', ms: 1 })).toThrow(/nothing|no attempt/);
    const answered: AttemptResult = {
      kind: 'answered',
      output: {
        truncated: false,
        empty: false,
        invalid: false,
        tokens: 3,
        content: 'hi',
        finishReason: 'stop',
      },
      usage: { inputTokens: 9, outputTokens: 3 },
      ms: 120,
      endpoint: 'http://gpu-east-1:11434',
    };
    const done = next(first.state, answered);
    expect(done.step.step).toBe('done');
    expect(next(done.state).step).toEqual({ ...done.step, settle: [] });
    if (done.step.step !== 'done') return;
    expect(done.step.result).toMatchObject({
      status: 'served',
      output: { content: 'hi', finishReason: 'stop' },
      usage: { inputTokens: 9, outputTokens: 3 },
      cost: '0.0000015',
      attempts: [{ model: 'llama-8b', endpoint: 'http://gpu-east-1:11434', outcome: 'answered', ms: 120 }],
    });
  });

  it('never mutates a state: the same state can be continued twice', () => {
    const d = decide(supportPlan(), chat());
    const first = next(start(d));
    const failed = next(first.state, { kind: 'error', errorClass: 'retryable', message: 'x', ms: 10 });
    const answered = next(first.state, {
      kind: 'answered',
      output: { truncated: false, empty: false, invalid: false, tokens: 1 },
      usage: { inputTokens: 1, outputTokens: 1 },
      ms: 10,
    });
    expect(first.state.attempts).toEqual([]);
    expect(failed.step).toMatchObject({ step: 'attempt', attemptOfModel: 2 });
    expect(answered.step.step).toBe('done');
  });

  it('a rejected decision is done at once, with no attempt', () => {
    const { result, steps } = simulate(supportPlan(), request({ capability: 'poetry' }));
    expect(steps).toHaveLength(1);
    expect(result).toMatchObject({
      status: 'rejected',
      reason: 'no route serves this capability',
      attempts: [],
      model: null,
    });
  });

  it('attempt steps carry what the activity needs', () => {
    const { steps } = simulate(supportPlan(), chat(), { failures: { 'llama-8b': 500 } });
    expect(attemptSteps(steps)[3]).toMatchObject({
      model: 'gpt-4o',
      id: 'gpt-4o-2024-08-06',
      provider: 'openai',
      queue: 'provider-openai',
      role: 'fallback',
      // 20s, capped to the 8s deadline minus the 600ms of backoff already spent.
      timeoutMs: 7_400,
      redact: ['email', 'phone', 'credit-card'],
    });
  });
});
