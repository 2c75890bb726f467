/**
 * Test runs in the editor (docs/editor.md, "Tests and coverage"): the code lenses on each `test`
 * ("run" and its last result), failed expectations as diagnostics on their `expect` line, and the
 * coverage of the policies a file's tests are for, as hints (severity Hint, tag Unnecessary: VS
 * Code dims them) on the routes, conditions and branches no test reached. The tests run through
 * the same compiler and simulator as `switchyard test`, and coverage is plan/coverage.ts's, placed
 * by dsl/compiler/sites.ts — what `switchyard test --coverage FILE` reports.
 *
 * Results describe the text they ran on: when a file they depend on changes (the test's file or
 * anything it imports), they are dropped and the lens says "run" again.
 */
import { type AstNode, AstUtils, DocumentState, type LangiumDocument, URI } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import {
  type CodeLens,
  type Connection,
  type Diagnostic,
  DiagnosticSeverity,
  DiagnosticTag,
  type Range,
} from 'vscode-languageserver';
import { coverageSites, type SourceSite } from '../dsl/compiler/index.js';
import { type Document, isCondition, isExpect, type Policy } from '../dsl/generated/ast.js';
import { importClosure } from '../dsl/scope-provider.js';
import type { SwitchyardLspServices } from '../dsl/lsp/module.js';
import { addCoverage, type CoverageHits, coverageItems, coverageTotals } from '../plan/coverage.js';
import type { Plan } from '../plan/types.js';
import {
  type PolicyCoverageInfo,
  RunFileTestsCommand,
  RunTestCommand,
  TestDiagnosticSource,
  type TestResultInfo,
  type TestRunResult,
} from './protocol.js';
import { compileDocument, headerRange, runTestBlock } from './workspace-requests.js';

interface TestState extends TestResultInfo {
  /** Where a failure is shown: the test's `expect`, else its header. */
  expectRange: Range;
}

interface FileRun {
  tests: Map<string, TestState>;
  /** The URIs the results depend on (the file and what it imports). */
  depends: Set<string>;
}

interface CoverageState extends PolicyCoverageInfo {
  headerRange: Range;
  hints: Diagnostic[];
  /** The test file whose run measured it, and what that run depended on. */
  from: string;
  depends: Set<string>;
}

const key = (uri: string): string => URI.parse(uri).toString();

export class TestRuns {
  /** By test file URI. */
  private readonly runs = new Map<string, FileRun>();
  /** By policy file URI, then policy name. */
  private readonly coverage = new Map<string, Map<string, CoverageState>>();

  constructor(
    private readonly shared: LangiumSharedServices,
    private readonly services: SwitchyardLspServices,
    private readonly connection: Connection | undefined,
  ) {
    shared.workspace.DocumentBuilder.onUpdate((changed, deleted) => {
      const gone = new Set([...changed, ...deleted].map((uri) => uri.toString()));
      this.forget(gone);
    });
    // Langium publishes a document's own diagnostics when it is validated; the test results and
    // coverage hints that still hold for it are added back.
    shared.workspace.DocumentBuilder.onDocumentPhase(DocumentState.Validated, async (document) => {
      const uri = document.uri.toString();
      if (this.extraDiagnostics(uri).length > 0) this.publish(uri);
    });
  }

  /** Drops the results and coverage that depend on any of `uris`, and shows that. */
  private forget(uris: Set<string>): void {
    const touched = new Set<string>();
    for (const [uri, run] of this.runs) {
      if ([...run.depends].some((d) => uris.has(d))) {
        this.runs.delete(uri);
        touched.add(uri);
      }
    }
    for (const [uri, byPolicy] of this.coverage) {
      for (const [name, state] of byPolicy) {
        if ([...state.depends].some((d) => uris.has(d))) {
          byPolicy.delete(name);
          touched.add(uri);
        }
      }
      if (byPolicy.size === 0) this.coverage.delete(uri);
    }
    // Changed documents are published again after their validation; the others now.
    for (const uri of touched) if (!uris.has(uri)) this.publish(uri);
    if (touched.size > 0) this.refreshLenses();
  }

  private document(uri: string): LangiumDocument<Document> | undefined {
    return this.shared.workspace.LangiumDocuments.getDocument(URI.parse(uri)) as
      LangiumDocument<Document> | undefined;
  }

