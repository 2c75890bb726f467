/**
 * `switchyard test --coverage` and `switchyard diff` through the real binary, as CI runs them
 * (needs `npm run build`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin', 'switchyard.js');
const partial = 'test/whatif/fixtures/partial.policy';
let tmp: string;

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'bundle', 'switchyard.mjs'))) {
    throw new Error('dist/bundle/switchyard.mjs is missing: run `npm run build` first');
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-whatif-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('switchyard test --coverage', () => {
  it("CI's step: the examples at --min 100 exit 0", () => {
    const { code, stdout, stderr } = run(['test', '--coverage', '--min', '100', 'examples/']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/\n\d+ passed, 0 failed\ncoverage: (\d+) of \1 items \(100\.0%\)\n/);
  });

  it('below --min: exit 3, the code and the figures on standard error, no stack trace', () => {
    const { code, stdout, stderr } = run(['test', '--coverage', '--min', '100', partial]);
    expect(code).toBe(3);
    expect(stdout).toContain('not covered:');
    expect(stderr).toBe(
      'switchyard test: error E-COVERAGE-MIN coverage 65.5% is below --min 100% (10 of 29 items not covered)\n',
    );
  });

  it('--format lcov writes only the tracefile on standard output', () => {
    const { code, stdout, stderr } = run(['test', '--format', 'lcov', partial]);
    expect(code).toBe(0);
    expect(stdout.startsWith(`TN:\nSF:${partial}\nBRDA:`)).toBe(true);
    expect(stdout.trimEnd().endsWith('LF:11\nLH:5\nend_of_record')).toBe(true);
    expect(stderr).toContain('3 passed, 0 failed');
  });

  it('bad --min is a usage error (exit 2)', () => {
    const { code, stderr } = run(['test', '--coverage', '--min', 'most', partial]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--min takes a percentage from 0 to 100, not 'most'/);
  });
});

describe('switchyard diff', () => {
  it('exit 0 for the same policies, 1 for a change, 2 for an input that does not parse', () => {
    expect(run(['diff', 'examples/', 'examples/']).code).toBe(0);

    const changed = path.join(tmp, 'changed');
    fs.mkdirSync(changed);
    fs.copyFileSync(path.join(root, 'examples/catalog.policy'), path.join(changed, 'catalog.policy'));
    fs.mkdirSync(path.join(changed, 'schemas'));
    fs.copyFileSync(
      path.join(root, 'examples/schemas/ticket.json'),
      path.join(changed, 'schemas/ticket.json'),
    );
    const support = fs.readFileSync(path.join(root, 'examples/support.policy'), 'utf8');
    fs.writeFileSync(
      path.join(changed, 'support.policy'),
      support.replace('limit $500 per month', 'limit $800 per month'),
    );
    const diff = run(['diff', 'examples/support.policy', path.join(changed, 'support.policy')]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain('  budget team-monthly: limit $500 per month → $800 per month\n');
    expect(diff.stdout).toMatch(
      /\n {4}test "spent budget downgrades" \(.*support\.policy:\d+\): model llama-8b → gpt-4o\n/,
    );

    const bad = path.join(tmp, 'plan.json');
    fs.writeFileSync(bad, '{ "format": ');
    const error = run(['diff', bad, 'examples/support.policy']);
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(/^switchyard diff: error E-DIFF-JSON .*plan\.json:1:13: not valid JSON/);
    expect(error.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });
});
