/**
 * `switchyard test --coverage` (docs/what-if.md): a policy whose tests leave known parts
 * unexercised yields exactly those items, in text, JSON and lcov; the examples reach 100%.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { test as testCommand } from '../../cli/commands/test.js';

const FILE = 'test/whatif/fixtures/partial.policy';

/** What the tests of partial.policy never reach, at file:line:col (the report's order). */
const UNCOVERED = [
  `${FILE}:12:5: rate-limit burst on-exceed reject ran`,
  `${FILE}:15:3: guard secrets fired`,
  `${FILE}:19:58: require private when: \`tag.residency == "eu"\` true`,
  `${FILE}:21:44: route chat when: \`mode == interactive or team == "support"\` false`,
  `${FILE}:21:45: route chat when: \`mode == interactive\` false`,
  `${FILE}:23:5: route chat: fallback gpt-4o ran`,
  `${FILE}:24:5: route chat: escalate gpt-4o ran`,
  `${FILE}:27:24: route reasoning when: \`capability == "reasoning"\` false`,
  `${FILE}:28:5: route reasoning: use gpt-4o ran`,
  `${FILE}:31:3: otherwise reject ran`,
];

describe('coverage of a policy with known gaps', () => {
  it('text: the totals, then exactly the uncovered items at file:line:col', async () => {
    const result = await testCommand(['--coverage', FILE]);
    expect(result.exitCode).toBe(0);
    const text = result.stdout!;
    const report = text.slice(text.indexOf('coverage:'));
    expect(report).toBe(
      [
        'coverage: 19 of 29 items (65.5%)',
        `  policy partial (${FILE}): 19 of 29 (65.5%)`,
        'not covered:',
        ...UNCOVERED.map((line) => `  ${line}`),
      ].join('\n'),
    );
    expect(text).toContain('3 passed, 0 failed\ncoverage:');
  });

  it('JSON: the same items, each with its kind, site, position and hits', async () => {
    const result = await testCommand(['--coverage', '--format', 'json', FILE]);
    const json = JSON.parse(result.stdout!) as {
      passed: number;
      coverage: {
        items: number;
        covered: number;
        percent: number;
        policies: { policy: string; plan: string; items: number; covered: number }[];
        uncovered: { file: string; line: number; column: number; label: string; hits: number }[];
        all: { kind: string; site: string; outcome?: boolean; hits: number }[];
      };
    };
    expect(json.passed).toBe(3);
    const { coverage } = json;
    expect(coverage).toMatchObject({ items: 29, covered: 19, percent: 65.5 });
    expect(coverage.policies).toEqual([
      expect.objectContaining({
        policy: 'partial',
        items: 29,
        covered: 19,
        plan: expect.stringMatching(/^sha256:/),
      }),
    ]);
    expect(coverage.uncovered.map((i) => `${i.file}:${i.line}:${i.column}: ${i.label}`)).toEqual(UNCOVERED);
    expect(coverage.uncovered.every((i) => i.hits === 0)).toBe(true);
    // Every kind of item is there, and counts are summed over tests.
    const kinds = new Set(coverage.all.map((i) => i.kind));
    expect([...kinds].sort()).toEqual(
      ['budget', 'chain', 'condition', 'guard', 'otherwise', 'rate-limit', 'require', 'route'].sort(),
    );
    expect(coverage.all.find((i) => i.site === 'route:chat')?.hits).toBe(2);
    expect(coverage.all.find((i) => i.site === 'budget:monthly')?.hits).toBe(1);
    expect(coverage.all.find((i) => i.site === 'require:0')?.hits).toBe(1);
    expect(coverage.all.find((i) => i.site === 'route:chat/when/1/0' && i.outcome === true)?.hits).toBe(3);
  });

  it('lcov: a DA line per route, chain entry, rule and on-exceed, a BRDA pair per condition operand', async () => {
    const result = await testCommand(['--format', 'lcov', FILE]);
    expect(result.exitCode).toBe(0);
    // The test lines go to standard error, so `> coverage.lcov` keeps only the tracefile.
    expect(result.stderr).toContain('3 passed, 0 failed');
    expect(result.stdout).toBe(
      [
        'TN:',
        `SF:${FILE}`,
        // require … when classification >= confidential or tag.residency == "eu": the whole, then each operand.
        'BRDA:19,0,0,1',
        'BRDA:19,0,1,2',
        'BRDA:19,1,0,1',
        'BRDA:19,1,1,2',
        'BRDA:19,2,0,0',
        'BRDA:19,2,1,3',
        // route chat: the whole `and`, capability, the `or`, mode, team.
        'BRDA:21,3,0,2',
        'BRDA:21,3,1,1',
        'BRDA:21,4,0,2',
        'BRDA:21,4,1,1',
        'BRDA:21,5,0,3',
        'BRDA:21,5,1,0',
        'BRDA:21,6,0,3',
        'BRDA:21,6,1,0',
        'BRDA:21,7,0,2',
        'BRDA:21,7,1,1',
        'BRDA:27,8,0,1',
        'BRDA:27,8,1,0',
        'BRF:18',
        'BRH:14',
        'DA:7,1',
        'DA:12,0',
        'DA:15,0',
        'DA:19,1',
        'DA:21,2',
        'DA:22,2',
        'DA:23,0',
        'DA:24,0',
        'DA:27,1',
        'DA:28,0',
        'DA:31,0',
        'LF:11',
        'LH:5',
        'end_of_record',
      ].join('\n'),
    );
  });

  it('--min: below the threshold the run fails with E-COVERAGE-MIN and exit 3; at it, passes', async () => {
    const below = await testCommand(['--coverage', '--min', '66', FILE]);
    expect(below.exitCode).toBe(3);
    expect(below.stderr).toBe(
      'switchyard test: error E-COVERAGE-MIN coverage 65.5% is below --min 66% (10 of 29 items not covered)',
    );
    const at = await testCommand(['--coverage', '--min', '65.5', FILE]);
    expect(at.exitCode).toBe(0);
    expect((await testCommand(['--min', '50', FILE])).usage).toBe('--min needs --coverage');
    expect((await testCommand(['--coverage', '--min', '120', FILE])).usage).toMatch(
      /--min takes a percentage/,
    );
  });

  it('not, a promoted fallback, a split, otherwise route, redact and after guards', async () => {
    const file = 'test/whatif/fixtures/shapes.policy';
    const result = await testCommand(['--coverage', '--format', 'json', file]);
    const { coverage } = JSON.parse(result.stdout!) as {
      coverage: {
        uncovered: { line: number; column: number; label: string }[];
        all: { site: string; outcome?: boolean; hits: number }[];
      };
    };
    expect(coverage.uncovered.map((i) => `${i.line}:${i.column}: ${i.label}`)).toEqual([
      '15:27: route general when: `team == "legal"` true',
      '20:3: route shared chosen',
      '20:21: route shared when: `team == "legal"` true',
      '21:11: route shared: split llama-8b ran',
      '21:25: route shared: split gpt-4o ran',
    ]);
    const hits = (site: string, outcome?: boolean): number | undefined =>
      coverage.all.find((i) => i.site === site && i.outcome === outcome)?.hits;
    // gpt-4o removed by `require private`: llama-8b, promoted to primary, counts as the fallback.
    expect(hits('route:general/primary')).toBe(1);
    expect(hits('route:general/fallback/0')).toBe(1);
    expect(hits('require:0')).toBe(1);
    // Chosen through `otherwise route general`: the route and `otherwise` both count.
    expect(hits('route:general')).toBe(2);
    expect(hits('otherwise')).toBe(1);
    // The operands under `not`, each evaluated on the request.
    expect(hits('route:general/when/not/1', true)).toBe(1);
    expect(hits('route:general/when/not/0', false)).toBe(2);
    expect(hits('guard:pii')).toBe(1);
    expect(hits('guard:answers')).toBe(1);
  });

  it('tests in a file that imports the policy cover the imported policy', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-coverage-'));
    try {
      const source = fs.readFileSync(FILE, 'utf8').split('\n');
      const firstTest = source.findIndex((line) => line.startsWith('test '));
      fs.copyFileSync('test/whatif/fixtures/catalog.policy', path.join(dir, 'catalog.policy'));
      fs.writeFileSync(path.join(dir, 'partial.policy'), source.slice(0, firstTest).join('\n'));
      const tests = ['import "partial.policy"', '', ...source.slice(firstTest)].join('\n');
      fs.writeFileSync(path.join(dir, 'partial-tests.policy'), tests);
      const result = await testCommand(['--coverage', path.join(dir, 'partial-tests.policy')]);
      const report = result.stdout!.slice(result.stdout!.indexOf('coverage:'));
      const policy = path.join(dir, 'partial.policy');
      expect(report.split('\n').slice(0, 2)).toEqual([
        'coverage: 19 of 29 items (65.5%)',
        `  policy partial (${policy}): 19 of 29 (65.5%)`,
      ]);
      expect(report).toContain(`  ${policy}:12:5: rate-limit burst on-exceed reject ran`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the examples reach 100%', async () => {
    const result = await testCommand(['--coverage', '--min', '100', 'examples/']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/\ncoverage: (\d+) of \1 items \(100\.0%\)\n/);
    expect(result.stdout).not.toContain('not covered:');
  });
});
