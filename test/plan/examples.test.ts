/**
 * The `test` blocks of examples/ (support.policy, embedded.policy), as the compiler emits them
 * (dsl/compiler/tests.ts: id `test:<slug>`, one empty user message), run against the hand-compiled
 * plans.
 */
import { describe, expect, it } from 'vitest';
import { runTest } from '../../plan/testing.js';
import type { InferenceRequest, TestCase, TestExpectation, TestGiven } from '../../plan/types.js';
import { offlinePlan, supportPlan } from './fixtures.js';

function testCase(
  policy: string,
  testName: string,
  fields: Partial<InferenceRequest>,
  expectation: TestExpectation,
  given: Partial<TestGiven> = {},
): TestCase {
  return {
    name: testName,
    policy,
    file: `${policy}.policy`,
    line: 1,
    request: {
      id: `test:${testName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`,
      policy,
      capability: '',
      messages: [{ role: 'user', content: '' }],
      ...fields,
    },
    given: { failures: {}, answers: {}, spent: {}, ...given },
    expect: expectation,
  };
}

const supportTests: TestCase[] = [
  testCase(
    'support',
    'chat stays on the local pool',
    { capability: 'chat', mode: 'interactive', team: 'support' },
    { kind: 'route-model', route: 'interactive', model: 'llama-8b' },
  ),
  testCase(
    'support',
    'falls back when the pool is down',
    { capability: 'chat', mode: 'interactive', team: 'support' },
    { kind: 'route-model', route: 'interactive', model: 'gpt-4o', attempts: 4 },
    { failures: { 'llama-8b': 503 } },
  ),
  testCase(
    'support',
    'confidential reasoning stays private',
    { capability: 'reasoning', classification: 'confidential' },
    { kind: 'route-model', model: 'llama-8b' },
  ),
  testCase(
    'support',
    'spent budget downgrades',
    { capability: 'reasoning', team: 'support' },
    { kind: 'route-model', model: 'llama-8b' },
    { spent: { 'team-monthly': 500_000_000_000 } },
  ),
  testCase(
    'support',
    'unknown capability is refused',
    { capability: 'poetry' },
    { kind: 'reject', message: 'no route serves this capability' },
  ),
];

describe('support.policy tests', () => {
  for (const test of supportTests) {
    it(test.name, () => {
      const outcome = runTest(supportPlan(), test);
      expect(outcome.failures).toEqual([]);
      expect(outcome.passed).toBe(true);
    });
  }

  it('the pool-down test really retries the pool 3 times with 200ms, 400ms backoff, then fails over', () => {
    const outcome = runTest(supportPlan(), supportTests[1]!);
    expect(outcome.result.attempts.map((a) => [a.model, a.outcome, a.delayBeforeMs])).toEqual([
      ['llama-8b', 'error', 0],
      ['llama-8b', 'error', 200],
      ['llama-8b', 'error', 400],
      ['gpt-4o', 'answered', 0],
    ]);
    expect(outcome.result.attempts[0]!.error).toBe('503 Service Unavailable');
  });

  it('the confidential test is served by the promoted fallback, gpt-4o excluded by the require rule', () => {
    const { result } = runTest(supportPlan(), supportTests[2]!);
    expect(result.route).toBe('reasoning');
    expect(result.decision.excluded).toEqual([
      {
        model: 'gpt-4o',
        role: 'primary',
        reason: 'provider openai is external',
        rule: 'require private when classification >= confidential',
      },
    ]);
    expect(result.attempts).toHaveLength(1);
  });

  it('the downgrade test never attempts gpt-4o and records the exceeded budget', () => {
    const { result } = runTest(supportPlan(), supportTests[3]!);
    expect(result.attempts.map((a) => a.model)).toEqual(['llama-8b']);
    expect(result.decision.budgets.find((b) => b.outcome === 'exceeded')).toMatchObject({
      budget: 'team-monthly',
      model: 'gpt-4o',
      action: 'downgrade',
      limit: '$500 per month',
    });
  });

  it('wrong expectations fail with a sentence each', () => {
    const wrong = {
      ...supportTests[0]!,
      expect: { kind: 'route-model', route: 'batch', model: 'gpt-4o', attempts: 2 },
    };
    const outcome = runTest(supportPlan(), wrong as TestCase);
    expect(outcome.passed).toBe(false);
    expect(outcome.failures).toEqual([
      'expected route batch, got interactive',
      'expected model gpt-4o, got llama-8b',
      'expected 2 attempts, got 1 (llama-8b answered)',
    ]);
    const reject = runTest(supportPlan(), {
      ...supportTests[4]!,
      expect: { kind: 'reject', message: 'nope' },
    });
    expect(reject.failures).toEqual(['expected rejection "nope", got "no route serves this capability"']);
    const served = runTest(supportPlan(), { ...supportTests[0]!, expect: { kind: 'reject' } });
    expect(served.failures).toEqual([
      'expected the request to be rejected, but it was served by llama-8b (route interactive)',
    ]);
  });
});

describe('embedded.policy test', () => {
  it('everything stays on the box', () => {
    const outcome = runTest(
      offlinePlan(),
      testCase(
        'offline',
        'everything stays on the box',
        { capability: 'chat', classification: 'restricted' },
        { kind: 'route-model', route: 'local', model: 'tiny-stories' },
      ),
    );
    expect(outcome.failures).toEqual([]);
    expect(outcome.result.cost).toBe('0');
    expect(outcome.result.attempts[0]).toMatchObject({ model: 'tiny-stories', timeoutMs: 10_000 });
  });
});
