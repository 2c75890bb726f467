import * as path from 'node:path';
import { compileTests, coverageSites } from '../../dsl/compiler/index.js';
import type { SourceSite } from '../../dsl/compiler/index.js';
import { addCoverage } from '../../plan/coverage.js';
import type { CoverageHits } from '../../plan/coverage.js';
import { runTest } from '../../plan/index.js';
import { CliError, parse } from '../args.js';
import {
  coverageJson,
  coverageLcov,
  coverageReport,
  coverageText,
  meetsMinimum,
  percentText,
} from '../coverage.js';
import type { CoverageReport } from '../coverage.js';
import type { CommandResult } from '../result.js';
import { displayPath } from '../output.js';
import { compileFiles, formatCompileError } from '../plans.js';

export const testUsage = `usage: switchyard test FILE|DIR… [--format text|json|lcov] [--coverage [--min PCT]]

Runs the test blocks of the files (a directory: every .policy file below it) against their
policies' plans, with the same evaluator the workers use, without any server.
The last line is 'N passed, N failed'.

  --coverage   also report which routes, conditions (each and/or operand true and false), chain
               entries, guards, require rules, on-exceed branches and otherwise the tests reached
  --min PCT    with --coverage: exit 3 when coverage is below PCT percent (0-100)
  --format     text (default); json (tests, and coverage when asked); lcov (implies --coverage:
               the lcov tracefile on standard output, the test lines on standard error)

Exit status: 0 all tests pass, 1 a test failed or a file has errors, 2 usage,
3 coverage below --min (error E-COVERAGE-MIN).`;

/** The route's execution mode as the summary shows it (docs/language.md §4.9): ` [direct]`. */
function executionTag(execution: 'durable' | 'direct' | null): string {
  return execution === null ? '' : ` [${execution}]`;
}

export async function test(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { format: { type: 'string' }, coverage: { type: 'boolean' }, min: { type: 'string' } },
    testUsage,
  );
  if (values.help) return { stdout: testUsage, exitCode: 0 };
  if (positionals.length === 0) return { usage: `switchyard test needs at least one FILE\n${testUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'lcov')
    return { usage: `--format must be text, json or lcov, not '${format}'` };
  const coverage = values.coverage === true || format === 'lcov';
  let min: number | undefined;
  if (values.min !== undefined) {
    if (!coverage) return { usage: '--min needs --coverage' };
    min = Number(values.min);
    if (!/^\d+(\.\d+)?$/.test(String(values.min)) || min > 100)
      return { usage: `--min takes a percentage from 0 to 100, not '${String(values.min)}'` };
  }

  const compiled = await compileFiles(positionals);
  if (compiled.errors.length > 0) {
    return { stdout: [...compiled.errors, '0 passed, 0 failed'].join('\n'), exitCode: 1 };
  }
  const roots = new Set(compiled.workspace.roots.map((doc) => doc.uri.fsPath));
  const { tests, errors } = compileTests(compiled.workspace);
  const mine = tests.filter((t) => roots.has(path.resolve(t.file)));
  const lines: string[] = errors.map((error) => formatCompileError(error, compiled.texts));
  const outcomes = mine.map((testCase) => {
    const plan = compiled.allPlans.get(testCase.policy)!;
    return { testCase, outcome: runTest(plan, testCase) };
  });
  const passed = outcomes.filter((o) => o.outcome.passed).length;
  const failed = outcomes.length - passed + errors.length;
  const exitCode = failed > 0 ? 1 : 0;

  let report: CoverageReport | undefined;
  if (coverage) {
    // The same results the tests were judged on: coverage decides nothing again (plan/coverage.ts).
    const hits = new Map<string, CoverageHits>();
    for (const { testCase, outcome } of outcomes) {
      let planHits = hits.get(testCase.policy);
      if (planHits === undefined) hits.set(testCase.policy, (planHits = new Map()));
      addCoverage(compiled.allPlans.get(testCase.policy)!, testCase.request, outcome.result, planHits);
    }
    const sites = new Map<string, Map<string, SourceSite>>();
    // The policies of the named files, and those their tests are for (tests may live in a file
    // that imports the policy).
    const covered = new Map(compiled.plans);
    for (const name of hits.keys()) covered.set(name, compiled.allPlans.get(name)!);
    for (const doc of compiled.workspace.documents) {
      for (const policy of doc.parseResult.value.policies) {
        if (covered.has(policy.name)) sites.set(policy.name, coverageSites(policy));
      }
    }
    report = coverageReport([...covered.values()], sites, hits);
  }
  const below =
    report !== undefined && min !== undefined && !meetsMinimum(report, min)
      ? new CliError(
          'E-COVERAGE-MIN',
          `coverage ${percentText(report.percent)} is below --min ${min}% (${report.items - report.covered} of ${report.items} items not covered)`,
          3,
        )
      : undefined;
  const finish = (result: CommandResult): CommandResult => {
    if (below === undefined || exitCode !== 0) return result;
    const message = `switchyard test: error ${below.code} ${below.message}`;
    return { ...result, stderr: result.stderr ? `${result.stderr}\n${message}` : message, exitCode: 3 };
  };

  if (format === 'json') {
    const json = outcomes.map(({ testCase, outcome }) => ({
      name: testCase.name,
      policy: testCase.policy,
      file: testCase.file,
      line: testCase.line,
      passed: outcome.passed,
      failures: outcome.failures,
      result: outcome.result,
    }));
    const body =
      report === undefined
        ? { passed, failed, tests: json }
        : { passed, failed, tests: json, coverage: coverageJson(report) };
    return finish({ stdout: JSON.stringify(body, null, 2), exitCode });
  }

  let currentFile = '';
  for (const { testCase, outcome } of outcomes) {
    if (testCase.file !== currentFile) {
      currentFile = testCase.file;
      lines.push(displayPath(currentFile));
    }
    const { result } = outcome;
    const summary =
      result.status === 'served'
        ? `route ${result.route}${executionTag(result.decision.execution)} → ${result.model}, ${result.attempts.length} attempt${result.attempts.length === 1 ? '' : 's'}`
        : `${result.status}: ${result.reason ?? ''}`;
    lines.push(`  ${outcome.passed ? 'ok  ' : 'FAIL'} ${testCase.name}  (${summary})`);
    for (const failure of outcome.failures) {
      lines.push(`       ${displayPath(testCase.file)}:${testCase.line}: ${failure}`);
    }
  }
  lines.push(`${passed} passed, ${failed} failed`);
  if (format === 'lcov') return finish({ stdout: coverageLcov(report!), stderr: lines.join('\n'), exitCode });
  if (report !== undefined) lines.push(coverageText(report));
  return finish({ stdout: lines.join('\n'), exitCode });
}
