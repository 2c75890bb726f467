import type * as ast from '../generated/ast.js';
import type { LoadedWorkspace } from '../workspace.js';
import {
  CLASSIFICATIONS,
  type Classification,
  type InferenceRequest,
  type Mode,
  MODES,
  type TestCase,
  type TestExpectation,
  type TestGiven,
} from '../../plan/types.js';
import { fieldName, moneyOf } from './conditions.js';
import { type CompileError, CompileFailure, errorAt, fail } from './errors.js';

/** Request fields a test takes as strings (a bare name is accepted too: `team support`). */
const STRING_FIELDS = {
  capability: 'capability',
  team: 'team',
  app: 'app',
  user: 'user',
  region: 'region',
} as const;

/**
 * The request id of a test: `test:` and the test's name, lower-cased, with every run of characters
 * outside `[a-z0-9._-]` replaced by `-` (so it is a valid request id). Stable, so a `split` picks
 * the same target on every run.
 */
export function testRequestId(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `test:${slug || 'unnamed'}`;
}

/**
 * One `test` block as the simulator runs it (docs/language.md §7). Throws `CompileFailure` for a
 * test that cannot run: an unknown request field, a value of the wrong kind, no `capability`, no or
 * several `expect`s, an unresolved reference.
 */
export function compileTest(test: ast.Test): TestCase {
  const policy = test.policy?.ref;
  if (!policy) fail(test, 'E-COMPILE-UNRESOLVED', `unknown policy '${test.policy?.$refText ?? ''}'`);
  const errors: CompileError[] = [];
  const guard = <T>(build: () => T): T | undefined => {
    try {
      return build();
    } catch (error) {
      if (!(error instanceof CompileFailure)) throw error;
      errors.push(...error.errors);
      return undefined;
    }
  };

  const requests = test.items.filter((item): item is ast.TestRequest => item.$type === 'TestRequest');
  const request = guard(() => compileRequest(test, policy.name, requests));
  const given: TestGiven = { failures: {}, answers: {}, spent: {} };
  for (const item of test.items) guard(() => addGiven(given, item));
  const expects = test.items.filter((item): item is ast.Expect => item.$type === 'Expect');
  let expect: TestExpectation | undefined;
  if (expects.length === 0) {
    errors.push(errorAt(test, 'E-TEST-EXPECT', `test "${test.name}" has no 'expect'`));
  } else if (expects.length > 1) {
    errors.push(errorAt(expects[1]!, 'E-TEST-EXPECT', `test "${test.name}" has more than one 'expect'`));
  } else {
    expect = guard(() => compileExpect(expects[0]!));
  }
  if (errors.length > 0 || !request || !expect) throw new CompileFailure(errors);

  const start = test.$cstNode?.range.start.line ?? 0;
  return {
    name: test.name,
    policy: policy.name,
    file: test.$container.$document?.uri.fsPath ?? '',
    line: start + 1,
    request,
    given,
    expect,
  };
}

export interface CompiledTests {
  /** Every test of every loaded document, in load order then source order. */
  tests: TestCase[];
  errors: CompileError[];
}

/**
 * The test cases of a loaded workspace. Like `compileWorkspace`, this does not look at the
 * workspace's diagnostics: callers refuse a workspace with errors first.
 */
export function compileTests(ws: LoadedWorkspace): CompiledTests {
  const tests: TestCase[] = [];
  const errors: CompileError[] = [];
  for (const document of ws.documents) {
    for (const test of document.parseResult.value.tests) {
      try {
        tests.push(compileTest(test));
      } catch (error) {
        if (!(error instanceof CompileFailure)) throw error;
        errors.push(...error.errors);
      }
    }
  }
  return { tests, errors };
}

