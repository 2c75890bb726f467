import type { AstNode } from 'langium';
import type * as ast from '../generated/ast.js';
import { isBinaryCondition } from '../generated/ast.js';
import type { CompareOp, Condition, OutputCondition, Value } from '../../plan/types.js';
import { fail } from './errors.js';
import { dollarsToNanos } from './literals.js';

/** Request fields a condition may test (docs/language.md §5.1); `tag.NAME` is checked apart. */
const REQUEST_FIELDS = new Set([
  'capability',
  'mode',
  'classification',
  'team',
  'app',
  'user',
  'region',
  'input.tokens',
  'max-tokens',
  'latency',
]);
/** Fields that count tokens: a plain integer compared with them is a token count. */
const TOKEN_FIELDS = new Set(['input.tokens', 'max-tokens']);
const OUTPUT_FLAGS = new Set(['truncated', 'empty', 'invalid']);

export function fieldName(path: ast.FieldPath): string {
  return path.tail === undefined ? path.head : `${path.head}.${path.tail}`;
}

/**
 * A request condition as plan JSON. `a and b and c` becomes one `and` with three arguments (the
 * parser nests binary nodes; the plan flattens chains of the same operator).
 */
export function compileCondition(node: ast.Condition): Condition {
  switch (node.$type) {
    case 'TrueCondition':
      return { op: 'true' };
    case 'NotCondition':
      return { op: 'not', arg: compileCondition(node.operand) };
    case 'BinaryCondition':
      return { op: node.operator, args: flatten(node).map(compileCondition) };
    case 'Comparison':
      return compileComparison(node);
  }
}

function compileComparison(node: ast.Comparison): Condition {
  const field = fieldName(node.field);
  if (node.field.head === 'output') {
    fail(
      node,
      'E-COMPILE-OUTPUT-CONDITION',
      `'${field}' is an output condition: it may appear only after 'escalate … when'`,
    );
  }
  const known = REQUEST_FIELDS.has(field) || (node.field.head === 'tag' && node.field.tail !== undefined);
  if (!known) fail(node, 'E-COMPILE-FIELD', `unknown request field '${field}'`);
  if (node.in) return { op: 'in', field, values: node.values.map((value) => compileValue(value, field)) };
  if (node.op === undefined || node.value === undefined) {
    fail(node, 'E-COMPILE-CONDITION', `'${field}' needs a comparison (== != < <= > >= or in […])`);
  }
  return { op: 'compare', field, cmp: node.op, value: compileValue(node.value, field) };
}

/** A literal in a condition, typed; plain integers compared with a token field are token counts. */
export function compileValue(node: ast.Value, field?: string): Value {
  switch (node.$type) {
    case 'StringValue':
      return { kind: 'string', value: node.text };
    case 'NameValue':
      return { kind: 'name', value: node.name };
    case 'IntValue':
      return field !== undefined && TOKEN_FIELDS.has(field)
        ? { kind: 'tokens', value: node.amount }
        : { kind: 'integer', value: node.amount };
    case 'TokensValue':
      return { kind: 'tokens', value: node.amount };
    case 'DurationValue':
      return { kind: 'duration', ms: node.ms };
    case 'MoneyValue':
      return { kind: 'money', nanos: moneyOf(node, node.amount) };
    case 'PercentValue':
      return fail(
        node,
        'E-COMPILE-VALUE',
        `a percent (${node.percent}%) cannot be compared with a request field`,
      );
  }
}

/** An `escalate … when` condition: `output.truncated | empty | invalid`, `output.tokens OP N`. */
export function compileOutputCondition(node: ast.Condition): OutputCondition {
  switch (node.$type) {
    case 'NotCondition':
      return { op: 'not', arg: compileOutputCondition(node.operand) };
    case 'BinaryCondition':
      return { op: node.operator, args: flatten(node).map(compileOutputCondition) };
    case 'TrueCondition':
      return fail(
        node,
        'E-COMPILE-OUTPUT-CONDITION',
        `'escalate … when' takes output conditions (output.truncated, output.empty, output.invalid, output.tokens > N), not 'true'`,
      );
    case 'Comparison':
      return compileOutputComparison(node);
  }
}

function compileOutputComparison(node: ast.Comparison): OutputCondition {
  const field = fieldName(node.field);
  const expected = `'escalate … when' takes output conditions (output.truncated, output.empty, output.invalid, output.tokens > N)`;
  if (node.field.head !== 'output' || node.field.tail === undefined)
    fail(node, 'E-COMPILE-OUTPUT-CONDITION', `${expected}, not '${field}'`);
  const tail = node.field.tail;
  if (OUTPUT_FLAGS.has(tail) && node.op === undefined && !node.in) {
    return { op: 'output', field: tail as 'truncated' | 'empty' | 'invalid' };
  }
  if (tail === 'tokens' && node.op !== undefined && node.value !== undefined) {
    const value = node.value;
    if (value.$type === 'IntValue' || value.$type === 'TokensValue') {
      return { op: 'output-tokens', cmp: node.op as CompareOp, value: value.amount };
    }
    fail(
      value,
      'E-COMPILE-OUTPUT-CONDITION',
      `output.tokens is compared with a token count (512, 8k), not '${value.$cstNode?.text ?? value.$type}'`,
    );
  }
  return fail(node, 'E-COMPILE-OUTPUT-CONDITION', `${expected}, not '${node.$cstNode?.text ?? field}'`);
}

/** The operands of a left-nested chain of one operator, in source order (as the plan has them). */
export function flatten(node: ast.BinaryCondition): ast.Condition[] {
  const out: ast.Condition[] = [];
  const visit = (current: ast.Condition): void => {
    if (isBinaryCondition(current) && current.operator === node.operator) {
      visit(current.left);
      visit(current.right);
    } else out.push(current);
  };
  visit(node);
  return out;
}

/** Money literal to nano-dollars, or a compile error at the literal. */
export function moneyOf(node: AstNode, dollars: string): number {
  const nanos = dollarsToNanos(dollars);
  if (nanos === undefined)
    fail(
      node,
      'E-COMPILE-MONEY',
      `$${dollars} is beyond the largest amount a plan can carry (about $9,007,199)`,
    );
  return nanos;
}
