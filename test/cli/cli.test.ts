/**
 * The real `switchyard` binary, spawned as a user runs it (needs `npm run build`: CI builds first).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePlan } from '../../dsl/compiler/index.js';
import { openStore } from '../../store/index.js';
import type { AuditInput } from '../../store/types.js';
import { backends, type Backend } from '../store/backends.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin', 'switchyard.js');
let tmp: string;

function run(
  args: string[],
  input?: string,
  env: NodeJS.ProcessEnv = process.env,
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
    env,
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function examplePolicies(): string[] {
  return (fs.readdirSync(path.join(root, 'examples'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.policy'))
    .map((f) => path.join(root, 'examples', f));
}

function noStackTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'bundle', 'switchyard.mjs'))) {
    throw new Error('dist/bundle/switchyard.mjs is missing: run `npm run build` first');
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('switchyard check', () => {
  it('passes the examples with warnings only, and prints their codes and positions', () => {
    const { code, stdout } = run(['check', 'examples/']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^examples\/support\.policy:43:14: warning SY\d+-deadline-too-short deadline 8s/m);
    expect(stdout.trim().split('\n').at(-1)).toMatch(
      new RegExp(`^0 errors, \\d+ warnings? in ${examplePolicies().length} files$`),
    );
  });

  it('reports an error as file:line:col with a code frame and exits 1', () => {
    const file = path.join(tmp, 'bad.policy');
    fs.writeFileSync(file, 'policy p {\n  route r when true {\n    use gpt-5\n  }\n}\n');
    const { code, stdout } = run(['check', file]);
    expect(code).toBe(1);
    const line = stdout.split('\n').find((l) => l.includes(' error '))!;
    expect(line).toMatch(/bad\.policy:3:9: error \S+ .*gpt-5/);
    expect(stdout).toContain('  3 |     use gpt-5\n    |         ^^^^^');
    noStackTrace(stdout);
  });

  it('prints a plain syntax error, not token names', () => {
    const file = path.join(tmp, 'syntax.policy');
    fs.writeFileSync(file, 'provider p {\n  kind ollama\n  timeout 5\n}\n');
    const { code, stdout } = run(['check', '--no-frame', file]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/syntax\.policy:3:11: error \S+ expected a duration such as 5s, found 5/);
    expect(stdout).not.toMatch(/DURATION|RULE|token of type/);
  });

  it('gives --format json with every diagnostic', () => {
    const { code, stdout } = run(['check', '--format', 'json', 'examples/support.policy']);
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as {
      files: number;
      diagnostics: { code: string; line: number; severity: string }[];
    };
    expect(json.files).toBe(2);
    expect(json.diagnostics.every((d) => d.severity === 'warning' && d.code && d.line > 0)).toBe(true);
  });

  it.each([
    [
      ['check', 'no-such.policy'],
      1,
      /^switchyard check: error E-FILE-MISSING no such file: no-such\.policy\n$/,
    ],
    [['check', process.execPath], 1, /error E-FILE-BINARY .* is a binary file/],
    [['check'], 2, /needs at least one FILE/],
    [['check', '--frobnicate', 'x'], 2, /Unknown option '--frobnicate'/],
    [['nope'], 2, /unknown command 'nope'/],
  ])('refuses %j with one line and exit %i', (args, exit, message) => {
    const { code, stderr } = run(args as string[]);
    expect(code).toBe(exit);
    expect(stderr).toMatch(message);
    noStackTrace(stderr);
  });

  it('answers --help with exit 0 for every command', () => {
    for (const command of ['check', 'compile', 'explain', 'test']) {
      const { code, stdout } = run([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^usage: switchyard ${command}`));
    }
  });
});

describe('switchyard compile', () => {
  it('writes a canonical, schema-valid plan whose hash is stable', () => {
    const out = path.join(tmp, 'support.plan.json');
    const first = run(['compile', 'examples/support.policy', '-o', out]);
    expect(first.code).toBe(0);
    const bytes = fs.readFileSync(out, 'utf8');
    const plan = JSON.parse(bytes) as { name: string; hash: string };
    expect(validatePlan(plan)).toEqual({ ok: true, errors: [] });
    expect(plan.name).toBe('support');
    expect(plan.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.stderr).toContain(`wrote ${out} (support ${plan.hash})`);
    const again = run(['compile', 'examples/support.policy']);
    expect(again.stdout).toBe(bytes);
  });

  it('refuses a file without a policy', () => {
    const { code, stderr } = run(['compile', 'examples/catalog.policy']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/error E-NO-POLICY examples\/catalog\.policy declares no policy/);
  });
});

describe('switchyard explain', () => {
  it('explains a confidential request: the external primary is excluded with the rule', () => {
    const { code, stdout } = run([
      'explain',
      'examples/support.policy',
      '--request',
      'examples/requests/confidential-reasoning.json',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^route\s+reasoning\s+when capability == "reasoning"$/m);
    expect(stdout).toMatch(/^chain\s+1\. llama-8b \(primary; gpu-east, private/m);
    expect(stdout).toContain(
      'excluded   gpt-4o (primary): provider openai is external [require private when classification >= confidential]',
    );
  });

  it('prints the decision trace as JSON from standard input', () => {
    const request = fs.readFileSync(path.join(root, 'examples/requests/chat.json'), 'utf8');
    const { code, stdout } = run(
      ['explain', 'examples/support.policy', '--request', '-', '--format', 'json'],
      request,
    );
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as {
      decision: { route: string; chain: { model: string; role: string }[] };
      ifEveryModelAnswers: { status: string; model: string };
    };
    expect(json.decision.route).toBe('interactive');
    expect(json.decision.chain.map((c) => `${c.model}:${c.role}`)).toEqual([
      'llama-8b:primary',
      'gpt-4o:fallback',
      'gpt-4o:escalation',
    ]);
    expect(json.ifEveryModelAnswers).toMatchObject({ status: 'served', model: 'llama-8b' });
  });

  it.each([
    ['{"policy": "support", "capability": "chat"', /error E-REQUEST-JSON standard input is not valid JSON/],
    ['{"policy": "support", "capability": "chat"}', /error E-REQUEST-INVALID field 'messages' is required/],
    [
      '{"policy": "support", "capability": "chat", "messages": [], "mode": "fast"}',
      /field 'messages' must NOT have fewer than 1 items|field 'mode' must be one of/,
    ],
    [
      '{"policy": "nope", "capability": "chat", "messages": [{"role":"user","content":"hi"}]}',
      /error E-REQUEST-POLICY .*'nope'/,
    ],
  ])('refuses a bad request %s with one line and exit 1', (input, message) => {
    const { code, stderr } = run(['explain', 'examples/support.policy', '--request', '-'], input);
    expect(code).toBe(1);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('needs --request (usage, exit 2)', () => {
    expect(run(['explain', 'examples/support.policy']).code).toBe(2);
  });
});

describe('switchyard test', () => {
  it('runs the examples and ends with the count line', () => {
    const { code, stdout } = run(['test', 'examples/']);
    expect(code).toBe(0);
    expect(stdout).toContain(
      '  ok   falls back when the pool is down  (route interactive [direct] → gpt-4o, 4 attempts)',
    );
    const tests = examplePolicies().reduce(
      (n, f) => n + (fs.readFileSync(f, 'utf8').match(/^test "/gm) ?? []).length,
      0,
    );
    expect(tests).toBeGreaterThanOrEqual(6);
    expect(stdout.trim().split('\n').at(-1)).toBe(`${tests} passed, 0 failed`);
  });

  it('reports a failing expectation with its position and exits 1', () => {
    const file = path.join(tmp, 'failing.policy');
    fs.copyFileSync(path.join(root, 'examples/catalog.policy'), path.join(tmp, 'catalog.policy'));
    fs.writeFileSync(
      file,
      [
        'import "catalog.policy"',
        'policy p {',
        '  route chat when capability == "chat" {',
        '    use llama-8b',
        '  }',
        '  otherwise reject "nope"',
        '}',
        'test "expects the wrong model" for p {',
        '  request { capability "chat" }',
        '  expect model gpt-4o',
        '}',
        'test "refused" for p {',
        '  request { capability "poetry" }',
        '  expect reject "nope"',
        '}',
        '',
      ].join('\n'),
    );
    const { code, stdout } = run(['test', file]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAIL expects the wrong model/);
    expect(stdout).toMatch(/failing\.policy:8: expected model gpt-4o, got llama-8b/);
    expect(stdout).toMatch(/ok {3}refused/);
    expect(stdout.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
  });
});

const BACKENDS = await backends();

/** A served request's audit record, as the workflow appends it. */
function auditInput(id: string, time: string): AuditInput {
  return {
    id,
    time,
    caller: { team: 'support', app: 'helpdesk', user: null },
    capability: 'chat',
    classification: 'internal',
    mode: 'interactive',
    policy: 'support',
    plan: 'sha256:abc',
    route: 'interactive',
    model: 'llama-8b',
    provider: 'gpu-east',
    status: 'served',
    reason: null,
    attempts: [],
    usage: { inputTokens: 31, outputTokens: 54 },
    costNanos: 13_900,
    cost: '0.0000139',
    guards: [],
    budgets: [],
    rateLimits: [],
    prompts: { mode: 'none', messages: [], answer: null },
  };
}
afterAll(async () => {
  for (const backend of BACKENDS) await backend.cleanup();
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))(
  'switchyard audit prune (%s store)',
  (_name, backend: Backend) => {
    if (backend.broken !== undefined) {
      it('reaches the PostgreSQL server it was given', () => {
        throw new Error(backend.broken);
      });
      return;
    }
    if (backend.unavailable !== null) {
      it.skip(`skipped: ${backend.unavailable}`, () => undefined);
      return;
    }

    it('deletes the records past their retention, oldest first; verify then reports them as pruned', async () => {
      const url = backend.freshUrl();
      const store = await openStore(url);
      const day = 86_400_000;
      const now = Date.now();
      try {
        // Two records past a 30-day retention, one kept forever, one past its retention after it.
        for (const [id, age, retainDays] of [
          ['expired-1', 40, 30],
          ['expired-2', 35, 30],
          ['forever', 34, null],
          ['expired-3', 33, 30],
        ] as const) {
          await store.appendAudit({
            ...auditInput(id, new Date(now - age * day).toISOString()),
            retainDays,
          });
        }
      } finally {
        await store.close();
      }

      const pruned = run(['audit', 'prune', '--store', url]);
      expect(pruned).toEqual({
        code: 0,
        stdout: 'pruned 2 records; the chain now starts after #2\n',
        stderr: '',
      });
      // The same store named by SWITCHYARD_STORE; nothing more is due (the forever record holds #4 back).
      const again = run(['audit', 'prune'], undefined, { ...process.env, SWITCHYARD_STORE: url });
      expect(again).toEqual({
        code: 0,
        stdout: 'pruned 0 records; the chain now starts after #2\n',
        stderr: '',
      });
      const verify = run(['audit', 'verify', '--store', url]);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(
        /^audit chain intact: 2 records, head sha256:[0-9a-f]{64}; 2 older records were pruned by retention \(the chain starts after #2\)\n$/,
      );
      const tail = run(['audit', 'tail', '--store', url]);
      expect(
        tail.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(/\s+/)[2]),
      ).toEqual(['forever', 'expired-3']);
    });

    it('has --help text, and refuses a missing store with one line', () => {
      const help = run(['audit', '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/switchyard audit prune \[--store URL\]/);
      expect(help.stdout).toMatch(
        /prune {3}deletes the records past their policy's 'audit \{ retain N days \}'/,
      );
      const missing = run(['audit', 'prune', '--store', `sqlite:${path.join(tmp, 'none.db')}`]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^switchyard audit: error E-STORE-MISSING no store at /);
      noStackTrace(missing.stderr);
    });
  },
);
