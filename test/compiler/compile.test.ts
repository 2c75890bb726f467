import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compilePolicy, compileWorkspace, CompileFailure, validatePlan } from '../../dsl/compiler/index.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import type { Plan } from '../../plan/types.js';
import { CATALOG, compileOne, tempTree } from './helpers.js';

const policyFile = (policy: string, extra: Record<string, string> = {}): string =>
  path.join(tempTree({ 'p.policy': `${CATALOG}\n${policy}`, ...extra }), 'p.policy');

describe('what the plan carries', () => {
  it('only the models the policy uses (routes, downgrades, guards) and their providers', async () => {
    const plan = await compileOne(
      policyFile(`policy p {
  budget b per app { limit $10 per day on-exceed downgrade small }
  guard g before model big { redact email }
  route r when capability == "reasoning" { use big }
  otherwise reject
}`),
      'p',
    );
    expect(Object.keys(plan.models).sort()).toEqual(['big', 'small']);
    expect(Object.keys(plan.providers).sort()).toEqual(['cloud', 'local']);
    expect(plan.providers.cloud).toMatchObject({
      region: 'eu',
      apiKeyEnv: 'CLOUD_KEY',
      private: false,
      queue: 'provider-cloud',
      concurrency: 4,
    });
    expect(plan.budgets[0]!.onExceed).toEqual({ action: 'downgrade', model: 'small' });
    expect(plan.guards[0]!.target).toEqual({ kind: 'model', model: 'big' });
  });

  it('conditions with typed values, flattened and/or chains and normalised text', async () => {
    const plan = await compileOne(
      policyFile(`policy p {
  route r when tag.ticket in ["T-1", "T-2"] and not (input.tokens > 8k or latency < 2s) and max-tokens >= 512
      or region != "eu" and classification in [public, internal] {
    use small
  }
  route all when true { use small }
}`),
      'p',
    );
    const route = plan.routes[0]!;
    expect(route.when).toEqual({
      op: 'or',
      args: [
        {
          op: 'and',
          args: [
            {
              op: 'in',
              field: 'tag.ticket',
              values: [
                { kind: 'string', value: 'T-1' },
                { kind: 'string', value: 'T-2' },
              ],
            },
            {
              op: 'not',
              arg: {
                op: 'or',
                args: [
                  { op: 'compare', field: 'input.tokens', cmp: '>', value: { kind: 'tokens', value: 8000 } },
                  { op: 'compare', field: 'latency', cmp: '<', value: { kind: 'duration', ms: 2000 } },
                ],
              },
            },
            // a plain integer compared with a token field is a token count
            { op: 'compare', field: 'max-tokens', cmp: '>=', value: { kind: 'tokens', value: 512 } },
          ],
        },
        {
          op: 'and',
          args: [
            { op: 'compare', field: 'region', cmp: '!=', value: { kind: 'string', value: 'eu' } },
            {
              op: 'in',
              field: 'classification',
              values: [
                { kind: 'name', value: 'public' },
                { kind: 'name', value: 'internal' },
              ],
            },
          ],
        },
      ],
    });
    expect(route.whenText).toBe(
      'tag.ticket in ["T-1", "T-2"] and not (input.tokens > 8k or latency < 2s) and max-tokens >= 512 or region != "eu" and classification in [public, internal]',
    );
    expect(validatePlan(plan).ok).toBe(true);
  });

  it('escalation conditions on the output, split options on every target, require region, named and unnamed rate limits', async () => {
    const plan = await compileOne(
      policyFile(`policy p {
  rate-limit per user { 10 requests per minute }
  rate-limit burst per app { 5 requests per minute on-exceed wait 2s }
  require region "eu" when team == "legal"
  route r when capability == "chat" {
    split small 50%, big 50% timeout 3s retries 1
    escalate big when output.tokens >= 1k and not output.empty max-tokens 2k
  }
  otherwise route r
}`),
      'p',
    );
    expect(plan.routes[0]!.primary).toEqual({
      kind: 'split',
      targets: [
        { model: 'small', weight: 50, timeoutMs: 3000, retries: 1 },
        { model: 'big', weight: 50, timeoutMs: 3000, retries: 1 },
      ],
    });
    expect(plan.routes[0]!.escalations).toEqual([
      {
        model: 'big',
        maxTokens: 2000,
        when: {
          op: 'and',
          args: [
            { op: 'output-tokens', cmp: '>=', value: 1000 },
            { op: 'not', arg: { op: 'output', field: 'empty' } },
          ],
        },
        whenText: 'output.tokens >= 1k and not output.empty',
      },
    ]);
    expect(plan.rateLimits.map((r) => [r.name, r.scope, r.onExceed])).toEqual([
      ['rate-limit-1', 'user', { action: 'reject' }],
      ['burst', 'app', { action: 'wait', maxWaitMs: 2000 }],
    ]);
    expect(plan.requires).toEqual([
      {
        kind: 'region',
        region: 'eu',
        text: 'require region "eu" when team == "legal"',
        when: { op: 'compare', field: 'team', cmp: '==', value: { kind: 'string', value: 'legal' } },
      },
    ]);
    expect(plan.otherwise).toEqual({ kind: 'route', route: 'r' });
    expect(plan).toMatchObject({
      version: null,
      owner: null,
      audit: { prompts: 'hashed', retainDays: null },
    });
    expect(validatePlan(plan).ok).toBe(true);
  });
});

