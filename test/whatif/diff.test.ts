/**
 * `switchyard diff` (docs/what-if.md): one before/after pair per kind of change, with the exact
 * sentences expected; which test requests a change reroutes; equal plans; inputs that cannot be read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff } from '../../cli/commands/diff.js';
import { compile } from '../../cli/commands/compile.js';

const BASE = `provider local {
  kind ollama
  endpoints "http://gpu:11434"
  timeout 30s
  private
}

provider cloud {
  kind openai
  endpoints "https://api.example.com/v1"
  api-key env CLOUD_KEY
}

model small {
  provider local
  context 8k
  capabilities chat, summarize
  price input $0.0001 per 1k, output $0.0002 per 1k
}

model large {
  provider cloud
  context 128k
  capabilities chat, summarize, reasoning
  price input $0.0025 per 1k, output $0.01 per 1k
}

policy shop {
  budget monthly per team {
    limit $500 per month
    on-exceed downgrade small
  }

  rate-limit burst per user {
    60 requests per minute
    on-exceed reject
  }

  guard pii before external {
    redact email
  }

  require private when classification >= confidential

  route chat when capability == "chat" {
    use small timeout 5s retries 1
    fallback large
    escalate large when output.truncated
  }

  route summaries when capability == "summarize" {
    use small
  }

  route deep when capability == "reasoning" {
    use large
    deadline 30s
  }

  otherwise reject "not served here"

  audit {
    prompts hashed
    retain 90 days
  }
}

test "chat on the small model" for shop {
  request { capability "chat" team "web" }
  expect route chat model small
}

test "summaries on the small model" for shop {
  request { capability "summarize" team "web" }
  expect route summaries model small
}
`;

let tmp: string;

/** The 1-based line of the base policy that starts with `start`. */
function lineOf(start: string): number {
  return BASE.split('\n').findIndex((line) => line.startsWith(start)) + 1;
}
let n = 0;

