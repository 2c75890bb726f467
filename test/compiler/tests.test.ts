import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTests, testRequestId } from '../../dsl/compiler/index.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import type { Message, TestCase } from '../../plan/types.js';
import { CATALOG, fixture, tempTree } from './helpers.js';

const EMPTY_GIVEN = { failures: {}, answers: {}, spent: {} };
const MESSAGES: Message[] = [{ role: 'user', content: '' }];

describe('test blocks of support.policy', () => {
  it('become test cases with their requests, givens and expectations', async () => {
    const file = fixture('support.policy');
    const { tests, errors } = compileTests(await loadWorkspace([file]));
    expect(errors).toEqual([]);
    const base = { policy: 'support', file, given: EMPTY_GIVEN };
    expect(tests).toEqual<TestCase[]>([
      {
        ...base,
        name: 'chat stays on the local pool',
        line: 64,
        request: {
          id: 'test:chat-stays-on-the-local-pool',
          policy: 'support',
          capability: 'chat',
          mode: 'interactive',
          team: 'support',
          messages: MESSAGES,
        },
        expect: { kind: 'route-model', route: 'interactive', model: 'llama-8b' },
      },
      {
        ...base,
        name: 'falls back when the pool is down',
        line: 69,
        request: {
          id: 'test:falls-back-when-the-pool-is-down',
          policy: 'support',
          capability: 'chat',
          mode: 'interactive',
          team: 'support',
          messages: MESSAGES,
        },
        given: { failures: { 'llama-8b': 503 }, answers: {}, spent: {} },
        expect: { kind: 'route-model', route: 'interactive', model: 'gpt-4o', attempts: 4 },
      },
      {
        ...base,
        name: 'confidential reasoning stays private',
        line: 75,
        request: {
          id: 'test:confidential-reasoning-stays-private',
          policy: 'support',
          capability: 'reasoning',
          classification: 'confidential',
          messages: MESSAGES,
        },
        expect: { kind: 'route-model', model: 'llama-8b' },
      },
      {
        ...base,
        name: 'spent budget downgrades',
        line: 80,
        request: {
          id: 'test:spent-budget-downgrades',
          policy: 'support',
          capability: 'reasoning',
          team: 'support',
          messages: MESSAGES,
        },
        given: { failures: {}, answers: {}, spent: { 'team-monthly': 500_000_000_000 } },
        expect: { kind: 'route-model', model: 'llama-8b' },
      },
      {
        ...base,
        name: 'unknown capability is refused',
        line: 86,
        request: {
          id: 'test:unknown-capability-is-refused',
          policy: 'support',
          capability: 'poetry',
          messages: MESSAGES,
        },
        expect: { kind: 'reject', message: 'no route serves this capability' },
      },
    ]);
  });
});

describe('test requests, givens and expectations', () => {
  const load = async (tests: string) => {
    const file = path.join(
      tempTree({
        'p.policy': `${CATALOG}
policy p {
  budget monthly per team { limit $100 per month }
  budget daily { limit $5 per day }
  route r when true { use small fallback big }
}
${tests}`,
      }),
      'p.policy',
    );
    return { file, ...compileTests(await loadWorkspace([file])) };
  };

  it('maps every request field of docs/language.md §5.1 to the API names', async () => {
    const { tests, errors } = await load(`test "Every field: 100% covered!" for p {
  request {
    capability "chat" mode batch classification restricted team "t" app "helpdesk" user "u-42" region "eu"
    tag.ticket "T-1" tag.channel "mail" input.tokens 40k max-tokens 512 latency 2s
  }
  given small fails timeout
  given big fails 429
  given big answers truncated
  given small answers invalid
  given spent monthly $99.5
  given spent daily $0.000000001
  given spent daily $0.25
  expect fail
}`);
    expect(errors).toEqual([]);
    expect(tests[0]!.request).toEqual({
      id: 'test:every-field-100-covered',
      policy: 'p',
      capability: 'chat',
      mode: 'batch',
      classification: 'restricted',
      team: 't',
      app: 'helpdesk',
      user: 'u-42',
      region: 'eu',
      tags: { ticket: 'T-1', channel: 'mail' },
      inputTokens: 40_000,
      maxTokens: 512,
      latency: '2s',
      messages: MESSAGES,
    });
    // `given` may repeat: the last word on a model or budget wins.
    expect(tests[0]!.given).toEqual({
      failures: { small: 'timeout', big: 429 },
      answers: { big: 'truncated', small: 'invalid' },
      spent: { monthly: 99_500_000_000, daily: 250_000_000 },
    });
    expect(tests[0]!.expect).toEqual({ kind: 'fail' });
  });

  it('reads each form of expect', async () => {
    const { tests, errors } = await load(`
test "a" for p { request { capability "chat" } expect reject }
test "b" for p { request { capability "chat" } expect attempts 2 }
test "c" for p { request { capability "chat" } expect route r model big }`);
    expect(errors).toEqual([]);
    expect(tests.map((t) => t.expect)).toEqual([
      { kind: 'reject' },
      { kind: 'route-model', attempts: 2 },
      { kind: 'route-model', route: 'r', model: 'big' },
    ]);
  });

  it('reports tests that cannot run, at their place', async () => {
    const { tests, errors, file } = await load(`
test "no expect" for p { request { capability "chat" } }
test "two expects" for p { request { capability "chat" } expect fail expect reject }
test "no capability" for p { request { team "t" } expect fail }
test "bad mode" for p { request { capability "chat" mode sometimes } expect fail }
test "bad field" for p { request { capability "chat" colour "red" } expect fail }
test "fine" for p { request { capability "chat" } expect fail }`);
    expect(tests.map((t) => t.name)).toEqual(['fine']);
    const line = CATALOG.split('\n').length + 7;
    expect(errors.map((e) => [e.code, e.line, e.file])).toEqual([
      ['E-TEST-EXPECT', line, file],
      ['E-TEST-EXPECT', line + 1, file],
      ['E-TEST-REQUEST', line + 2, file],
      ['E-TEST-REQUEST', line + 3, file],
      ['E-TEST-REQUEST', line + 4, file],
    ]);
    expect(errors[3]!.message).toBe("'mode' takes interactive | batch, not sometimes");
    expect(errors[4]!.message).toBe("unknown request field 'colour'");
  });

  it('derives a stable request id from the name, in the API id alphabet', () => {
    expect(testRequestId('chat stays on the local pool')).toBe('test:chat-stays-on-the-local-pool');
    expect(testRequestId('  Ünïcode / and.dots_ok  ')).toBe('test:n-code-and.dots_ok');
    expect(testRequestId('!!!')).toBe('test:unnamed');
    expect(testRequestId('Same Name')).toBe(testRequestId('Same Name'));
  });
});
