/**
 * Request fields and conditions: which fields exist, which values they take, and a normal form of
 * conditions good enough to see that one route's condition covers another's, or that two
 * conditions can never hold together.
 */
import type { AstNode } from 'langium';
import {
  type BinaryCondition,
  type Comparison,
  type Condition,
  type FieldPath,
  type Value,
  isBinaryCondition,
  isComparison,
  isNotCondition,
  isTrueCondition,
} from '../generated/ast.js';

/** `a and b` (the grammar's infix rule makes one node type for both operators). */
export function isAndCondition(node: unknown): node is BinaryCondition {
  return isBinaryCondition(node) && node.operator === 'and';
}

/** `a or b`. */
export function isOrCondition(node: unknown): node is BinaryCondition {
  return isBinaryCondition(node) && node.operator === 'or';
}
import { moneyToNanos } from './catalog-facts.js';

export const MODES = ['interactive', 'batch'] as const;
/** In order: public < internal < confidential < restricted. */
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;

export type FieldKind = 'string' | 'mode' | 'classification' | 'tokens' | 'duration' | 'flag';

export interface FieldSpec {
  kind: FieldKind;
  /** `< <= > >=` apply (tokens, durations, classification). */
  ordered: boolean;
  /** `output.*`: only in `escalate … when`. */
  output: boolean;
}

const string: FieldSpec = { kind: 'string', ordered: false, output: false };

export const REQUEST_FIELDS: Record<string, FieldSpec> = {
  capability: string,
  mode: { kind: 'mode', ordered: false, output: false },
  classification: { kind: 'classification', ordered: true, output: false },
  team: string,
  app: string,
  user: string,
  region: string,
  'input.tokens': { kind: 'tokens', ordered: true, output: false },
  'max-tokens': { kind: 'tokens', ordered: true, output: false },
  latency: { kind: 'duration', ordered: true, output: false },
};

export const OUTPUT_FIELDS: Record<string, FieldSpec> = {
  'output.truncated': { kind: 'flag', ordered: false, output: true },
  'output.empty': { kind: 'flag', ordered: false, output: true },
  'output.invalid': { kind: 'flag', ordered: false, output: true },
  'output.tokens': { kind: 'tokens', ordered: true, output: true },
};

/** For "expected one of" messages. */
export const REQUEST_FIELD_LIST = [...Object.keys(REQUEST_FIELDS), 'tag.NAME'];
export const OUTPUT_FIELD_LIST = Object.keys(OUTPUT_FIELDS);

/** `input.tokens`, `tag.ticket`, `team`; `?` for a field the parser could not read. */
export function fieldName(path: FieldPath | undefined): string {
  if (!path || typeof path.head !== 'string') return '?';
  return path.tail !== undefined ? `${path.head}.${path.tail}` : path.head;
}

/** The spec of a field name (`tag.ticket` is a string field), or undefined when unknown. */
export function fieldSpec(name: string): FieldSpec | undefined {
  if (/^tag\.[A-Za-z][A-Za-z0-9_-]*$/.test(name)) return string;
  return REQUEST_FIELDS[name] ?? OUTPUT_FIELDS[name];
}

/** Does a value have the kind the field takes? */
export function valueFits(spec: FieldSpec, value: Value): boolean {
  switch (spec.kind) {
    case 'string':
      return value.$type === 'StringValue';
    case 'mode':
      return value.$type === 'NameValue' && (MODES as readonly string[]).includes(value.name);
    case 'classification':
      return value.$type === 'NameValue' && (CLASSIFICATIONS as readonly string[]).includes(value.name);
    case 'tokens':
      return value.$type === 'TokensValue' || value.$type === 'IntValue';
    case 'duration':
      return value.$type === 'DurationValue';
    case 'flag':
      return false;
  }
}

/** What a field takes, for messages. */
export function expectedValue(name: string, spec: FieldSpec): string {
  switch (spec.kind) {
    case 'string':
      return name === 'capability' ? 'a string such as "chat"' : 'a string in double quotes';
    case 'mode':
      return 'interactive or batch (bare, without quotes)';
    case 'classification':
      return 'public, internal, confidential or restricted (bare, without quotes)';
    case 'tokens':
      return 'a token count such as 8k';
    case 'duration':
      return 'a duration such as 2s';
    case 'flag':
      return 'nothing (it is a flag)';
  }
}

/** A value as written (from the source), for messages. */
export function sourceText(node: AstNode | undefined, max = 60): string {
  const text = (node?.$cstNode?.text ?? '').replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The conjuncts of a condition: `a and (b and c)` → [a, b, c] (iterative: chains can be long). */
export function conjunctsOf(condition: Condition): Condition[] {
  return flatten(condition, isAndCondition);
}

/** The disjuncts of a condition: `a or b or c` → [a, b, c]. */
export function disjunctsOf(condition: Condition): Condition[] {
  return flatten(condition, isOrCondition);
}

function flatten(
  condition: Condition,
  is: (node: unknown) => node is { left: Condition; right: Condition },
): Condition[] {
  const out: Condition[] = [];
  const stack: Condition[] = [condition];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (is(current)) {
      stack.push(current.right, current.left);
    } else {
      out.push(current);
    }
  }
  return out;
}

