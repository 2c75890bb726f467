import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, dollarsToNanos, hashPlan } from '../../dsl/compiler/index.js';
import { CATALOG, compileOne, fixture, FIXTURES, readFixture, tempTree } from './helpers.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order, drops undefined properties, adds no whitespace', () => {
    const value = { b: [3, { z: 1, a: null }, 'x'], a: { d: true, c: undefined, b: 'é"' }, '': 0 };
    expect(canonicalJson(value)).toBe('{"":0,"a":{"b":"é\\"","d":true},"b":[3,{"a":null,"z":1},"x"]}');
  });

  it('writes -0 as 0 and refuses what JSON cannot carry faithfully', () => {
    expect(canonicalJson({ n: -0 })).toBe('{"n":0}');
    expect(() => canonicalJson({ n: NaN })).toThrow(/\$\.n is NaN/);
    expect(() => canonicalJson({ n: Infinity })).toThrow(TypeError);
    expect(() => canonicalJson([1, undefined])).toThrow(/\$\[1\] is undefined/);
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(/not a plain object/);
    expect(() => canonicalJson({ b: 1n })).toThrow(/bigint/);
  });
});

describe('money to nano-dollars, exactly', () => {
  it.each([
    ['0.0025', 2_500_000],
    ['0.000000001', 1],
    ['500', 500_000_000_000],
    ['0.1', 100_000_000],
    ['0.3', 300_000_000],
    ['1.000000000', 1_000_000_000],
    ['0', 0],
    ['9007199.254740991', Number.MAX_SAFE_INTEGER],
  ])('$%s → %d', (dollars, nanos) => {
    expect(dollarsToNanos(dollars)).toBe(nanos);
    expect(dollarsToNanos(`$${dollars}`)).toBe(nanos);
  });

  it('rounds digits beyond the ninth decimal up, and refuses amounts a plan cannot carry', () => {
    expect(dollarsToNanos('0.0000000011')).toBe(2);
    expect(dollarsToNanos('0.0000000010')).toBe(1);
    expect(dollarsToNanos('0.00000000000001')).toBe(1);
    expect(dollarsToNanos('9007199.254740992')).toBeUndefined();
    expect(dollarsToNanos('1e3')).toBeUndefined();
  });

  it('compiles prices and limits from the literal text', async () => {
    const dir = tempTree({
      'p.policy': `${CATALOG.replace('$0.0001 per 1k', '$0.000000001 per 1')}
policy p {
  budget b { limit $1234.567891234 per day }
  route r when true { use small }
}`,
    });
    const plan = await compileOne(path.join(dir, 'p.policy'), 'p');
    expect(plan.models.small!.price!.input).toEqual({ nanos: 1, perTokens: 1 });
    expect(plan.budgets[0]!.limits).toEqual([{ kind: 'money', amount: 1_234_567_891_234, window: 'day' }]);
    expect(plan.budgets[0]).toMatchObject({ scope: 'policy', onExceed: { action: 'reject' } });
  });
});