  /** Runs one test (`name`) or every test of the document at `uri`; with `coverage`, measures it. */
  run(document: LangiumDocument, name?: string): TestRunResult {
    const uri = key(document.uri.toString());
    const compiled = compileDocument(this.services, document);
    const depends = importClosure(document, this.shared.workspace.LangiumDocuments);
    depends.add(uri);
    if (compiled.errors.length > 0) {
      this.runs.delete(uri);
      this.publish(uri);
      this.refreshLenses();
      return { results: [], errors: compiled.errors };
    }
    const previous = this.runs.get(uri);
    const run: FileRun = { tests: name !== undefined && previous ? previous.tests : new Map(), depends };
    const results: TestResultInfo[] = [];
    const errors: string[] = [];
    const hits = new Map<string, CoverageHits>();
    const tests = (document.parseResult.value as Document).tests.filter(
      (t) => t.$cstNode !== undefined && (name === undefined || t.name === name),
    );
    if (name !== undefined && tests.length === 0) errors.push(`no test "${name}" in this file`);
    for (const test of tests) {
      const block = runTestBlock(compiled, test);
      if ('error' in block) {
        errors.push(block.error);
        continue;
      }
      let expectRange = block.result.range;
      if (block.ran) {
        const { plan, testCase, outcome } = block.ran;
        let planHits = hits.get(plan.name);
        if (planHits === undefined) hits.set(plan.name, (planHits = new Map()));
        addCoverage(plan, testCase.request, outcome.result, planHits);
        expectRange = test.items.find(isExpect)?.$cstNode?.range ?? expectRange;
      }
      const state: TestState = { ...block.result, expectRange };
      run.tests.set(test.name, state);
      const { expectRange: _, ...info } = state;
      results.push(info);
    }
    this.runs.set(uri, run);
    const touched = new Set([uri]);
    let coverage: PolicyCoverageInfo[] | undefined;
    if (name === undefined) {
      // The policies of the file and those its tests are for, as `switchyard test --coverage`.
      const covered = new Map(compiled.plans.map((plan) => [plan.name, plan]));
      for (const policy of hits.keys()) covered.set(policy, compiled.allPlans.get(policy)!);
      coverage = [];
      for (const plan of covered.values()) {
        const state = this.measure(plan, hits.get(plan.name) ?? new Map(), uri, depends);
        if (state === undefined) continue;
        coverage.push({
          policy: state.policy,
          uri: state.uri,
          items: state.items,
          covered: state.covered,
          percent: state.percent,
          uncovered: state.uncovered,
        });
        touched.add(state.uri);
      }
    }
    for (const touchedUri of touched) this.publish(touchedUri);
    this.refreshLenses();
    return coverage === undefined ? { results, errors } : { results, errors, coverage };
  }

  /** The coverage of `plan` by `hits`, kept (and hinted) on the policy's file. */
  private measure(
    plan: Plan,
    hits: CoverageHits,
    from: string,
    depends: Set<string>,
  ): CoverageState | undefined {
    const found = this.policyNode(plan.name, depends);
    if (found === undefined) return undefined;
    const { policy, document } = found;
    const uri = key(document.uri.toString());
    const sites = coverageSites(policy);
    const items = coverageItems(plan);
    const totals = coverageTotals(items, hits);
    const hints: Diagnostic[] = [];
    const uncovered: string[] = [];
    const siteNames = [...sites.keys()];
    for (const item of items) {
      if ((hits.get(item.id) ?? 0) > 0) continue;
      const site = sites.get(item.site);
      if (site === undefined) continue;
      uncovered.push(`${site.line}:${site.column}: ${item.label}`);
      const composite = siteNames.some(
        (other) => other.startsWith(`${item.site}/`) && sameStart(sites.get(other)!, site),
      );
      hints.push({
        range: siteRange(document, policy, site, item.kind === 'condition', composite),
        severity: DiagnosticSeverity.Hint,
        tags: [DiagnosticTag.Unnecessary],
        source: TestDiagnosticSource,
        code: 'not-covered',
        message: `not covered by the tests of ${fileName(from)}: ${item.label}`,
      });
    }
    const state: CoverageState = {
      policy: plan.name,
      uri,
      items: totals.items,
      covered: totals.covered,
      percent: Math.floor(totals.percent * 10) / 10,
      uncovered,
      headerRange: policyHeader(policy),
      hints,
      from,
      depends,
    };
    let byPolicy = this.coverage.get(uri);
    if (byPolicy === undefined) this.coverage.set(uri, (byPolicy = new Map()));
    byPolicy.set(plan.name, state);
    return state;
  }

  private policyNode(
    name: string,
    uris: Set<string>,
  ): { policy: Policy; document: LangiumDocument<Document> } | undefined {
    for (const uri of uris) {
      const document = this.document(uri);
      const policy = document?.parseResult.value.policies.find((p) => p.name === name);
      if (document && policy) return { policy, document };
    }
    return undefined;
  }