function write(text: string): string {
  const dir = path.join(tmp, `v${n++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'shop.policy'), text);
  return dir;
}

function edit(from: string, to: string): string {
  if (!BASE.includes(from)) throw new Error(`the base policy has no ${JSON.stringify(from)}`);
  return BASE.replace(from, to);
}

/** The sentences between the hash lines and the requests' lines. */
async function changesOf(
  after: string,
): Promise<{ exitCode?: number; changes: string[]; requests: string[] }> {
  const result = await diff([write(BASE), write(after)]);
  const lines = result.stdout!.split('\n');
  const body = lines.slice(3, -1);
  const at = body.findIndex((l) => /^ {2}(requests that change|none of the|no requests)/.test(l));
  return {
    exitCode: result.exitCode,
    changes: body.slice(0, at).map((l) => l.trim()),
    requests: body.slice(at).map((l) => l.trim()),
  };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-diff-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CASES: [kind: string, after: string, expected: string[]][] = [
  [
    'route added',
    edit(
      '  otherwise reject',
      '  route translate when capability == "translate" {\n    use large\n  }\n\n  otherwise reject',
    ),
    ['route translate: added after deep: when capability == "translate"; use large'],
  ],
  [
    'route removed',
    edit('  route deep when capability == "reasoning" {\n    use large\n    deadline 30s\n  }\n', ''),
    ['route deep: removed (was: when capability == "reasoning"; use large)'],
  ],
  [
    'routes reordered',
    edit(
      '  route summaries when capability == "summarize" {\n    use small\n  }\n\n  route deep when capability == "reasoning" {\n    use large\n    deadline 30s\n  }\n',
      '  route deep when capability == "reasoning" {\n    use large\n    deadline 30s\n  }\n\n  route summaries when capability == "summarize" {\n    use small\n  }\n',
    ),
    ['routes reordered (the first that matches is chosen): chat, summaries, deep → chat, deep, summaries'],
  ],
  [
    'condition',
    edit(
      'route chat when capability == "chat" {',
      'route chat when capability == "chat" and mode == interactive {',
    ),
    ['route chat: when capability == "chat" → capability == "chat" and mode == interactive'],
  ],
  [
    'primary model',
    edit('use small timeout 5s retries 1', 'use large timeout 5s retries 1'),
    ['route chat: use small timeout 5s retries 1 → use large timeout 5s retries 1'],
  ],
  ['fallback removed', edit('    fallback large\n', ''), ['route chat: fallback large removed']],
  [
    'fallback added',
    edit('    use small\n  }\n\n  route deep', '    use small\n    fallback large\n  }\n\n  route deep'),
    ['route summaries: fallback large added'],
  ],
  [
    'escalation condition',
    edit('escalate large when output.truncated', 'escalate large when output.truncated or output.empty'),
    ['route chat: escalate large when output.truncated → output.truncated or output.empty'],
  ],
  [
    'split',
    edit(
      '  route summaries when capability == "summarize" {\n    use small',
      '  route summaries when capability == "summarize" {\n    split small 70%, large 30%',
    ),
    ['route summaries: use small → split small 70%, large 30%'],
  ],
  [
    'timeout',
    edit('use small timeout 5s retries 1', 'use small timeout 8s retries 1'),
    ['route chat: use small timeout 5s → 8s'],
  ],
  [
    'retries',
    edit('use small timeout 5s retries 1', 'use small timeout 5s retries 3'),
    ['route chat: use small retries 1 → 3'],
  ],
  ['deadline', edit('deadline 30s', 'deadline 45s'), ['route deep: deadline 30s → 45s']],
  [
    'execution',
    edit('    use large\n    deadline 30s', '    use large\n    deadline 30s\n    execution direct'),
    ['route deep: execution durable → direct'],
  ],
  [
    'price',
    edit(
      'price input $0.0025 per 1k, output $0.01 per 1k',
      'price input $0.003 per 1k, output $0.012 per 1k',
    ),
    [
      'model large: input price $0.0025 per 1k → $0.003 per 1k',
      'model large: output price $0.01 per 1k → $0.012 per 1k',
    ],
  ],
  ['model context', edit('context 8k', 'context 16k'), ['model small: context 8k → 16k']],
  [
    'provider timeout',
    edit('timeout 30s\n  private', 'timeout 45s\n  private'),
    ['provider local: timeout 30s → 45s'],
  ],
  [
    'provider no longer private',
    edit('  timeout 30s\n  private\n', '  timeout 30s\n'),
    ['provider local: no longer private (external)'],
  ],
  [
    'budget limit',
    edit('limit $500 per month', 'limit $800 per month'),
    ['budget monthly: limit $500 per month → $800 per month'],
  ],
  [
    'budget on-exceed',
    edit('on-exceed downgrade small', 'on-exceed reject'),
    ['budget monthly: on-exceed downgrade small → reject'],
  ],
  [
    'rate limit',
    edit('60 requests per minute', '30 requests per minute\n    100k tokens per minute'),
    [
      'rate-limit burst: limit 60 requests per minute → 30 requests per minute',
      'rate-limit burst: limit 100k tokens per minute added',
    ],
  ],
  ['guard', edit('redact email', 'redact email, phone'), ['guard pii: now redacts phone']],
  [
    'guard added',
    edit('  require private', '  guard size before all {\n    max-input 32k\n  }\n\n  require private'),
    ['guard size: added: before all; max-input 32k'],
  ],
  [
    'data rule added',
    edit(
      '  require private when classification >= confidential\n',
      '  require private when classification >= confidential\n  require region "eu" when tag.residency == "eu"\n',
    ),
    ['data rules: `require region "eu" when tag.residency == "eu"` added'],
  ],
  [
    'data rule removed',
    edit('  require private when classification >= confidential\n', ''),
    ['data rules: `require private when classification >= confidential` removed'],
  ],
  [
    'otherwise',
    edit('otherwise reject "not served here"', 'otherwise route chat'),
    ['otherwise: reject "not served here" → route chat'],
  ],
  ['audit', edit('prompts hashed', 'prompts none'), ['audit: prompts hashed → none']],
];

describe('switchyard diff: one sentence per kind of change', () => {
  it.each(CASES)('%s', async (_kind, after, expected) => {
    const { exitCode, changes } = await changesOf(after);
    expect(exitCode).toBe(1);
    expect(changes).toEqual(expected);
  });
});

describe('switchyard diff: what a change does to requests', () => {
  it('names the tests whose route, model or outcome changes', async () => {
    const after = edit(
      '  route summaries when capability == "summarize" {\n    use small\n  }\n',
      '  route summaries when capability == "summarize" {\n    use large\n  }\n',
    );
    const { requests } = await changesOf(after);
    expect(requests).toEqual([
      'requests that change (1 of 2):',
      `test "summaries on the small model" (${path.join(tmp, `v${n - 1}`, 'shop.policy')}:${lineOf('test "summaries')}): model small → large`,
    ]);
  });

  it('a reorder reroutes the requests both routes match', async () => {
    const vip = '  route vip when team == "vip" {\n    use large\n  }\n\n';
    const withVip = edit('  route chat when', `${vip}  route chat when`).concat(
      '\ntest "a vip chat" for shop {\n  request { capability "chat" team "vip" }\n  expect route vip\n}\n',
    );
    const reordered = withVip
      .replace(vip, '')
      .replace('  route summaries when', `${vip}  route summaries when`)
      .replace('expect route vip', 'expect route chat');
    const result = await diff([write(withVip), write(reordered)]);
    const lines = result
      .stdout!.split('\n')
      .slice(3, -1)
      .map((l) => l.trim());
    expect(lines).toEqual([
      'routes reordered (the first that matches is chosen): vip, chat, summaries, deep → chat, vip, summaries, deep',
      'requests that change (1 of 3):',
      `test "a vip chat" (${path.join(tmp, `v${n - 1}`, 'shop.policy')}:${reordered.split('\n').findIndex((l) => l.startsWith('test "a vip chat"')) + 1}): route vip → chat; model large → small`,
    ]);
  });

  it('says when a request is newly refused, and by what', async () => {
    const after = edit(
      'route chat when capability == "chat" {',
      'route chat when capability == "chat" and team == "support" {',
    );
    const { requests } = await changesOf(after);
    expect(requests[0]).toBe('requests that change (1 of 2):');
    expect(requests[1]).toBe(
      `test "chat on the small model" (${path.join(tmp, `v${n - 1}`, 'shop.policy')}:${lineOf('test "chat')}): served → rejected (not served here); route chat → none; model small → none`,
    );
  });
});

describe('switchyard diff: equal plans, hashes, JSON, compiled plans, errors', () => {
  it('equal: exit 0, both sides named by hash', async () => {
    const result = await diff([write(BASE), write(BASE)]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /^policy shop: unchanged \(sha256:[0-9a-f]{64}\)\n0 changed, 0 added, 0 removed, 1 unchanged$/,
    );
  });

  it('text: the old and new hashes', async () => {
    const result = await diff([write(BASE), write(edit('prompts hashed', 'prompts none'))]);
    const lines = result.stdout!.split('\n');
    expect(lines[0]).toBe('policy shop: changed');
    expect(lines[1]).toMatch(/^ {2}old sha256:[0-9a-f]{64} {2}\S+shop\.policy$/);
    expect(lines[2]).toMatch(/^ {2}new sha256:[0-9a-f]{64} {2}\S+shop\.policy$/);
    expect(lines[1]!.slice(6, 77)).not.toBe(lines[2]!.slice(6, 77));
    expect(lines.at(-1)).toBe('1 changed, 0 added, 0 removed, 0 unchanged');
  });

  it('--format json: each change with its kind, the reroutes with before and after', async () => {
    const after = edit('    use small\n  }\n\n  route deep', '    use large\n  }\n\n  route deep');
    const result = await diff([write(BASE), write(after), '--format', 'json']);
    expect(result.exitCode).toBe(1);
    const json = JSON.parse(result.stdout!) as {
      equal: boolean;
      policies: {
        policy: string;
        status: string;
        old: { hash: string };
        new: { hash: string };
        changes: unknown[];
        reroutes: unknown[];
      }[];
    };
    expect(json.equal).toBe(false);
    expect(json.policies[0]).toMatchObject({
      policy: 'shop',
      status: 'changed',
      changes: [
        { kind: 'chain', subject: 'route summaries', text: 'route summaries: use small → use large' },
      ],
      reroutes: [
        {
          request: 'test "summaries on the small model"',
          before: { status: 'served', route: 'summaries', model: 'small' },
          after: { status: 'served', route: 'summaries', model: 'large' },
          text: 'model small → large',
        },
      ],
    });
    expect(json.policies[0]!.old.hash).not.toBe(json.policies[0]!.new.hash);
  });

  it('a compiled plan on one side, policies on the other; policies added and removed', async () => {
    const dir = write(BASE);
    const out = path.join(tmp, 'shop.json');
    expect((await compile([path.join(dir, 'shop.policy'), '-o', out])).exitCode).toBe(0);
    expect((await diff([out, dir])).exitCode).toBe(0);
    const renamed = write(
      BASE.replace('policy shop {', 'policy store {').replaceAll(' for shop {', ' for store {'),
    );
    const result = await diff([out, renamed]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /^policy shop: removed \(was sha256:[0-9a-f]{64}, .*shop\.json\)\npolicy store: added \(sha256:[0-9a-f]{64}, .*shop\.policy\)\n0 changed, 1 added, 1 removed, 0 unchanged$/,
    );
  });

  it('errors: exit 2 with a code and file:line:col', async () => {
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"format": "switchyard.plan/v1",\n  "name": "x",, }\n');
    await expect(diff([bad, write(BASE)])).rejects.toMatchObject({
      code: 'E-DIFF-JSON',
      exitCode: 2,
      message: expect.stringMatching(/bad\.json:2:15: not valid JSON/),
    });
    const broken = write(edit('use small timeout 5s', 'use tiny timeout 5s'));
    const result = await diff([write(BASE), broken]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/shop\.policy:\d+:9: error SY011-unknown-reference unknown model 'tiny'/);
    await expect(diff([path.join(tmp, 'nothing-here'), write(BASE)])).rejects.toMatchObject({
      code: 'E-DIFF-INPUT',
      exitCode: 2,
    });
  });
});
