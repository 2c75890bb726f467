/**
 * What the editor's commands ask the language server for, computed from the documents it holds:
 * compile a file's policies, run a file's tests, explain the request of the test under the cursor.
 * The same compiler (dsl/compiler) and evaluator (plan/) as `switchyard compile|test|explain`.
 */
import type { LangiumDocument, LangiumDocuments } from 'langium';
import type { Range } from 'vscode-languageserver-protocol';
import {
  type Plan,
  type TestOutcome,
  decide,
  formatDollars,
  runTest,
  attemptWorstCost,
} from '../plan/index.js';
import { type CompileError, compileTest, compileWorkspace } from '../dsl/compiler/index.js';
import type { Document, Test } from '../dsl/generated/ast.js';
import { importClosure } from '../dsl/scope-provider.js';
import type { SwitchyardServices } from '../dsl/switchyard-module.js';
import { formatDuration } from '../dsl/validation/catalog-facts.js';
import type { LoadedWorkspace } from '../dsl/workspace.js';

/** The document and everything it imports, transitively, that the server has loaded. */
export function workspaceOf(services: SwitchyardServices, document: LangiumDocument): LoadedWorkspace {
  const documents: LangiumDocuments = services.shared.workspace.LangiumDocuments;
  const uris = importClosure(document, documents);
  const all = [...uris].flatMap((uri) => {
    const found = documents.all.find((d) => d.uri.toString() === uri);
    return found ? [found as LangiumDocument<Document>] : [];
  });
  return { services, roots: [document as LangiumDocument<Document>], documents: all };
}

