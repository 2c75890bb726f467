/**
 * What `--coverage` adds to `switchyard test` on examples/ (issue 13: at most 20%). Two views:
 * the whole command as a user runs it (a process each, node start included), and the command's
 * work in this process (the workspace loaded and compiled, the tests run, the report written).
 * Runs alternate with and without coverage so that machine noise falls on both alike.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as testCommand } from '../cli/commands/test.js';
import { coverageReport, coverageText } from '../cli/coverage.js';
import { compileFiles } from '../cli/plans.js';
import { compileTests, coverageSites, type SourceSite } from '../dsl/compiler/index.js';
import { addCoverage, type CoverageHits } from '../plan/coverage.js';
import { runTest } from '../plan/testing.js';
import { percentile, summarise, type BenchResult } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'switchyard.js');
const examples = path.join(root, 'examples');

function spawnMs(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`switchyard ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function inProcessMs(args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  const result = await testCommand(args);
  if (result.exitCode !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${result.exitCode}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

/** The added share at the median, and at the fastest run (the least disturbed by other load). */
function overhead(plain: number[], covered: number[]): string {
  const share = (a: number, b: number): string => `${(((b - a) / a) * 100).toFixed(1)}%`;
  return `coverage adds ${share(median(plain), median(covered))} at the median, ${share(Math.min(...plain), Math.min(...covered))} fastest to fastest`;
}

export async function benchCoverage(): Promise<BenchResult[]> {
  const plainArgs = ['test', examples];
  const coverArgs = ['test', '--coverage', '--min', '100', examples];
  const spawnPlain: number[] = [];
  const spawnCover: number[] = [];
  for (let i = 0; i < 20; i++) {
    spawnPlain.push(spawnMs(plainArgs));
    spawnCover.push(spawnMs(coverArgs));
  }
  // In this process: the first runs load the language's modules; leave them out.
  for (let i = 0; i < 5; i++) {
    await inProcessMs(plainArgs.slice(1));
    await inProcessMs(coverArgs.slice(1));
  }
  const inPlain: number[] = [];
  const inCover: number[] = [];
  for (let i = 0; i < 100; i++) {
    inPlain.push(await inProcessMs(plainArgs.slice(1)));
    inCover.push(await inProcessMs(coverArgs.slice(1)));
  }
  const alone = await coverageAlone();
  return [
    summarise('test examples/ (process)', 'ms', spawnPlain),
    summarise('test --coverage --min 100 examples/ (process)', 'ms', spawnCover, {
      target: '≤ +20%',
      note: overhead(spawnPlain, spawnCover),
    }),
    summarise('test examples/ (in process, warm)', 'ms', inPlain),
    summarise('test --coverage --min 100 examples/ (in process, warm)', 'ms', inCover, {
      target: '≤ +20%',
      note: overhead(inPlain, inCover),
    }),
    summarise('the coverage work alone on examples/ (hits, sites, report, text)', 'ms', alone.ms, {
      note: `${alone.tests} tests; the rest of a run is unchanged`,
    }),
  ];
}

/** What --coverage adds, timed apart: the same steps as cli/commands/test.ts, on compiled examples. */
async function coverageAlone(): Promise<{ ms: number[]; tests: number }> {
  const compiled = await compileFiles([examples]);
  const { tests } = compileTests(compiled.workspace);
  const outcomes = tests.map((testCase) => ({
    testCase,
    outcome: runTest(compiled.allPlans.get(testCase.policy)!, testCase),
  }));
  const ms: number[] = [];
  for (let i = 0; i < 300; i++) {
    const start = process.hrtime.bigint();
    const hits = new Map<string, CoverageHits>();
    for (const { testCase, outcome } of outcomes) {
      let planHits = hits.get(testCase.policy);
      if (planHits === undefined) hits.set(testCase.policy, (planHits = new Map()));
      addCoverage(compiled.allPlans.get(testCase.policy)!, testCase.request, outcome.result, planHits);
    }
    const sites = new Map<string, Map<string, SourceSite>>();
    for (const doc of compiled.workspace.roots) {
      for (const policy of doc.parseResult.value.policies) sites.set(policy.name, coverageSites(policy));
    }
    coverageText(coverageReport([...compiled.plans.values()], sites, hits));
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms, tests: outcomes.length };
}
