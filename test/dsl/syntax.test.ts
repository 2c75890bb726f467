/**
 * Syntax errors in plain language, and input that would break a recursive-descent parser or a
 * naive lexer: deep nesting, long chains, 200k-character lines, 50k-line files.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_SYNTAX_ERRORS } from '../../dsl/validation/document-validator.js';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';
import { type Diag, at, diagnoseText } from './helpers.js';

/** Token or rule names must never reach a user. */
const INTERNAL_NAMES =
  /\b(DURATION|TOKENS|MONEY|PERCENT|INT|STRING|REGEX|ID|EOF|RULE|Invalid[A-Z]\w*|UnclosedComment)\b|token of type|Expecting|\u200B/;

const CATALOG = `
provider gpu { kind ollama endpoints "http://localhost:11434" private }
model small { provider gpu context 8k capabilities chat }
`;

// Langium logs (and swallows) exceptions thrown by checks: none may happen.
let consoleError: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error');
});
afterEach(() => {
  expect(consoleError).not.toHaveBeenCalled();
  consoleError.mockRestore();
});

async function syntax(text: string): Promise<Diag[]> {
  const diags = await diagnoseText({ 'virtual-syntax.policy': text });
  return diags.filter((d) => d.code.startsWith('SY00'));
}

async function firstSyntax(text: string): Promise<string> {
  const diags = await syntax(text);
  expect(diags.length, text).toBeGreaterThan(0);
  return `${at(diags[0]!)}: ${diags[0]!.message}`;
}