  /** The test results and coverage hints of a document, as diagnostics. */
  extraDiagnostics(uri: string): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const test of this.runs.get(key(uri))?.tests.values() ?? []) {
      if (test.passed) continue;
      out.push({
        range: test.expectRange,
        severity: DiagnosticSeverity.Error,
        source: TestDiagnosticSource,
        code: 'test-failed',
        message: `test "${test.name}" failed: ${test.failures.join('; ')} (${test.summary})`,
      });
    }
    for (const state of this.coverage.get(key(uri))?.values() ?? []) out.push(...state.hints);
    return out;
  }

  /** Sends the document's own diagnostics with the test results and hints that hold for it. */
  publish(uri: string): void {
    if (!this.connection) return;
    const own = this.document(uri)?.diagnostics ?? [];
    void this.connection.sendDiagnostics({ uri, diagnostics: [...own, ...this.extraDiagnostics(uri)] });
  }

  private refreshLenses(): void {
    if (!this.connection) return;
    // Clients without refresh support answer with an error: they ask again on their own.
    this.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  }

  /** The lenses of a document: run each test (and the file's tests), with the last results. */
  lenses(document: LangiumDocument): CodeLens[] {
    const uri = key(document.uri.toString());
    const root = document.parseResult.value as Document;
    const lenses: CodeLens[] = [];
    const run = this.runs.get(uri);
    const tests = root.tests.filter((t) => t.$cstNode !== undefined);
    const coverage = this.coverage.get(uri);
    for (const policy of root.policies) {
      if (!policy.$cstNode) continue;
      const range = policyHeader(policy);
      if (tests.length > 0) {
        lenses.push({
          range,
          command: { title: "▶ Run the file's tests", command: RunFileTestsCommand, arguments: [uri] },
        });
      }
      const state = coverage?.get(policy.name);
      if (state) {
        const missing = state.items - state.covered;
        lenses.push({
          range,
          command: {
            title: `coverage ${state.covered} of ${state.items} (${state.percent.toFixed(1)}%)${missing > 0 ? `, ${missing} not covered (dimmed)` : ''}`,
            command: '',
          },
        });
      }
    }
    if (root.policies.length === 0 && tests.length > 0) {
      lenses.push({
        range: headerRange(tests[0]!),
        command: { title: "▶ Run the file's tests", command: RunFileTestsCommand, arguments: [uri] },
      });
    }
    for (const test of tests) {
      const range = headerRange(test);
      lenses.push({
        range,
        command: { title: '▶ Run', command: RunTestCommand, arguments: [uri, test.name] },
      });
      const result = run?.tests.get(test.name);
      if (result) {
        lenses.push({
          range,
          command: {
            title: result.passed ? `✓ passed: ${result.summary}` : `✗ failed: ${result.failures.join('; ')}`,
            command: '',
          },
        });
      }
    }
    return lenses;
  }
}

function sameStart(a: SourceSite, b: SourceSite): boolean {
  return a.line === b.line && a.column === b.column;
}

function fileName(uri: string): string {
  const path = URI.parse(uri).path;
  return path.slice(path.lastIndexOf('/') + 1);
}

function policyHeader(policy: Policy): Range {
  const start = policy.$cstNode!.range.start;
  return { start, end: { line: start.line, character: start.character + 'policy'.length } };
}

/**
 * The range of a coverage site (which sites.ts gives by its start): the node of the policy that
 * starts there — the largest (a route, a fallback, an `on-exceed`), or for a condition operand
 * the smallest condition (the largest when other sites start inside it at the same place: the
 * whole `when`, or an `and` that is itself an operand).
 */
function siteRange(
  document: LangiumDocument,
  policy: Policy,
  site: SourceSite,
  condition: boolean,
  composite: boolean,
): Range {
  const offset = document.textDocument.offsetAt({ line: site.line - 1, character: site.column - 1 });
  const starting: AstNode[] = [];
  for (const node of AstUtils.streamAst(policy)) {
    if (node.$cstNode?.offset === offset && (!condition || isCondition(node))) starting.push(node);
  }
  starting.sort((a, b) => a.$cstNode!.length - b.$cstNode!.length);
  const node = condition && !composite ? starting[0] : starting[starting.length - 1];
  if (node?.$cstNode) return node.$cstNode.range;
  const start = { line: site.line - 1, character: site.column - 1 };
  return { start, end: { line: start.line, character: Number.MAX_SAFE_INTEGER } };
}

/** `Test` blocks of a document (for the save handler). */
export function hasTests(document: LangiumDocument): boolean {
  return (document.parseResult.value as Document).tests.length > 0;
}
