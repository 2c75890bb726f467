/**
 * `execution durable | direct` compiled (docs/language.md §4.9): each route of the
 * plan carries its effective mode, the plan validates, and the decision and attempt steps carry
 * what the front door needs (the mode; what buffers a stream).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validatePlan } from '../../dsl/compiler/index.js';
import { decide } from '../../plan/evaluator.js';
import { simulate } from '../../plan/simulate.js';
import type { AttemptStep } from '../../plan/trace.js';
import type { InferenceRequest } from '../../plan/types.js';
import { CATALOG, compileOne, tempTree } from './helpers.js';

const policyFile = (policy: string): string =>
  path.join(tempTree({ 'p.policy': `${CATALOG}\n${policy}` }), 'p.policy');

const request = (fields: Partial<InferenceRequest>): InferenceRequest => ({
  id: 'r-1',
  policy: 'p',
  capability: 'chat',
  messages: [{ role: 'user', content: 'hello' }],
  ...fields,
});

describe('execution in the plan', () => {
  it("each route carries its own mode, else its policy's, else durable", async () => {
    const inherits = await compileOne(
      policyFile(`policy p {
  execution direct
  route own when capability == "classify" { use small execution durable }
  route inherited when capability == "chat" { use small }
  otherwise reject
}`),
      'p',
    );
    expect(inherits.routes.map((r) => [r.name, r.execution])).toEqual([
      ['own', 'durable'],
      ['inherited', 'direct'],
    ]);
    expect(validatePlan(inherits)).toEqual({ ok: true, errors: [] });

    const plain = await compileOne(
      policyFile(`policy p {
  route chat when capability == "chat" { use small }
  route fast when capability == "classify" { use small execution direct }
}`),
      'p',
    );
    expect(plain.routes.map((r) => [r.name, r.execution])).toEqual([
      ['chat', 'durable'],
      ['fast', 'direct'],
    ]);
  });

  it('does not reserve its words: a route may be named direct, a policy execution', async () => {
    const plan = await compileOne(
      policyFile(`policy execution {
  route direct when true { use small execution direct }
  route durable when true { use small }
}`),
      'execution',
    );
    expect(plan.routes.map((r) => [r.name, r.execution])).toEqual([
      ['direct', 'direct'],
      ['durable', 'durable'],
    ]);
  });

  it('is part of the hash: changing the mode changes the plan', async () => {
    const source = (mode: string) => `policy p {
  route chat when true { use small execution ${mode} }
}`;
    const durable = await compileOne(policyFile(source('durable')), 'p');
    const direct = await compileOne(policyFile(source('direct')), 'p');
    const absent = await compileOne(policyFile(`policy p {\n  route chat when true { use small }\n}`), 'p');
    expect(direct.hash).not.toBe(durable.hash);
    // Saying the default is the same plan as saying nothing.
    expect(absent.hash).toBe(durable.hash);
  });

  it('a plan whose route lacks execution, or has another word, is refused by the schema', async () => {
    const plan = await compileOne(policyFile(`policy p {\n  route chat when true { use small }\n}`), 'p');
    const { execution: _, ...withoutMode } = plan.routes[0]!;
    expect(validatePlan({ ...plan, routes: [withoutMode] }).ok).toBe(false);
    expect(validatePlan({ ...plan, routes: [{ ...plan.routes[0]!, execution: 'eager' }] }).ok).toBe(false);
  });
});

describe('what the front door reads from a compiled plan', () => {
  const source = `policy p {
  execution direct
  guard shape after route structured { block /password/ "no passwords" }
  route structured when capability == "classify" { use small }
  route chat when capability == "chat" {
    use small
    escalate big when output.truncated
  }
  otherwise reject
}`;

  it('the decision carries the route mode; null when no route is chosen', async () => {
    const plan = await compileOne(policyFile(source), 'p');
    expect(decide(plan, request({ capability: 'chat' })).execution).toBe('direct');
    expect(decide(plan, request({ capability: 'poetry' })).execution).toBeNull();
  });

  it('each attempt step names the after guard or escalation rule that buffers it', async () => {
    const plan = await compileOne(policyFile(source), 'p');
    const steps = (fields: Partial<InferenceRequest>, answers = {}) =>
      simulate(plan, request(fields), { answers })
        .steps.filter((s): s is AttemptStep => s.step === 'attempt')
        .map((s) => `${s.model}: ${s.bufferedBy}`);
    expect(steps({ capability: 'classify' })).toEqual(['small: guard shape']);
    expect(steps({ capability: 'chat' }, { small: 'truncated' })).toEqual([
      'small: escalate big when output.truncated',
      'big: null',
    ]);
  });
});
