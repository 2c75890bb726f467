/** `decide` (docs/language.md §6 steps 1–6): route choice, chain, `require`, `before` guards. */
import { describe, expect, it } from 'vitest';
import { decide } from '../../plan/evaluator.js';
import type { GuardPlan, Plan, ProviderPlan } from '../../plan/types.js';
import {
  capability,
  eq,
  gpuEast,
  name,
  openai,
  piiGuard,
  plan,
  request,
  route,
  secretsGuard,
  str,
  supportPlan,
  TRUE,
} from './fixtures.js';

describe('route choice', () => {
  it('chooses the first route whose condition holds, not the most specific', () => {
    const p = plan({
      routes: [
        route('any-chat', capability('chat'), { model: 'llama-8b' }),
        route(
          'support-chat',
          { op: 'and', args: [capability('chat'), eq('team', str('support'))] },
          { model: 'gpt-4o' },
        ),
      ],
    });
    const d = decide(p, request({ team: 'support' }));
    expect(d.route).toBe('any-chat');
    expect(d.via).toBe('when');
    expect(d.matched).toBe('capability == "chat"');
    expect(d.chain.map((c) => c.model)).toEqual(['llama-8b']);
  });

  it('skips routes that do not match and uses whenText when the plan has it', () => {
    const d = decide(supportPlan(), request({ capability: 'reasoning' }));
    expect(d.route).toBe('reasoning');
    expect(d.matched).toBe('capability == "reasoning"');
    expect(d.status).toBe('planned');
  });

  it('mode defaults to interactive, so a bare chat request takes the interactive route', () => {
    expect(decide(supportPlan(), request({ capability: 'chat' })).route).toBe('interactive');
    expect(decide(supportPlan(), request({ capability: 'chat', mode: 'batch' })).route).toBe('batch');
  });

  it('otherwise reject: the message is the reason', () => {
    const d = decide(supportPlan(), request({ capability: 'poetry' }));
    expect(d).toMatchObject({
      status: 'rejected',
      route: null,
      reason: 'no route serves this capability',
      rule: 'otherwise',
      chain: [],
    });
  });

  it('otherwise reject without a message, or no otherwise at all, uses the default reason', () => {
    const routes = [route('chat', capability('chat'), { model: 'llama-8b' })];
    for (const otherwise of [null, { kind: 'reject' as const, message: null }]) {
      const d = decide(plan({ routes, otherwise }), request({ capability: 'poetry' }));
      expect(d.status).toBe('rejected');
      expect(d.reason).toBe('no route matches this request');
    }
  });

  it('otherwise route R uses R after every route failed', () => {
    const p = plan({
      routes: [
        route('chat', capability('chat'), { model: 'llama-8b' }),
        route('rest', eq('team', str('x')), { model: 'gpt-4o' }),
      ],
      otherwise: { kind: 'route', route: 'rest' },
    });
    const d = decide(p, request({ capability: 'poetry' }));
    expect(d).toMatchObject({ status: 'planned', route: 'rest', via: 'otherwise', matched: null });
    expect(d.chain[0]).toMatchObject({ model: 'gpt-4o', role: 'primary' });
  });
});

describe('the candidate chain', () => {
  it('is primary, fallbacks, escalations with call options resolved (docs/language.md §4.6 defaults)', () => {
    const d = decide(supportPlan(), request({ capability: 'chat', maxTokens: 300 }));
    expect(d.chain.map((c) => [c.model, c.role, c.timeoutMs, c.retries, c.backoffMs, c.maxTokens])).toEqual([
      ['llama-8b', 'primary', 5_000, 2, 200, 300],
      ['gpt-4o', 'fallback', 20_000, 0, 1_000, 300],
      ['gpt-4o', 'escalation', 60_000, 0, 1_000, 300],
    ]);
    expect(d.chain[2]!.when).toBe('output.truncated or output.empty');
    expect(d.deadlineMs).toBe(8_000);
  });

  it('timeout defaults to the provider timeout, then 60s; max-tokens to the route option, then the request', () => {
    const d = decide(supportPlan(), request({ capability: 'reasoning', maxTokens: 99 }));
    expect(d.chain.map((c) => [c.model, c.timeoutMs, c.maxTokens])).toEqual([
      ['gpt-4o', 60_000, 99],
      ['llama-8b', 30_000, 99],
    ]);
    const triage = decide(supportPlan(), request({ capability: 'classify', maxTokens: 99 }));
    expect(triage.chain[0]!.maxTokens).toBe(256);
  });

  it('is plain JSON', () => {
    const d = decide(supportPlan(), request({ capability: 'chat' }));
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });
});