describe('canonical plans', () => {
  const support = fixture('support.policy');
  const catalog = fixture('catalog.policy');
  const compileSupport = (texts?: Record<string, string>) => compileOne(support, 'support', texts);

  it('the same source gives the same bytes and hash, load after load', async () => {
    const first = await compileSupport();
    const second = await compileSupport();
    expect(second).not.toBe(first);
    expect(canonicalJson(second)).toBe(canonicalJson(first));
    expect(second.hash).toBe(first.hash);
  });

  it('the hash covers the whole plan, hash field aside', async () => {
    const plan = await compileSupport();
    expect(hashPlan({ ...plan, hash: 'anything' })).toBe(plan.hash);
    expect(hashPlan({ ...plan, owner: 'someone-else' })).not.toBe(plan.hash);
  });

  it('whitespace, comments and layout do not change the hash', async () => {
    const { hash } = await compileSupport();
    const text = readFixture('support.policy')
      .replace(/\/\/[^\n]*/g, '/* a comment */')
      .replace(/\n {2}/g, '\n\n\t    // indented differently\n    ')
      .replace(
        'capability == "chat" and mode == interactive',
        'capability=="chat"\n      and   mode==interactive',
      )
      .replace('split llama-8b 80%, gpt-4o 20%', 'split llama-8b 80% ,gpt-4o 20%');
    expect(text).not.toBe(readFixture('support.policy'));
    expect((await compileSupport({ [support]: text })).hash).toBe(hash);
  });

  it('the order of items inside a block, and of different kinds of policy items, does not change the hash', async () => {
    const { hash } = await compileSupport();
    const source = readFixture('support.policy');
    const auditBlock = source.slice(
      source.indexOf('  audit {'),
      source.indexOf('}', source.indexOf('  audit {')) + 2,
    );
    const swappedAudit = auditBlock
      .replace('    prompts hashed', '    retain 400 days\n    prompts hashed')
      .replace(/\n\s*retain 400 days\n {2}\}/, '\n  }');
    expect(swappedAudit).not.toBe(auditBlock);
    const text = source
      // budget items, route items, audit items in another order
      .replace(
        '    limit $500 per month\n    tokens 20M per day\n',
        '    tokens 20M per day\n    limit $500 per month\n',
      )
      .replace(
        '    use llama-8b timeout 5s retries 2 backoff 200ms\n',
        '    deadline 8s\n    use llama-8b timeout 5s retries 2 backoff 200ms\n',
      )
      .replace('    fallback gpt-4o timeout 20s\n    deadline 8s\n', '    fallback gpt-4o timeout 20s\n')
      .replace('use gpt-4o timeout 60s retries 3', 'use gpt-4o retries 3 timeout 60s')
      // the audit block (its items swapped) and `otherwise` moved to the top of the policy
      .replace(auditBlock, '')
      .replace('  otherwise reject "no route serves this capability"\n', '')
      .replace(
        '  version 3\n',
        `  otherwise reject "no route serves this capability"\n${swappedAudit}  version 3\n`,
      );
    const catalogText = readFixture('catalog.policy')
      .replace(/\n {2}private[^\n]*\n/, '\n')
      .replace('  kind ollama', '  private\n  kind ollama')
      .replace(
        '  name "gpt-4o-2024-08-06"\n  context 128k\n',
        '  context 128k\n  name "gpt-4o-2024-08-06"\n',
      );
    expect(text).toContain('deadline 8s\n    use llama-8b');
    const reordered = await compileSupport({ [support]: text, [catalog]: catalogText });
    expect(reordered.hash).toBe(hash);
  });

  it('route order is meaning: swapping two routes changes the hash', async () => {
    const { hash } = await compileSupport();
    const source = readFixture('support.policy');
    const reasoning = source.slice(source.indexOf('  route reasoning'), source.indexOf('  route batch'));
    const text = source.replace(reasoning, '').replace('  route triage', `${reasoning}  route triage`);
    const swapped = await compileSupport({ [support]: text });
    expect(swapped.routes.map((r) => r.name)).toEqual(['reasoning', 'triage', 'interactive', 'batch']);
    expect(swapped.hash).not.toBe(hash);
  });

  it('changing a price, a limit or the embedded schema changes the hash', async () => {
    const { hash } = await compileSupport();
    const cheaper = await compileSupport({
      [catalog]: readFixture('catalog.policy').replace('input $0.0025 per 1k', 'input $0.0024 per 1k'),
    });
    expect(cheaper.models['gpt-4o']!.price!.input.nanos).toBe(2_400_000);
    expect(cheaper.hash).not.toBe(hash);
    const limit = await compileSupport({
      [support]: readFixture('support.policy').replace('$500 per month', '$500.000000001 per month'),
    });
    expect(limit.hash).not.toBe(hash);

    const dir = tempTree({
      'support.policy': readFixture('support.policy'),
      'catalog.policy': readFixture('catalog.policy'),
      'schemas/ticket.json': readFixture('schemas/ticket.json').replace(
        '"maxLength": 280',
        '"maxLength": 281',
      ),
    });
    expect((await compileOne(path.join(dir, 'support.policy'), 'support')).hash).not.toBe(hash);
  });

  it('moving the whole folder keeps the hash: paths in the plan are relative', async () => {
    const { hash } = await compileSupport();
    const files = Object.fromEntries(
      ['support.policy', 'catalog.policy', 'schemas/ticket.json'].map((name) => [name, readFixture(name)]),
    );
    const dir = tempTree(files);
    expect(path.resolve(dir)).not.toBe(path.resolve(FIXTURES));
    expect((await compileOne(path.join(dir, 'support.policy'), 'support')).hash).toBe(hash);
  });

  it('rewrites a model-file written in an imported catalog relative to the policy that is compiled', async () => {
    const dir = tempTree({
      'catalog/catalog.policy': `provider box { kind embedded model-file "models/tiny.gguf" }
model tiny { provider box context 512 capabilities chat }`,
      'catalog/models/tiny.gguf': 'not really a model',
      'teams/support/p.policy': `import "../../catalog/catalog.policy"
policy p { route r when true { use tiny } otherwise reject }`,
    });
    const plan = await compileOne(path.join(dir, 'teams/support/p.policy'), 'p');
    expect(plan.providers.box!.modelFile).toBe('../../catalog/models/tiny.gguf');
    expect(fs.existsSync(path.resolve(dir, 'teams/support', plan.providers.box!.modelFile!))).toBe(true);
    expect(plan.otherwise).toEqual({ kind: 'reject', message: null });
  });
});