describe('compile errors', () => {
  const guardPolicy = (schema: string) => `policy p {
  guard shape after all {
    schema "${schema}"
  }
  route r when true { use small }
}`;

  // The validator reports these first (SY093/SY094); the compiler checks again for a workspace
  // loaded without validation, which is what these tests exercise.
  const unvalidated = (file: string) => loadWorkspace([file], { validate: false });

  it('a missing schema file is an error at the path, with file, line and column', async () => {
    const file = policyFile(guardPolicy('schemas/none.json'));
    const { plans, errors } = compileWorkspace(await unvalidated(file));
    expect(plans.size).toBe(0);
    const line = CATALOG.split('\n').length + 3;
    expect(errors).toEqual([
      {
        code: 'E-SCHEMA-MISSING',
        message: expect.stringContaining('schema file not found: "schemas/none.json"') as string,
        file,
        line,
        column: 12,
      },
    ]);
  });

  it('a schema file that is not JSON, or not a schema, is an error', async () => {
    const bad = policyFile(guardPolicy('bad.json'), { 'bad.json': '{ "type": ' });
    const { errors } = compileWorkspace(await unvalidated(bad));
    expect(errors.map((e) => [e.code, e.file])).toEqual([['E-SCHEMA-INVALID', bad]]);
    expect(errors[0]!.message).toMatch(/"bad\.json" is not valid JSON/);

    const list = policyFile(guardPolicy('list.json'), { 'list.json': '[1, 2]' });
    expect(compileWorkspace(await unvalidated(list)).errors[0]).toMatchObject({
      code: 'E-SCHEMA-INVALID',
      message: expect.stringContaining('not a JSON Schema') as string,
    });
  });

  it('compilePolicy throws every problem of the policy at once', async () => {
    const file = policyFile(`policy p {
  guard shape after all { schema "missing.json" }
  guard bad before all { block /a(/ }
  route r when true { use small }
}`);
    const ws = await loadWorkspace([file]);
    const policy = ws.roots[0]!.parseResult.value.policies[0]!;
    let failure: unknown;
    try {
      compilePolicy(policy, { entryFile: file });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(CompileFailure);
    expect((failure as CompileFailure).errors.map((e) => e.code)).toEqual([
      'E-SCHEMA-MISSING',
      'E-COMPILE-REGEX',
    ]);
  });

  it('refuses a workspace with errors, returning them with their positions', async () => {
    const file = policyFile(`policy p {
  route r when capability == { use small }
}`);
    const { plans, errors } = compileWorkspace(await loadWorkspace([file]));
    expect(plans.size).toBe(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file, line: CATALOG.split('\n').length + 2 });
  });

  it('refuses an unresolved reference', async () => {
    const file = policyFile(`policy p {
  route r when true { use nowhere }
}`);
    const { plans, errors } = compileWorkspace(await loadWorkspace([file]));
    expect(plans.size).toBe(0);
    expect(errors[0]).toMatchObject({
      file,
      line: CATALOG.split('\n').length + 2,
      message: expect.stringContaining('nowhere') as string,
    });
  });
});

describe('validatePlan', () => {
  const plan = (): Promise<Plan> =>
    compileOne(policyFile(`policy p { budget b { limit $5 per day } route r when true { use small } }`), 'p');

  it('names the place and the problem', async () => {
    const broken = structuredClone(await plan()) as unknown as Record<string, unknown> & Plan;
    (broken.budgets[0]!.limits[0] as { amount: number }).amount = 0.5;
    (broken.routes[0]!.primary as { kind: string }).kind = 'usee';
    (broken as unknown as Record<string, unknown>).extra = 1;
    (broken.audit as { prompts: string }).prompts = 'sometimes';
    const { ok, errors } = validatePlan(broken);
    expect(ok).toBe(false);
    expect(errors).toEqual(
      expect.arrayContaining([
        "(plan): has unknown property 'extra'",
        '/budgets/0/limits/0/amount: must be integer',
        '/audit/prompts: must be one of "hashed", "redacted", "full", "none"',
        '/routes/0/primary: unknown kind "usee"',
      ]),
    );
  });

  it('refuses a plan without a hash or with a field missing', async () => {
    const { hash: _hash, ...rest } = await plan();
    expect(validatePlan(rest).errors).toEqual(["(plan): must have required property 'hash'"]);
    expect(validatePlan({ ...(await plan()), hash: 'md5:abc' }).errors).toEqual([
      '/hash: must match pattern "^sha256:[0-9a-f]{64}$"',
    ]);
    expect(validatePlan('plan').ok).toBe(false);
  });
});

describe('validation comes first', () => {
  it("a workspace with a missing schema is refused with the validator's code", async () => {
    const file = policyFile(`policy p {
  guard shape after all { schema "none.json" }
  route r when true { use small }
}`);
    const { plans, errors } = compileWorkspace(await loadWorkspace([file]));
    expect(plans.size).toBe(0);
    expect(errors.map((e) => e.code)).toEqual(['SY093-schema-not-found']);
  });
});
