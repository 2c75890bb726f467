import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, hashPlan, validatePlan } from '../../dsl/compiler/index.js';
import type { Plan } from '../../plan/types.js';
import { compileFiles, compileOne, fixture, FIXTURES, readFixture } from './helpers.js';

describe('the examples', () => {
  it.each(['support.policy', 'embedded.policy', 'catalog.policy'])(
    '%s compiles, and its plans validate against plan.schema.json',
    async (file) => {
      const plans = await compileFiles([fixture(file)]);
      for (const plan of plans.values()) {
        expect(validatePlan(plan)).toEqual({ ok: true, errors: [] });
        expect(plan.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(hashPlan(plan)).toBe(plan.hash);
        // Plain JSON: nothing is lost or added by the canonical form.
        expect(JSON.parse(canonicalJson(plan))).toEqual(plan);
      }
    },
  );

  it('compiles every policy of the examples folder, and nothing else', async () => {
    const plans = await compileFiles([FIXTURES]);
    expect([...plans.keys()].sort()).toEqual(['offline', 'support']);
  });
});

describe('the support plan', () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await compileOne(fixture('support.policy'), 'support');
  });

  it('carries name, version, owner, description', () => {
    expect(plan).toMatchObject({
      format: 'switchyard.plan/v1',
      name: 'support',
      version: 3,
      owner: 'platform-team',
      description: 'Routing for the support organisation',
    });
  });

  it('has the routes in source order, with their chains and options', () => {
    expect(plan.routes.map((r) => r.name)).toEqual(['triage', 'interactive', 'reasoning', 'batch']);
    const [triage, interactive, reasoning, batch] = plan.routes;
    expect(triage).toEqual({
      name: 'triage',
      when: { op: 'compare', field: 'capability', cmp: '==', value: { kind: 'string', value: 'classify' } },
      whenText: 'capability == "classify"',
      primary: { kind: 'use', target: { model: 'llama-8b', maxTokens: 256 } },
      fallbacks: [],
      escalations: [
        { model: 'gpt-4o', when: { op: 'output', field: 'invalid' }, whenText: 'output.invalid' },
      ],
      deadlineMs: null,
      execution: 'durable',
    });
    expect(interactive).toEqual({
      name: 'interactive',
      when: {
        op: 'and',
        args: [
          { op: 'compare', field: 'capability', cmp: '==', value: { kind: 'string', value: 'chat' } },
          { op: 'compare', field: 'mode', cmp: '==', value: { kind: 'name', value: 'interactive' } },
        ],
      },
      whenText: 'capability == "chat" and mode == interactive',
      primary: { kind: 'use', target: { model: 'llama-8b', timeoutMs: 5000, retries: 2, backoffMs: 200 } },
      fallbacks: [{ model: 'gpt-4o', timeoutMs: 20_000 }],
      escalations: [
        {
          model: 'gpt-4o',
          when: {
            op: 'or',
            args: [
              { op: 'output', field: 'truncated' },
              { op: 'output', field: 'empty' },
            ],
          },
          whenText: 'output.truncated or output.empty',
        },
      ],
      deadlineMs: 8000,
      execution: 'direct',
    });
    expect(reasoning!.primary).toEqual({
      kind: 'use',
      target: { model: 'gpt-4o', timeoutMs: 60_000, retries: 3 },
    });
    expect(reasoning!.fallbacks).toEqual([{ model: 'llama-8b' }]);
    expect(reasoning!.execution).toBe('durable');
    expect(batch!.primary).toEqual({
      kind: 'split',
      targets: [
        { model: 'llama-8b', weight: 80 },
        { model: 'gpt-4o', weight: 20 },
      ],
    });
    expect(plan.otherwise).toEqual({ kind: 'reject', message: 'no route serves this capability' });
  });

  it('has the guards, with the ticket schema embedded', () => {
    const ticket = JSON.parse(readFixture('schemas/ticket.json')) as unknown;
    expect(plan.guards).toEqual([
      {
        name: 'pii',
        phase: 'before',
        target: { kind: 'external' },
        redact: ['credit-card', 'email', 'phone'],
        blocks: [],
        maxInput: null,
        schema: null,
      },
      {
        name: 'secrets',
        phase: 'before',
        target: { kind: 'all' },
        redact: [],
        blocks: [
          {
            pattern: 'BEGIN [A-Z ]*PRIVATE KEY',
            flags: '',
            message: 'private keys must not be sent to a model',
          },
        ],
        maxInput: 32_000,
        schema: null,
      },
      {
        name: 'ticket-shape',
        phase: 'after',
        target: { kind: 'route', route: 'triage' },
        redact: [],
        blocks: [],
        maxInput: null,
        schema: { path: 'schemas/ticket.json', schema: ticket },
      },
    ]);
    expect(new RegExp(plan.guards[1]!.blocks[0]!.pattern).test('-----BEGIN RSA PRIVATE KEY-----')).toBe(true);
  });

  it('has the budget, rate limit, require rule and audit settings in plan units', () => {
    expect(plan.budgets).toEqual([
      {
        name: 'team-monthly',
        scope: 'team',
        limits: [
          { kind: 'money', amount: 500_000_000_000, window: 'month' },
          { kind: 'tokens', amount: 20_000_000, window: 'day' },
        ],
        onExceed: { action: 'downgrade', model: 'llama-8b' },
      },
    ]);
    expect(plan.rateLimits).toEqual([
      {
        name: 'rate-limit-1',
        scope: 'team',
        limits: [
          { kind: 'requests', amount: 600, window: 'minute' },
          { kind: 'tokens', amount: 200_000, window: 'minute' },
        ],
        onExceed: { action: 'wait', maxWaitMs: 30_000 },
      },
    ]);
    expect(plan.requires).toEqual([
      {
        kind: 'private',
        text: 'require private when classification >= confidential',
        when: {
          op: 'compare',
          field: 'classification',
          cmp: '>=',
          value: { kind: 'name', value: 'confidential' },
        },
      },
    ]);
    expect(plan.audit).toEqual({ prompts: 'hashed', retainDays: 400 });
  });

  it('carries the used models and their providers from the imported catalog', () => {
    expect(Object.keys(plan.models).sort()).toEqual(['gpt-4o', 'llama-8b']);
    expect(plan.models['gpt-4o']).toEqual({
      name: 'gpt-4o',
      provider: 'openai',
      id: 'gpt-4o-2024-08-06',
      version: null,
      context: 128_000,
      capabilities: ['chat', 'reasoning', 'summarize', 'classify'],
      price: { input: { nanos: 2_500_000, perTokens: 1000 }, output: { nanos: 10_000_000, perTokens: 1000 } },
    });
    expect(plan.models['llama-8b']!.price).toEqual({
      input: { nanos: 100_000, perTokens: 1000 },
      output: { nanos: 200_000, perTokens: 1000 },
    });
    expect(plan.providers).toEqual({
      'gpu-east': {
        name: 'gpu-east',
        kind: 'ollama',
        endpoints: ['http://gpu-east-1:11434', 'http://gpu-east-2:11434'],
        queue: 'gpu-east',
        concurrency: 4,
        timeoutMs: 30_000,
        private: true,
        region: null,
        apiKeyEnv: null,
        modelFile: null,
      },
      openai: {
        name: 'openai',
        kind: 'openai',
        endpoints: ['https://api.openai.com/v1'],
        queue: 'provider-openai',
        concurrency: 4,
        timeoutMs: null,
        private: false,
        region: null,
        apiKeyEnv: 'OPENAI_API_KEY',
        modelFile: null,
      },
    });
  });
});