describe('syntax errors read as plain language', () => {
  const cases: [string, string][] = [
    ['provider p {\n  timeout 5\n}', 'SY001-syntax at 2:11: expected a duration such as 5s, found 5'],
    [
      'policy support {\n  route r when true { use m }\n',
      "SY001-syntax at 2:30: expected '}' to close policy 'support', found end of file",
    ],
    [
      'model m {\n  context 8K\n}',
      'SY002-invalid-token at 2:11: 8K is not a number: token suffixes are k and M (lowercase k)',
    ],
    [
      'provider p {\n  timeout 2backoff\n}',
      'SY002-invalid-token at 2:11: 2backoff: a number must be followed by a space',
    ],
    [
      'policy p {\n  description "abc\n}',
      'SY002-invalid-token at 2:15: unterminated string "abc: a string must end with " on the same line',
    ],
    [
      'policy p { description "a\\nb" }',
      'SY002-invalid-token at 1:24: unknown escape \\n in string "a\\nb": strings know only \\" and \\\\',
    ],
    [
      'model m { context 1.5k }',
      'SY002-invalid-token at 1:19: 1.5k is not a token count: token counts are whole numbers (write 1500)',
    ],
    [
      'provider p { timeout 1.5s }',
      'SY002-invalid-token at 1:22: 1.5s is not a duration: durations are whole numbers (write 1500ms)',
    ],
    [
      'provider p { timeout 10sec }',
      'SY002-invalid-token at 1:22: 10sec is not a duration: duration suffixes are ms, s, m and h',
    ],
    [
      'model m { price input $5x per 1k }',
      'SY002-invalid-token at 1:23: $5x is not an amount: write dollars and cents like $0.50, followed by a space',
    ],
    [
      'policy p { guard g before all {\n block /[a-z/\n } }',
      'SY002-invalid-token at 2:8: unterminated regular expression /[a-z/: a regular expression must end with / on the same line',
    ],
    [
      '/* never closed\nprovider p { }',
      'SY002-invalid-token at 1:1: unterminated comment: /* is never closed with */',
    ],
    ['provider p { kind ollama } @', "SY002-invalid-token at 1:28: unexpected character '@'"],
    [
      'provider caf\u00e9 { }',
      "SY002-invalid-token at 1:13: unexpected character '\u00e9': names and keywords are ASCII",
    ],
    [
      'model and { }',
      "SY004-reserved-name at 1:7: 'and' is a reserved word and cannot be a name (and, or, not, in and true are reserved)",
    ],
    [
      'policy p { route true when true { } }',
      "SY004-reserved-name at 1:18: 'true' is a reserved word and cannot be a name (and, or, not, in and true are reserved)",
    ],
    [
      'policy p {\n  foo\n}',
      "SY001-syntax at 2:3: unexpected foo in policy 'p': expected version, owner, description, budget, rate-limit, guard, require, route, otherwise, audit, or '}' to close it",
    ],
    ['provider p { kind foo }', "SY001-syntax at 1:19: expected 'ollama', 'openai' or 'embedded', found foo"],
    [
      'policy p { budget b per galaxy { limit $1 per month } }',
      'SY001-syntax at 1:25: expected team, app, user or policy, found galaxy',
    ],
    [
      'policy p { route r when true use m }',
      "SY001-syntax at 1:30: expected '{' to open route 'r', found use",
    ],
    [
      'policy p { route r when team == { use m } }',
      'SY001-syntax at 1:33: expected a value (a string such as "chat", a number, a duration, an amount or a name), found {',
    ],
    [
      'policy p { route r when and { } }',
      'SY001-syntax at 1:25: expected a condition such as capability == "chat", found and',
    ],
    ['test t for p { }', 'SY001-syntax at 1:6: expected a string in double quotes, found t'],
    ['policy p { } }', "SY001-syntax at 1:14: unexpected '}': no block is open here"],
    [
      'route r when true { }',
      'SY001-syntax at 1:1: unexpected route: expected import, provider, model, policy or test',
    ],
  ];
  for (const [text, message] of cases) {
    it(JSON.stringify(text), async () => {
      expect(await firstSyntax(text)).toBe(message);
    });
  }

  it('never name tokens or grammar rules', async () => {
    const broken = [
      ...cases.map(([text]) => text),
      'provider',
      'model m {',
      'policy p { route',
      'policy p { route r when',
      'policy p { route r when team ==',
      'policy p { route r when team in [',
      'policy p { route r when true { use',
      'policy p { route r when true { use m max-tokens',
      'policy p { route r when true { split m',
      'policy p { budget b { limit',
      'policy p { rate-limit { 600',
      'policy p { guard g',
      'policy p { guard g before',
      'policy p { guard g before route',
      'policy p { require',
      'policy p { otherwise',
      'policy p { audit { prompts',
      'test "t" for',
      'test "t" for p { given',
      'test "t" for p { given m fails',
      'test "t" for p { expect route',
      'import',
      'provider p { api-key',
      'provider p { api-key env',
      ')',
      '}',
      ']',
      '==',
      'policy p { route r when (team == "a" { use m } }',
      'policy p { route r when not { use m } }',
    ];
    for (const text of broken) {
      const diags = await syntax(text);
      expect(diags.length, text).toBeGreaterThan(0);
      for (const d of diags) {
        expect(d.message, text).not.toMatch(INTERNAL_NAMES);
        expect([IssueCodes.SyntaxError, IssueCodes.InvalidToken, IssueCodes.ReservedName]).toContain(d.code);
      }
    }
  });

  it(`stop at ${MAX_SYNTAX_ERRORS} syntax errors per file and count the rest`, async () => {
    const diags = await syntax('@ '.repeat(250));
    expect(diags).toHaveLength(MAX_SYNTAX_ERRORS + 1);
    expect(diags[MAX_SYNTAX_ERRORS]!.message).toBe(
      '150 more syntax errors not shown (fix the ones above first)',
    );
  });
});