describe('require', () => {
  const regional: ProviderPlan = { ...openai, name: 'openai-eu', region: 'eu' };

  it('require private removes an external primary and promotes the first remaining fallback', () => {
    const d = decide(supportPlan(), request({ capability: 'reasoning', classification: 'restricted' }));
    expect(d.chain.map((c) => [c.model, c.role])).toEqual([['llama-8b', 'primary']]);
    expect(d.chain[0]!.promotedFrom).toBe('fallback');
    expect(d.excluded).toEqual([
      {
        model: 'gpt-4o',
        role: 'primary',
        reason: 'provider openai is external',
        rule: 'require private when classification >= confidential',
      },
    ]);
  });

  it('does nothing when its condition does not hold', () => {
    const d = decide(supportPlan(), request({ capability: 'reasoning', classification: 'internal' }));
    expect(d.chain.map((c) => c.model)).toEqual(['gpt-4o', 'llama-8b']);
    expect(d.excluded).toEqual([]);
  });

  it('removes escalation targets too', () => {
    const d = decide(supportPlan(), request({ capability: 'classify', classification: 'confidential' }));
    expect(d.chain.map((c) => c.model)).toEqual(['llama-8b']);
    expect(d.excluded).toEqual([expect.objectContaining({ model: 'gpt-4o', role: 'escalation' })]);
  });

  it('an empty chain rejects the request and names the rule', () => {
    const p = plan({
      requires: [{ text: 'require private', when: null, kind: 'private' }],
      routes: [route('cloud', TRUE, { model: 'gpt-4o' })],
    });
    const d = decide(p, request());
    expect(d.status).toBe('rejected');
    expect(d.rule).toBe('require private');
    expect(d.reason).toBe('no model left for route cloud: removed gpt-4o by require private');
  });

  it('require region removes models whose provider is elsewhere or has no region', () => {
    const p = plan({
      providers: { 'gpu-east': gpuEast, openai, 'openai-eu': regional },
      models: {
        'llama-8b': { ...supportPlan().models['llama-8b']! },
        'gpt-4o': { ...supportPlan().models['gpt-4o']! },
        'gpt-eu': { ...supportPlan().models['gpt-4o']!, name: 'gpt-eu', provider: 'openai-eu' },
      },
      requires: [
        {
          text: 'require region "eu" when region == "eu"',
          when: eq('region', str('eu')),
          kind: 'region',
          region: 'eu',
        },
      ],
      routes: [route('r', TRUE, { model: 'llama-8b' }, { fallbacks: [{ model: 'gpt-eu' }] })],
    });
    const eu = decide(p, request({ region: 'eu' }));
    expect(eu.chain.map((c) => c.model)).toEqual(['gpt-eu']);
    expect(eu.excluded[0]).toMatchObject({
      model: 'llama-8b',
      reason: 'provider gpu-east has no region, not "eu"',
    });
    const us = decide(p, request({ region: 'us' }));
    expect(us.chain.map((c) => c.model)).toEqual(['llama-8b', 'gpt-eu']);
  });
});