function compileRequest(test: ast.Test, policy: string, requests: ast.TestRequest[]): InferenceRequest {
  if (requests.length > 1)
    fail(requests[1]!, 'E-TEST-REQUEST', `test "${test.name}" has more than one 'request'`);
  const request: InferenceRequest = {
    id: testRequestId(test.name),
    policy,
    capability: '',
    messages: [{ role: 'user', content: '' }],
  };
  let hasCapability = false;
  for (const item of requests[0]?.fields ?? []) {
    const field = fieldName(item.field);
    const value = item.value;
    if (field in STRING_FIELDS) {
      request[STRING_FIELDS[field as keyof typeof STRING_FIELDS]] = text(value, field);
      if (field === 'capability') hasCapability = true;
    } else if (field === 'mode') {
      request.mode = bareName(value, field, MODES) as Mode;
    } else if (field === 'classification') {
      request.classification = bareName(value, field, CLASSIFICATIONS) as Classification;
    } else if (item.field.head === 'tag' && item.field.tail !== undefined) {
      request.tags = { ...request.tags, [item.field.tail]: text(value, field) };
    } else if (field === 'input.tokens') {
      request.inputTokens = tokens(value, field);
    } else if (field === 'max-tokens') {
      request.maxTokens = tokens(value, field);
    } else if (field === 'latency') {
      if (value.$type !== 'DurationValue') wrongKind(value, field, 'a duration (2s, 500ms)');
      request.latency = value.$cstNode?.text ?? `${value.ms}ms`;
    } else {
      fail(item.field, 'E-TEST-REQUEST', `unknown request field '${field}'`);
    }
  }
  if (!hasCapability)
    fail(requests[0] ?? test, 'E-TEST-REQUEST', `test "${test.name}": the request needs a 'capability'`);
  return request;
}

function text(value: ast.Value, field: string): string {
  if (value.$type === 'StringValue') return value.text;
  if (value.$type === 'NameValue') return value.name;
  return wrongKind(value, field, 'a string');
}

function bareName(value: ast.Value, field: string, allowed: readonly string[]): string {
  const name =
    value.$type === 'NameValue' ? value.name : value.$type === 'StringValue' ? value.text : undefined;
  if (name === undefined || !allowed.includes(name)) wrongKind(value, field, allowed.join(' | '));
  return name;
}

function tokens(value: ast.Value, field: string): number {
  if (value.$type === 'IntValue' || value.$type === 'TokensValue') return value.amount;
  return wrongKind(value, field, 'a token count (512, 8k)');
}

function wrongKind(value: ast.Value, field: string, expected: string): never {
  return fail(
    value,
    'E-TEST-REQUEST',
    `'${field}' takes ${expected}, not ${value.$cstNode?.text ?? value.$type}`,
  );
}

function addGiven(given: TestGiven, item: ast.TestItem): void {
  switch (item.$type) {
    case 'GivenFails': {
      const model = resolved(item.model, item, 'model');
      given.failures[model] = item.timeout ? 'timeout' : (item.status ?? 500);
      return;
    }
    case 'GivenAnswers':
      given.answers[resolved(item.model, item, 'model')] = item.answer;
      return;
    case 'GivenSpent':
      given.spent[resolved(item.budget, item, 'budget')] = moneyOf(item, item.amount);
      return;
    default:
      return;
  }
}

function compileExpect(item: ast.Expect): TestExpectation {
  if (item.reject)
    return item.message === undefined ? { kind: 'reject' } : { kind: 'reject', message: item.message };
  if (item.fail) return { kind: 'fail' };
  const expect: TestExpectation = { kind: 'route-model' };
  if (item.route) expect.route = resolved(item.route, item, 'route');
  if (item.model) expect.model = resolved(item.model, item, 'model');
  if (item.attempts !== undefined) expect.attempts = item.attempts;
  if (Object.keys(expect).length === 1) {
    fail(item, 'E-TEST-EXPECT', `'expect' needs route, model, attempts, reject or fail`);
  }
  return expect;
}

function resolved(ref: { ref?: { name: string }; $refText: string }, at: ast.TestItem, what: string): string {
  if (!ref.ref) fail(at, 'E-COMPILE-UNRESOLVED', `unknown ${what} '${ref.$refText}'`);
  return ref.ref.name;
}