describe('the embedded plan', () => {
  it('points at the GGUF file relative to the policy, and defaults what the policy leaves out', async () => {
    const plan = await compileOne(fixture('embedded.policy'), 'offline');
    const provider = plan.providers['on-box']!;
    expect(provider).toEqual({
      name: 'on-box',
      kind: 'embedded',
      endpoints: [],
      queue: 'provider-on-box',
      concurrency: 1,
      timeoutMs: null,
      private: true,
      region: null,
      apiKeyEnv: null,
      modelFile: '../../fixtures/models/stories260K.gguf',
    });
    expect(fs.existsSync(path.resolve(FIXTURES, provider.modelFile!))).toBe(true);
    expect(plan.models).toEqual({
      'tiny-stories': {
        name: 'tiny-stories',
        provider: 'on-box',
        id: 'stories260K',
        version: null,
        context: 512,
        capabilities: ['chat'],
        price: null,
      },
    });
    expect(plan.routes[0]).toMatchObject({ name: 'local', when: { op: 'true' }, whenText: 'true' });
    expect(plan.routes[0]!.primary).toEqual({
      kind: 'use',
      target: { model: 'tiny-stories', maxTokens: 32, timeoutMs: 10_000, retries: 1 },
    });
    expect(plan.rateLimits).toEqual([
      {
        name: 'rate-limit-1',
        scope: 'user',
        limits: [{ kind: 'requests', amount: 60, window: 'minute' }],
        onExceed: { action: 'reject' },
      },
    ]);
    expect(plan).toMatchObject({
      version: 1,
      description: null,
      otherwise: null,
      budgets: [],
      guards: [],
      requires: [],
      audit: { prompts: 'full', retainDays: 30 },
    });
  });
});