describe('before guards', () => {
  const key = 'here it is: -----BEGIN RSA PRIVATE KEY----- abc';

  it('a block on all rejects the request with the guard message', () => {
    const d = decide(supportPlan(), request({ messages: [{ role: 'user', content: key }] }));
    expect(d).toMatchObject({
      status: 'rejected',
      reason: 'private keys must not be sent to a model',
      rule: 'guard secrets',
    });
    expect(d.guards).toEqual([
      expect.objectContaining({ guard: 'secrets', action: 'block', outcome: 'rejected' }),
    ]);
  });

  it('max-input on all rejects an input that is too long', () => {
    const d = decide(supportPlan(), request({ inputTokens: 40_000 }));
    expect(d.status).toBe('rejected');
    expect(d.reason).toBe('input of 40000 tokens exceeds max-input 32k (guard secrets)');
    expect(decide(supportPlan(), request({ inputTokens: 32_000 })).status).toBe('planned');
  });

  it('a block on the chosen route rejects; on another route it does not apply', () => {
    const guard: GuardPlan = {
      ...secretsGuard,
      name: 'no-keys',
      target: { kind: 'route', route: 'interactive' },
    };
    const p = { ...supportPlan(), guards: [guard] };
    const content = [{ role: 'user' as const, content: key }];
    expect(decide(p, request({ capability: 'chat', messages: content })).status).toBe('rejected');
    expect(decide(p, request({ capability: 'reasoning', messages: content })).status).toBe('planned');
  });

  it('a block on external removes the external models and keeps the private ones', () => {
    const guard: GuardPlan = {
      ...secretsGuard,
      name: 'no-tickets-out',
      target: { kind: 'external' },
      blocks: [{ pattern: 'ticket\\s+\\d+', flags: 'i', message: null }],
      maxInput: null,
    };
    const p: Plan = { ...supportPlan(), guards: [guard] };
    const d = decide(
      p,
      request({ capability: 'reasoning', messages: [{ role: 'user', content: 'About TICKET 42' }] }),
    );
    expect(d.status).toBe('planned');
    expect(d.chain.map((c) => [c.model, c.role])).toEqual([['llama-8b', 'primary']]);
    expect(d.excluded).toEqual([
      {
        model: 'gpt-4o',
        role: 'primary',
        reason: 'input matches /ticket\\s+\\d+/i',
        rule: 'guard no-tickets-out',
      },
    ]);
    expect(d.guards).toContainEqual(
      expect.objectContaining({
        guard: 'no-tickets-out',
        action: 'block',
        outcome: 'removed',
        models: ['gpt-4o'],
      }),
    );
    // Without a match nothing is removed.
    expect(decide(p, request({ capability: 'reasoning' })).chain.map((c) => c.model)).toEqual([
      'gpt-4o',
      'llama-8b',
    ]);
  });

  it('a guard on model M removes only M; removing the whole chain rejects naming the guard', () => {
    const guard: GuardPlan = {
      ...secretsGuard,
      name: 'small-llama',
      target: { kind: 'model', model: 'llama-8b' },
      blocks: [],
      maxInput: 100,
    };
    const p: Plan = { ...supportPlan(), guards: [guard] };
    const d = decide(p, request({ capability: 'reasoning', inputTokens: 500 }));
    expect(d.chain.map((c) => c.model)).toEqual(['gpt-4o']);
    expect(d.guards).toContainEqual(
      expect.objectContaining({ guard: 'small-llama', action: 'max-input', outcome: 'removed' }),
    );
    const batch = decide(
      p,
      request({ capability: 'x', mode: 'batch', inputTokens: 500, classification: 'confidential' }),
    );
    expect(batch.status).toBe('rejected');
    expect(batch.rule).toBe('guard small-llama; require private when classification >= confidential');
    expect(batch.reason).toBe(
      'no model left for route batch: removed llama-8b by guard small-llama, gpt-4o by require private when classification >= confidential',
    );
  });

  it('redact is recorded for the external models only, and carried on their chain entries', () => {
    const d = decide(supportPlan(), request({ capability: 'chat' }));
    expect(d.guards).toContainEqual({
      guard: 'pii',
      phase: 'before',
      action: 'redact',
      outcome: 'applies',
      models: ['gpt-4o'],
      kinds: ['email', 'phone', 'credit-card'],
    });
    expect(d.chain.map((c) => [c.model, c.role, c.redact])).toEqual([
      ['llama-8b', 'primary', []],
      ['gpt-4o', 'fallback', ['email', 'phone', 'credit-card']],
      ['gpt-4o', 'escalation', ['email', 'phone', 'credit-card']],
    ]);
    // A private-only chain has nothing to redact.
    const local = decide(supportPlan(), request({ capability: 'reasoning', classification: 'confidential' }));
    expect(local.guards.filter((g) => g.guard === piiGuard.name)).toEqual([]);
  });

  it('after guards are recorded for the models of their route', () => {
    const d = decide(supportPlan(), request({ capability: 'classify' }));
    expect(d.guards).toContainEqual({
      guard: 'ticket-shape',
      phase: 'after',
      action: 'check',
      outcome: 'applies',
      models: ['llama-8b', 'gpt-4o'],
      checks: ['schema'],
    });
    expect(d.chain.every((c) => c.afterGuards.includes('ticket-shape'))).toBe(true);
    expect(
      decide(supportPlan(), request({ capability: 'chat' })).guards.some((g) => g.guard === 'ticket-shape'),
    ).toBe(false);
  });

  it('a block pattern with the g flag gives the same answer every time (no lastIndex state)', () => {
    const guard: GuardPlan = { ...secretsGuard, blocks: [{ pattern: 'secret', flags: 'g', message: 'no' }] };
    const p = { ...supportPlan(), guards: [guard] };
    const r = request({ messages: [{ role: 'user', content: 'a secret' }] });
    expect([decide(p, r).status, decide(p, r).status, decide(p, r).status]).toEqual([
      'rejected',
      'rejected',
      'rejected',
    ]);
  });
});