describe('robustness', () => {
  const route = (when: string): string =>
    `${CATALOG}\npolicy p {\n  route r when ${when} {\n    use small\n  }\n}\n`;

  it('reports parentheses nested 10,000 deep at the 65th level', async () => {
    const diags = await syntax(route(`${'('.repeat(10_000)}true${')'.repeat(10_000)}`));
    // `  route r when ` is 15 characters: the 65th `(` is in column 16 + 64.
    expect(diags.map(at)).toEqual(['SY003-nesting-too-deep at 6:80']);
    expect(diags[0]!.message).toBe('conditions nest deeper than 64 levels (parentheses and not)');
  });

  it('reports 10,000 nots', async () => {
    const diags = await syntax(route(`${'not '.repeat(10_000)}true`));
    expect(diags.map((d) => d.code)).toEqual([IssueCodes.NestingTooDeep]);
  });

  it('reports 10,000 unclosed parentheses without a stack overflow', async () => {
    const diags = await syntax(route(`${'('.repeat(10_000)}true`));
    expect(diags.map((d) => d.code)).toContain(IssueCodes.NestingTooDeep);
  });

  it('accepts 64 levels of parentheses and not', async () => {
    const diags = await diagnoseText({
      'virtual-deep.policy': route(`${'not ('.repeat(32)}true${')'.repeat(32)}`),
    });
    expect(diags.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('reports a chain of 10,000 or', async () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => `team == "t${i}"`).join(' or ');
    const diags = await syntax(route(chain));
    expect(diags.map((d) => d.code)).toEqual([IssueCodes.NestingTooDeep]);
    expect(diags[0]!.message).toMatch(/at most 1000 comparisons/);
  });

  it('accepts a chain of 1,000 and/or and validates it', async () => {
    const chain = Array.from({ length: 500 }, (_, i) => `team == "t${i}" and app != "a${i}"`).join(' or ');
    const diags = await diagnoseText({ 'virtual-chain.policy': route(chain) });
    expect(diags.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('handles 200k-character lines quickly', async () => {
    const started = Date.now();
    const inputs = [
      `policy p { description "${'a'.repeat(200_000)}" }`,
      `policy p { description "${'\\"'.repeat(100_000)} }`,
      `policy p { guard g before all { block ${'/['.repeat(100_000)} } }`,
      `${'/*a'.repeat(70_000)}`,
      `model m { context ${'1'.repeat(200_000)}x }`,
      `policy p { route r when ${'(team == "a") or '.repeat(12_000)}true { } }`,
    ];
    for (const text of inputs) {
      const diags = await diagnoseText({ 'virtual-long.policy': text });
      for (const d of diags) expect(d.message.length).toBeLessThan(400);
    }
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('loads a generated 50k-line workspace in roughly linear time', async () => {
    const text = generatedPolicies(50_000);
    const started = performance.now();
    const diags = await diagnoseText({ 'virtual-50k.policy': text });
    const elapsed = performance.now() - started;
    console.log(`50k-line file: loaded and validated in ${Math.round(elapsed)} ms`);
    expect(diags).toEqual([]);
    // Typically 2–4 s on a 2-core machine; a quadratic step would take minutes.
    expect(elapsed).toBeLessThan(30_000);
  }, 60_000);
});

/** A catalog and many policies with routes, budgets, guards and tests: `lines` lines, no diagnostics. */
function generatedPolicies(lines: number): string {
  const out: string[] = [];
  const providers = 50;
  const models = 200;
  const capabilities = Array.from({ length: 20 }, (_, c) => `c${c}`).join(', ');
  for (let i = 0; i < providers; i++) {
    out.push(
      `provider p${i} {`,
      '  kind ollama',
      `  endpoints "http://gpu-${i}:11434"`,
      '  timeout 30s',
      '  private',
      '}',
    );
  }
  for (let i = 0; i < models; i++) {
    out.push(
      `model m${i} {`,
      `  provider p${i % providers}`,
      '  context 128k',
      `  capabilities ${capabilities}`,
    );
    out.push(`  price input $0.000${(i % 9) + 1} per 1k, output $0.001 per 1k`, '}');
  }
  for (let n = 0; out.length < lines; n++) {
    out.push(
      `policy pol${n} {`,
      `  version ${n}`,
      '  budget b per team {',
      '    limit $500 per month',
      '    on-exceed reject',
      '  }',
    );
    out.push('  guard g before all {', '    block /secret-[0-9]+/i "no secrets"', '  }');
    out.push('  require private when classification >= confidential');
    for (let r = 0; r < 20; r++) {
      out.push(`  route r${r} when capability == "c${r}" and team in ["a", "b"] {`);
      out.push(
        `    use m${(n + r) % models} timeout 5s retries 1`,
        `    fallback m${(n + r + 1) % models}`,
        '    deadline 2m',
        '  }',
      );
    }
    out.push('  otherwise reject "no route"', '}');
    out.push(
      `test "t${n}" for pol${n} {`,
      '  request { capability "c1" team "a" }',
      '  expect route r1',
      '}',
    );
  }
  return out.join('\n') + '\n';
}
