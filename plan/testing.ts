/**
 * Running one `test` block (docs/language.md §7) against a plan: simulate the request with the
 * test's `given`, then compare the result with its `expect`.
 */
import { simulate } from './simulate.js';
import type { SimulationGiven } from './simulate.js';
import type { InferenceResult } from './trace.js';
import type { Plan, TestCase } from './types.js';

export interface TestOutcome {
  name: string;
  passed: boolean;
  /** One sentence per unmet expectation; empty when passed. */
  failures: string[];
  result: InferenceResult;
}

/** A test case whose `given` may use the simulator's extensions (partial failures, rate-limit counters). */
export type SimulatedTestCase = Omit<TestCase, 'given'> & { given: SimulationGiven };

/**
 * Runs `testCase` against `plan` (which must be the plan of the test's `for` policy).
 *
 * - `expect [route R] [model M] [attempts N]`: the request is served; by route R; answered by M (the
 *   model whose answer is returned); after N attempts in all, retries included.
 * - `expect reject ["message"]`: refused before any attempt; the message, when given, equals the reason.
 * - `expect fail`: attempts were made and none produced the answer (status `failed`).
 */
export function runTest(plan: Plan, testCase: TestCase | SimulatedTestCase): TestOutcome {
  const failures: string[] = [];
  if (testCase.policy !== plan.name) {
    failures.push(`the test is for policy ${testCase.policy}, but the plan is for ${plan.name}`);
  }
  const { result } = simulate(plan, testCase.request, testCase.given);
  const expect = testCase.expect;
  switch (expect.kind) {
    case 'route-model':
      if (result.status !== 'served')
        failures.push(`expected the request to be served, but it ${outcome(result)}`);
      if (expect.route !== undefined && result.route !== expect.route) {
        failures.push(`expected route ${expect.route}, got ${result.route ?? 'no route'}`);
      }
      if (expect.model !== undefined && result.status === 'served' && result.model !== expect.model) {
        failures.push(`expected model ${expect.model}, got ${result.model ?? 'none'}`);
      }
      if (expect.attempts !== undefined && result.attempts.length !== expect.attempts) {
        failures.push(
          `expected ${expect.attempts} attempts, got ${result.attempts.length} (${attemptList(result)})`,
        );
      }
      break;
    case 'reject':
      if (result.status !== 'rejected') {
        failures.push(`expected the request to be rejected, but it ${outcome(result)}`);
      } else if (expect.message !== undefined && result.reason !== expect.message) {
        failures.push(`expected rejection "${expect.message}", got "${result.reason ?? ''}"`);
      }
      break;
    case 'fail':
      if (result.status !== 'failed')
        failures.push(`expected the request to fail, but it ${outcome(result)}`);
      break;
  }
  return { name: testCase.name, passed: failures.length === 0, failures, result };
}

/** `was served by gpt-4o (route reasoning)`, `was rejected: no route …`, `failed: all 3 attempts …`. */
function outcome(result: InferenceResult): string {
  switch (result.status) {
    case 'served':
      return `was served by ${result.model ?? '?'} (route ${result.route ?? '?'})`;
    case 'rejected':
      return `was rejected: ${result.reason ?? ''}`;
    case 'failed':
      return `failed: ${result.reason ?? ''}`;
  }
}

function attemptList(result: InferenceResult): string {
  if (result.attempts.length === 0) return 'none';
  return result.attempts
    .map((a) => `${a.model} ${a.outcome === 'answered' ? 'answered' : (a.error ?? a.outcome)}`)
    .join(', ');
}