describe('governance in the decision', () => {
  it('lists the applicable budgets with the request scope value, and the downgrade target', () => {
    const d = decide(supportPlan(), request({ capability: 'reasoning', team: 'support' }));
    expect(d.governance.budgets.map((b) => [b.name, b.scope, b.scopeValue])).toEqual([
      ['team-monthly', 'team', 'support'],
    ]);
    expect(d.governance.rateLimits.map((r) => [r.name, r.scopeValue])).toEqual([['rate-limit-1', 'support']]);
    expect(d.governance.downgrades['llama-8b']).toMatchObject({
      model: 'llama-8b',
      role: 'downgrade',
      timeoutMs: 30_000,
    });
    expect(
      decide(supportPlan(), request({ capability: 'reasoning' })).governance.budgets[0]!.scopeValue,
    ).toBeNull();
  });

  it('a downgrade target removed by require is recorded as blocked', () => {
    const p: Plan = {
      ...supportPlan(),
      budgets: [{ ...supportPlan().budgets[0]!, onExceed: { action: 'downgrade', model: 'gpt-4o' } }],
    };
    const d = decide(p, request({ capability: 'reasoning', classification: 'confidential' }));
    expect(d.governance.downgrades).toEqual({});
    expect(d.governance.downgradeBlocked).toEqual({
      'gpt-4o': 'provider openai is external (require private when classification >= confidential)',
    });
  });

  it('classification compares by order public < internal < confidential < restricted', () => {
    const p = plan({
      routes: [
        route(
          'secret',
          { op: 'compare', field: 'classification', cmp: '>', value: name('internal') },
          { model: 'llama-8b' },
        ),
      ],
    });
    expect(decide(p, request({ classification: 'confidential' })).route).toBe('secret');
    expect(decide(p, request({ classification: 'internal' })).status).toBe('rejected');
    expect(decide(p, request({})).status).toBe('rejected');
  });
});
