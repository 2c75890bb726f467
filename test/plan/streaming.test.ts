/**
 * What buffers a streamed attempt (docs/language.md §6.4): an `after` guard on it, or an
 * escalation rule its answer is checked against; the decision carries the route's execution mode.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../plan/evaluator.js';
import { simulate } from '../../plan/simulate.js';
import { bufferingOf } from '../../plan/streaming.js';
import type { AttemptStep, Step } from '../../plan/trace.js';
import { plan, request, route, supportPlan, TRUE } from './fixtures.js';

const attempts = (steps: Step[]) =>
  steps.filter((s): s is AttemptStep => s.step === 'attempt').map((s) => [s.model, s.role, s.bufferedBy]);

describe('the decision', () => {
  it("carries the chosen route's execution mode", () => {
    expect(decide(supportPlan(), request({ capability: 'chat', mode: 'interactive' })).execution).toBe(
      'direct',
    );
    expect(decide(supportPlan(), request({ capability: 'reasoning' })).execution).toBe('durable');
  });

  it('carries null when no route was chosen', () => {
    const d = decide(supportPlan(), request({ capability: 'poetry' }));
    expect(d).toMatchObject({ status: 'rejected', route: null, execution: null });
  });
});

describe('bufferedBy on attempt steps', () => {
  it('an after guard buffers every attempt it checks, escalations included', () => {
    const { steps, result } = simulate(supportPlan(), request({ capability: 'classify' }), {
      answers: { 'llama-8b': 'invalid' },
    });
    expect(result.status).toBe('served');
    expect(attempts(steps)).toEqual([
      ['llama-8b', 'primary', 'guard ticket-shape'],
      ['gpt-4o', 'escalation', 'guard ticket-shape'],
    ]);
  });

  it('an escalation rule buffers the answers it judges, not its own (an escalated answer is final)', () => {
    const { steps } = simulate(supportPlan(), request({ capability: 'chat', mode: 'interactive' }), {
      answers: { 'llama-8b': 'truncated' },
    });
    expect(attempts(steps)).toEqual([
      ['llama-8b', 'primary', 'escalate gpt-4o when output.truncated or output.empty'],
      ['gpt-4o', 'escalation', null],
    ]);
  });

  it('a fallback that is the escalation target streams: the rule cannot run after it', () => {
    const { steps } = simulate(supportPlan(), request({ capability: 'chat', mode: 'interactive' }), {
      failures: { 'llama-8b': 503 },
    });
    expect(attempts(steps).at(-1)).toEqual(['gpt-4o', 'fallback', null]);
  });

  it('nothing buffers a route without after guards or escalations', () => {
    const { steps } = simulate(supportPlan(), request({ capability: 'reasoning' }));
    expect(attempts(steps)).toEqual([['gpt-4o', 'primary', null]]);
  });

  it('after a budget downgrade no escalation runs, so none buffers', () => {
    const p = plan({
      budgets: [
        {
          name: 'b',
          scope: 'policy',
          limits: [{ kind: 'money', amount: 1, window: 'day' }],
          onExceed: { action: 'downgrade', model: 'llama-8b' },
        },
      ],
      routes: [
        route(
          'r',
          TRUE,
          { model: 'gpt-4o' },
          {
            escalations: [
              { model: 'llama-8b', when: { op: 'output', field: 'empty' }, whenText: 'output.empty' },
            ],
          },
        ),
      ],
    });
    const { steps } = simulate(p, request(), { spent: { b: 1 } });
    expect(attempts(steps)).toEqual([['llama-8b', 'downgrade', null]]);
  });
});

describe('bufferingOf (what explain shows)', () => {
  it('lists each chain entry with what buffers it', () => {
    const d = decide(supportPlan(), request({ capability: 'chat', mode: 'interactive', team: 'support' }));
    expect(bufferingOf(d)).toEqual([
      {
        model: 'llama-8b',
        role: 'primary',
        bufferedBy: 'escalate gpt-4o when output.truncated or output.empty',
      },
      { model: 'gpt-4o', role: 'fallback', bufferedBy: null },
      { model: 'gpt-4o', role: 'escalation', bufferedBy: null },
      { model: 'llama-8b', role: 'downgrade', bufferedBy: null },
    ]);
  });
});
