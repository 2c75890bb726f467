/**
 * The language server's own requests, beyond LSP: what the VS Code extension's commands and the
 * diagram ask for. Plain types only, so the extension can import them without pulling in the
 * server.
 */
import type { Range } from 'vscode-languageserver-types';

export interface DocumentParams {
  /** The document's URI, as the client knows it. */
  uri: string;
}

/** `switchyard/diagram`: the policy diagram of a document, laid out by Graphviz. */
export const DiagramRequest = 'switchyard/diagram';
export interface DiagramNodeInfo {
  /** The `id` of the node's `<g>` element in the SVG. */
  svgId: string;
  /** `route:support/interactive`, `model:gpt-4o`, … */
  id: string;
  kind: string;
  title: string;
  /** Where the element is declared (possibly another file). */
  uri?: string;
  range?: Range;
}
export interface DiagramResult {
  uri: string;
  svg: string;
  nodes: DiagramNodeInfo[];
  edges: number;
  /** Set when the document cannot be drawn (syntax errors): the last good diagram stays. */
  error?: string;
}

/** `switchyard/compile`: the plans of the policies a document declares. */
export const CompileRequest = 'switchyard/compile';
export interface CompileResult {
  plans: { name: string; hash: string; json: string }[];
  errors: string[];
}

/** `switchyard/runTests`: runs a document's test blocks. */
export const RunTestsRequest = 'switchyard/runTests';
export interface TestResultInfo {
  name: string;
  range: Range;
  passed: boolean;
  summary: string;
  failures: string[];
}
export interface RunTestsResult {
  results: TestResultInfo[];
  errors: string[];
}

/** `switchyard/explainTest`: the decision and simulated run of the test at a position. */
export const ExplainTestRequest = 'switchyard/explainTest';
export interface ExplainTestParams extends DocumentParams {
  position: { line: number; character: number };
}
export interface ExplainTestResult {
  name?: string;
  text: string;
  error?: string;
}

/** `switchyard/check`: counts of the diagnostics of every loaded file. */
export const CheckRequest = 'switchyard/check';
export interface CheckResult {
  files: number;
  errors: number;
  warnings: number;
  /** `file:line:col: severity CODE message`, errors first. */
  lines: string[];
}

/**
 * Commands the server executes (`workspace/executeCommand`); the test code lenses call them, and
 * vscode-languageclient registers them in VS Code. Both answer a `TestRunResult`, publish failed
 * expectations as diagnostics on their `expect` lines and refresh the lenses.
 *
 * - `switchyard.server.runTest` [uri, test name]: one test;
 * - `switchyard.server.runFileTests` [uri]: the file's tests, then coverage hints on the policies
 *   they cover (what `switchyard test --coverage FILE` reports).
 */
export const RunTestCommand = 'switchyard.server.runTest';
export const RunFileTestsCommand = 'switchyard.server.runFileTests';
export interface PolicyCoverageInfo {
  policy: string;
  /** The policy's file. */
  uri: string;
  items: number;
  covered: number;
  /** 0–100, rounded down to one decimal like the CLI's. */
  percent: number;
  /** `line:col: label` of each item not covered (1-based, as the CLI prints them). */
  uncovered: string[];
}
export interface TestRunResult {
  results: TestResultInfo[];
  errors: string[];
  /** With `runFileTests`: the coverage of each policy the tests are for. */
  coverage?: PolicyCoverageInfo[];
}

/** The source of the diagnostics the test runs publish (failed expectations, coverage hints). */
export const TestDiagnosticSource = 'switchyard test';