function located(error: CompileError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.code} ${error.message}`;
}

export interface CompiledDocument {
  /** The plans of the policies this document declares. */
  plans: Plan[];
  /** Every plan of the closure, by policy name (tests may be for an imported policy). */
  allPlans: Map<string, Plan>;
  /** `file:line:col: CODE message` for each error that stopped compilation. */
  errors: string[];
}

export function compileDocument(services: SwitchyardServices, document: LangiumDocument): CompiledDocument {
  const ws = workspaceOf(services, document);
  const compiled = compileWorkspace(ws);
  const mine = new Set((document.parseResult.value as Document).policies.map((p) => p.name));
  return {
    plans: [...compiled.plans.values()].filter((p) => mine.has(p.name)),
    allPlans: compiled.plans,
    errors: compiled.errors.map(located),
  };
}

export interface TestResult {
  name: string;
  /** The range of the test's `test "name"` header. */
  range: Range;
  passed: boolean;
  summary: string;
  failures: string[];
}

export function headerRange(test: Test): Range {
  const range = test.$cstNode!.range;
  return { start: range.start, end: { line: range.start.line, character: range.start.character + 4 } };
}

export function summaryOf(outcome: TestOutcome): string {
  const result = outcome.result;
  if (result.status === 'served') {
    const n = result.attempts.length;
    return `route ${result.route} → ${result.model}, ${n} attempt${n === 1 ? '' : 's'}, $${result.cost}`;
  }
  return `${result.status}: ${result.reason ?? ''}`;
}

/**
 * One test block run against its policy's plan: its result (a test that does not compile is a
 * failed result, `cannot run`), with the plan, request and outcome when it ran; `error` when its
 * policy has no plan.
 */
export type TestBlockRun =
  | {
      result: TestResult;
      ran?: { plan: Plan; testCase: ReturnType<typeof compileTest>; outcome: TestOutcome };
    }
  | { error: string };

export function runTestBlock(compiled: Pick<CompiledDocument, 'allPlans'>, test: Test): TestBlockRun {
  const range = headerRange(test);
  try {
    const testCase = compileTest(test);
    const plan = compiled.allPlans.get(testCase.policy);
    if (!plan) return { error: `test "${test.name}": no plan for policy ${testCase.policy}` };
    const outcome = runTest(plan, testCase);
    const result = {
      name: test.name,
      range,
      passed: outcome.passed,
      summary: summaryOf(outcome),
      failures: outcome.failures,
    };
    return { result, ran: { plan, testCase, outcome } };
  } catch (error) {
    const failure = error as { errors?: CompileError[] };
    if (!failure.errors) throw error;
    const failures = failure.errors.map((e) => e.message);
    return { result: { name: test.name, range, passed: false, summary: 'cannot run', failures } };
  }
}

/** Runs the test blocks of one document against the plans of their policies. */
export function runDocumentTests(
  services: SwitchyardServices,
  document: LangiumDocument,
): { results: TestResult[]; errors: string[] } {
  const compiled = compileDocument(services, document);
  if (compiled.errors.length > 0) return { results: [], errors: compiled.errors };
  const results: TestResult[] = [];
  const errors: string[] = [];
  for (const test of (document.parseResult.value as Document).tests) {
    if (!test.$cstNode) continue;
    const run = runTestBlock(compiled, test);
    if ('error' in run) errors.push(run.error);
    else results.push(run.result);
  }
  return { results, errors };
}

/** The test block at `offset`, if any. */
export function testAt(document: LangiumDocument, offset: number): Test | undefined {
  return (document.parseResult.value as Document).tests.find(
    (t) => t.$cstNode && t.$cstNode.offset <= offset && offset <= t.$cstNode.end,
  );
}

/**
 * What happens to the request of the test at `offset`: the decision (route, chain with worst-case
 * costs, what was excluded and why) and the simulated run with the test's `given`.
 */
export function explainTestAt(
  services: SwitchyardServices,
  document: LangiumDocument,
  offset: number,
): { name?: string; text: string; error?: string } {
  const test = testAt(document, offset);
  if (!test) return { text: '', error: 'put the cursor inside a test block to explain its request' };
  const compiled = compileDocument(services, document);
  if (compiled.errors.length > 0) {
    return { name: test.name, text: '', error: `the file does not compile:\n${compiled.errors.join('\n')}` };
  }
  let testCase;
  try {
    testCase = compileTest(test);
  } catch (error) {
    const failure = error as { errors?: CompileError[] };
    if (!failure.errors) throw error;
    return { name: test.name, text: '', error: failure.errors.map(located).join('\n') };
  }
  const plan = compiled.allPlans.get(testCase.policy);
  if (!plan) return { name: test.name, text: '', error: `no plan for policy ${testCase.policy}` };
  const decision = decide(plan, testCase.request);
  const outcome = runTest(plan, testCase);
  const lines: string[] = [];
  const row = (label: string, text: string): void => {
    lines.push(`${label.padEnd(10)} ${text}`);
  };
  row('test', `"${test.name}" for policy ${plan.name} (plan ${plan.hash.slice(0, 19)}…)`);
  const { id: _id, policy: _policy, messages: _messages, ...fields } = testCase.request;
  row('request', JSON.stringify(fields));
  row(
    'route',
    decision.route
      ? `${decision.route}${decision.matched ? `  when ${decision.matched}` : '  (otherwise)'}`
      : 'none matches',
  );
  if (decision.split) {
    row(
      'split',
      `${decision.split.remaining.map((t) => `${t.model} ${t.weight}%`).join(', ')} → picked ${decision.split.picked ?? 'none'}`,
    );
  }
  decision.chain.forEach((entry, index) => {
    const cost = attemptWorstCost(entry, decision.inputTokens);
    row(
      index === 0 ? 'chain' : '',
      `${index + 1}. ${entry.model} (${entry.role}${entry.when ? ` when ${entry.when}` : ''}; ${entry.provider}, ${entry.private ? 'private' : 'external'}; timeout ${formatDuration(entry.timeoutMs)}${entry.retries > 0 ? `, retries ${entry.retries}` : ''}; worst case $${formatDollars(cost.nanos)})`,
    );
  });
  for (const exclusion of decision.excluded)
    row('excluded', `${exclusion.model}: ${exclusion.reason} [${exclusion.rule}]`);
  for (const budget of decision.governance.budgets) {
    row(
      'budget',
      `${budget.name} (${budget.scope === 'policy' ? 'policy-wide' : `${budget.scope} ${budget.scopeValue ?? '(none)'}`})`,
    );
  }
  const result = outcome.result;
  result.attempts.forEach((attempt, index) => {
    row(
      index === 0 ? 'attempts' : '',
      `${attempt.attempt}. ${attempt.model} ${attempt.outcome}${attempt.status ? ` ${attempt.status}` : ''}${attempt.error && !attempt.status ? ` (${attempt.error})` : ''}`,
    );
  });
  row('result', summaryOf(outcome));
  row('expect', outcome.passed ? 'passed' : `FAILED: ${outcome.failures.join('; ')}`);
  return { name: test.name, text: lines.join('\n') };
}