/** A value in normal form: `8k` and `8000` are the same, so are `2m` and `120s`. */
export function canonicalValue(value: Value | undefined): string {
  if (!value) return '?';
  switch (value.$type) {
    case 'StringValue':
      return JSON.stringify(value.text);
    case 'NameValue':
      return value.name;
    case 'DurationValue':
      return `${value.ms}ms`;
    case 'TokensValue':
    case 'IntValue':
      return String(value.amount);
    case 'MoneyValue':
      return `$nanos:${moneyToNanos(value.amount) ?? value.amount}`;
    case 'PercentValue':
      return `${value.percent}%`;
  }
}

/**
 * A condition in normal form: operands of `and`/`or` sorted and deduplicated, `true` absorbed,
 * literals normalised. Equal normal forms mean equal conditions (not the converse).
 */
export function canonical(condition: Condition | undefined): string {
  if (!condition) return '?';
  if (isTrueCondition(condition)) return 'true';
  if (isNotCondition(condition)) {
    const inner = canonical(condition.operand);
    return isAndCondition(condition.operand) || isOrCondition(condition.operand)
      ? `not (${inner})`
      : `not ${inner}`;
  }
  if (isAndCondition(condition)) {
    const parts = new Set<string>();
    for (const part of conjunctsOf(condition)) {
      const text = canonical(part);
      if (text !== 'true') parts.add(isOrCondition(part) ? `(${text})` : text);
    }
    return parts.size === 0 ? 'true' : [...parts].sort().join(' and ');
  }
  if (isOrCondition(condition)) {
    const parts = new Set<string>();
    for (const part of disjunctsOf(condition)) {
      const text = canonical(part);
      if (text === 'true') return 'true';
      parts.add(text);
    }
    return [...parts].sort().join(' or ');
  }
  if (isBinaryCondition(condition)) return '?';
  const field = fieldName(condition.field);
  if (condition.in)
    return `${field} in [${[...new Set(condition.values.map(canonicalValue))].sort().join(', ')}]`;
  if (condition.op) return `${field} ${condition.op} ${canonicalValue(condition.value)}`;
  return field;
}

/** A condition as a disjunction of conjunct sets (only its top-level `or`s and `and`s are opened). */
export function disjunctiveSets(condition: Condition): Set<string>[] {
  return disjunctsOf(condition).map((disjunct) => {
    const set = new Set<string>();
    for (const part of conjunctsOf(disjunct)) {
      const text = canonical(part);
      if (text !== 'true') set.add(text);
    }
    return set;
  });
}

/** The string values of `capability == "X"` conjuncts of a condition (top level or in an `and`). */
export function requiredCapabilities(condition: Condition): string[] {
  const out: string[] = [];
  for (const part of conjunctsOf(condition)) {
    if (
      isComparison(part) &&
      fieldName(part.field) === 'capability' &&
      part.op === '==' &&
      part.value?.$type === 'StringValue'
    ) {
      out.push(part.value.text);
    }
  }
  return out;
}

interface Constraint {
  /** The only values allowed, when known. */
  only?: Set<string>;
  except: Set<string>;
}

const DOMAINS: Record<string, readonly string[]> = { mode: MODES, classification: CLASSIFICATIONS };

/** Restricts a field's allowed values by one comparison; false when the comparison says nothing usable. */
function constrain(constraint: Constraint, field: string, comparison: Comparison): boolean {
  const intersect = (values: Iterable<string>): void => {
    const next = new Set(values);
    constraint.only = constraint.only ? new Set([...constraint.only].filter((v) => next.has(v))) : next;
  };
  if (comparison.in) {
    intersect(comparison.values.map(canonicalValue));
    return true;
  }
  if (!comparison.op || !comparison.value) return false;
  const value = canonicalValue(comparison.value);
  switch (comparison.op) {
    case '==':
      intersect([value]);
      return true;
    case '!=':
      constraint.except.add(value);
      return true;
    default: {
      if (field !== 'classification') return false;
      const rank = CLASSIFICATIONS.indexOf(value as (typeof CLASSIFICATIONS)[number]);
      if (rank < 0) return false;
      const op = comparison.op;
      intersect(
        CLASSIFICATIONS.filter((_, i) =>
          op === '<' ? i < rank : op === '<=' ? i <= rank : op === '>' ? i > rank : i >= rank,
        ),
      );
      return true;
    }
  }
}

/**
 * Can no request satisfy both conditions? Sound but simple: looks only at top-level conjuncts
 * comparing a field with constants (`mode == batch` vs `mode == interactive`,
 * `classification == public` vs `classification >= confidential`, `team == "a"` vs `team == "b"`).
 */
export function neverBoth(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return false;
  const constraints = new Map<string, Constraint>();
  for (const part of [...conjunctsOf(a), ...conjunctsOf(b)]) {
    if (!isComparison(part)) continue;
    const field = fieldName(part.field);
    const constraint = constraints.get(field) ?? { except: new Set<string>() };
    if (!constrain(constraint, field, part)) continue;
    constraints.set(field, constraint);
  }
  for (const [field, constraint] of constraints) {
    let only = constraint.only;
    const domain = DOMAINS[field];
    if (!only && domain) only = new Set(domain);
    if (only && [...only].every((v) => constraint.except.has(v))) return true;
  }
  return false;
}
