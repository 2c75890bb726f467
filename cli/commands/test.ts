import * as path from 'node:path';
import { compileTests } from '../../dsl/compiler/index.js';
import { runTest } from '../../plan/index.js';
import { parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { displayPath } from '../output.js';
import { compileFiles, formatCompileError } from '../plans.js';

export const testUsage = `usage: switchyard test FILE|DIR… [--format text|json]

Runs the test blocks of the files (a directory: every .policy file below it) against their
policies' plans, with the same evaluator the workers use, without any server.
The last line is 'N passed, N failed'.
Exit status: 0 all tests pass, 1 a test failed or a file has errors, 2 usage.`;

/** The route's execution mode as the summary shows it (docs/language.md §4.9): ` [direct]`. */
function executionTag(execution: 'durable' | 'direct' | null): string {
  return execution === null ? '' : ` [${execution}]`;
}

export async function test(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(argv, { format: { type: 'string' } }, testUsage);
  if (values.help) return { stdout: testUsage, exitCode: 0 };
  if (positionals.length === 0) return { usage: `switchyard test needs at least one FILE\n${testUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json')
    return { usage: `--format must be text or json, not '${format}'` };

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
    return { stdout: JSON.stringify({ passed, failed, tests: json }, null, 2), exitCode: failed > 0 ? 1 : 0 };
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
  return { stdout: lines.join('\n'), exitCode: failed > 0 ? 1 : 0 };
}
