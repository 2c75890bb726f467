/**
 * Conditions (docs/language.md §5): request conditions after `when`, output conditions after
 * `escalate … when`, and printing both back in source syntax.
 *
 * Request conditions are compiled once into closures over a {@link RequestView} (cached per
 * condition object), so choosing among hundreds of routes costs a few property reads per route.
 */
import { formatDollars } from './money.js';
import { tagOf, viewRequest } from './request.js';
import type { RequestView } from './request.js';
import { CLASSIFICATIONS } from './types.js';
import type { CompareOp, Condition, InferenceRequest, OutputCondition, Value } from './types.js';

/** What an answer looked like, for `output.*` conditions. */
export interface OutputFacts {
  /** Stopped at max-tokens. */
  truncated: boolean;
  empty: boolean;
  /** An `after` guard failed. */
  invalid: boolean;
  /** Output tokens. */
  tokens: number;
}

type Comparable = string | number;
type Getter = (view: RequestView) => Comparable | undefined;
export type CompiledCondition = (view: RequestView) => boolean;

const compiled = new WeakMap<Condition, CompiledCondition>();

/**
 * Whether `cond` holds for `request` (docs/language.md §5.1: a comparison on a field the request
 * lacks is false, `!=` too).
 */
export function evalCondition(cond: Condition, request: InferenceRequest | RequestView): boolean {
  return compileCondition(cond)('messages' in request ? viewRequest(request) : request);
}

/** The condition as a closure over a {@link RequestView}; compiled once per condition object. */
export function compileCondition(cond: Condition): CompiledCondition {
  let fn = compiled.get(cond);
  if (fn === undefined) {
    fn = build(cond);
    compiled.set(cond, fn);
  }
  return fn;
}

function build(cond: Condition): CompiledCondition {
  switch (cond.op) {
    case 'true':
      return () => true;
    case 'not': {
      const arg = build(cond.arg);
      return (v) => !arg(v);
    }
    case 'and': {
      const args = cond.args.map(build);
      return (v) => {
        for (const arg of args) if (!arg(v)) return false;
        return true;
      };
    }
    case 'or': {
      const args = cond.args.map(build);
      return (v) => {
        for (const arg of args) if (arg(v)) return true;
        return false;
      };
    }
    case 'in': {
      const get = getter(cond.field);
      const isClassification = cond.field === 'classification';
      const set = new Set<Comparable>(cond.values.map((value) => comparable(value, isClassification)));
      return (v) => {
        const actual = get(v);
        return actual !== undefined && set.has(actual);
      };
    }
    case 'compare':
      return compare(getter(cond.field), cond.cmp, comparable(cond.value, cond.field === 'classification'));
  }
}

function compare(get: Getter, cmp: CompareOp, expected: Comparable): CompiledCondition {
  switch (cmp) {
    case '==':
      return (v) => get(v) === expected;
    case '!=':
      return (v) => {
        const actual = get(v);
        return actual !== undefined && actual !== expected;
      };
  }
  // Ordering applies to tokens, durations, money and classification only: all numbers here.
  if (typeof expected !== 'number') return () => false;
  const ordered = (test: (actual: number) => boolean): CompiledCondition => {
    return (v) => {
      const actual = get(v);
      return typeof actual === 'number' && test(actual);
    };
  };
  switch (cmp) {
    case '<':
      return ordered((a) => a < expected);
    case '<=':
      return ordered((a) => a <= expected);
    case '>':
      return ordered((a) => a > expected);
    case '>=':
      return ordered((a) => a >= expected);
  }
}

function getter(field: string): Getter {
  switch (field) {
    case 'capability':
      return (v) => v.capability;
    case 'mode':
      return (v) => v.mode;
    case 'classification':
      return (v) => v.classificationRank;
    case 'team':
      return (v) => v.team;
    case 'app':
      return (v) => v.app;
    case 'user':
      return (v) => v.user;
    case 'region':
      return (v) => v.region;
    case 'input.tokens':
      return (v) => v.inputTokens;
    case 'max-tokens':
      return (v) => v.maxTokens;
    case 'latency':
      return (v) => v.latencyMs;
  }
  if (field.startsWith('tag.')) {
    const name = field.slice(4);
    return (v) => tagOf(v, name);
  }
  return () => undefined;
}

/** A literal as the value its field compares against; classification names become their rank. */
function comparable(value: Value, isClassification: boolean): Comparable {
  switch (value.kind) {
    case 'string':
    case 'name':
      // An unknown classification (a validation error) matches nothing: -1 is no request's rank.
      return isClassification ? CLASSIFICATIONS.indexOf(value.value as never) : value.value;
    case 'integer':
    case 'tokens':
      return value.value;
    case 'duration':
      return value.ms;
    case 'money':
      return value.nanos;
  }
}

/** Whether an output condition holds for an answer. */
export function evalOutputCondition(cond: OutputCondition, output: OutputFacts): boolean {
  switch (cond.op) {
    case 'and':
      return cond.args.every((arg) => evalOutputCondition(arg, output));
    case 'or':
      return cond.args.some((arg) => evalOutputCondition(arg, output));
    case 'not':
      return !evalOutputCondition(cond.arg, output);
    case 'output':
      return output[cond.field];
    case 'output-tokens':
      return compareNumbers(output.tokens, cond.cmp, cond.value);
  }
}

function compareNumbers(a: number, cmp: CompareOp, b: number): boolean {
  switch (cmp) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

// ---------------------------------------------------------------------------------------------
// Printing (for plans that lack `whenText`)

/** A condition in source syntax, e.g. `capability == "chat" and mode == interactive`. */
export function conditionText(cond: Condition | OutputCondition): string {
  return print(cond, 0);
}

const PRECEDENCE = { or: 1, and: 2, not: 3 } as const;

function print(cond: Condition | OutputCondition, parent: number): string {
  switch (cond.op) {
    case 'true':
      return 'true';
    case 'or':
    case 'and': {
      const own = PRECEDENCE[cond.op];
      const args: (Condition | OutputCondition)[] = cond.args;
      const text = args.map((arg) => print(arg, own)).join(` ${cond.op} `);
      return own < parent ? `(${text})` : text;
    }
    case 'not': {
      const text = `not ${print(cond.arg, PRECEDENCE.not)}`;
      return PRECEDENCE.not < parent ? `(${text})` : text;
    }
    case 'compare':
      return `${cond.field} ${cond.cmp} ${valueText(cond.value)}`;
    case 'in':
      return `${cond.field} in [${cond.values.map(valueText).join(', ')}]`;
    case 'output':
      return `output.${cond.field}`;
    case 'output-tokens':
      return `output.tokens ${cond.cmp} ${tokensText(cond.value)}`;
  }
}

/** A literal in source syntax: `"chat"`, `confidential`, `8k`, `200ms`, `$0.0025`. */
export function valueText(value: Value): string {
  switch (value.kind) {
    case 'string':
      return `"${value.value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    case 'name':
      return value.value;
    case 'integer':
      return String(value.value);
    case 'tokens':
      return tokensText(value.value);
    case 'duration':
      return durationText(value.ms);
    case 'money':
      return `$${formatDollars(value.nanos)}`;
  }
}

export function tokensText(tokens: number): string {
  if (tokens !== 0 && tokens % 1_000_000 === 0) return `${tokens / 1_000_000}M`;
  if (tokens !== 0 && tokens % 1_000 === 0) return `${tokens / 1_000}k`;
  return String(tokens);
}

export function durationText(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
