/**
 * Conditions and test requests (docs/language.md §5, §7.1): known fields, values of the right kind,
 * `< <= > >=` only on ordered fields, `output.*` only after `escalate … when` and nothing else there.
 */
import type { AstNode, ValidationAcceptor, ValidationChecks } from 'langium';
import type { Comparison, SwitchyardAstType, Value } from '../generated/ast.js';
import {
  CLASSIFICATIONS,
  type FieldSpec,
  MODES,
  OUTPUT_FIELD_LIST,
  REQUEST_FIELD_LIST,
  expectedValue,
  fieldName,
  fieldSpec,
  sourceText,
  valueFits,
} from './condition-facts.js';
import { IssueCodes } from './issue-codes.js';
import { closestNames, didYouMean } from './suggest.js';

const ORDERED_OPS = new Set(['<', '<=', '>', '>=']);

/** What a bare field should have looked like. */
const EXAMPLES: Record<string, string> = {
  capability: 'capability == "chat"',
  mode: 'mode == batch',
  classification: 'classification >= confidential',
  'input.tokens': 'input.tokens > 8k',
  'max-tokens': 'max-tokens > 1k',
  latency: 'latency < 2s',
  'output.tokens': 'output.tokens > 1k',
};

type ConditionPlace = 'route' | 'require' | 'escalate';

/** Which condition a node belongs to: a route's or require's `when`, or an escalation's. */
function placeOf(node: AstNode): ConditionPlace | undefined {
  for (let current: AstNode | undefined = node; current; current = current.$container) {
    if (current.$type === 'Route') return 'route';
    if (current.$type === 'Require') return 'require';
    if (current.$type === 'Escalate') return 'escalate';
  }
  return undefined;
}

function exampleOf(name: string): string {
  return EXAMPLES[name] ?? `${name} == "…"`;
}

/** `mode takes interactive or batch (bare, without quotes), found "batch"`, plus a hint. */
function wrongKindMessage(name: string, spec: FieldSpec, value: Value): string {
  const found = sourceText(value);
  let hint = '';
  if (value.$type === 'NameValue') {
    if (spec.kind === 'string') hint = `: write "${value.name}"`;
    const domain = spec.kind === 'mode' ? MODES : spec.kind === 'classification' ? CLASSIFICATIONS : [];
    if (domain.length > 0) hint = didYouMean(closestNames(value.name, domain));
  } else if (value.$type === 'StringValue' && (spec.kind === 'mode' || spec.kind === 'classification')) {
    hint = `: write ${value.text} without quotes`;
  }
  return `${name} takes ${expectedValue(name, spec)}, found ${found}${hint}`;
}

function checkValue(
  node: AstNode,
  property: 'value' | 'values',
  index: number | undefined,
  name: string,
  spec: FieldSpec,
  value: Value | undefined,
  accept: ValidationAcceptor,
): void {
  if (!value || valueFits(spec, value)) return;
  accept('error', wrongKindMessage(name, spec, value), {
    node,
    property: property as never,
    index,
    code: IssueCodes.WrongKind,
    data: { code: IssueCodes.WrongKind, field: name, expected: spec.kind, found: value.$type },
  });
}

function unknownField(
  node: AstNode,
  name: string,
  valid: string[],
  accept: ValidationAcceptor,
  what = 'field',
): void {
  const candidates = closestNames(name, valid);
  const hint = name === 'tag' ? ': tags are named, as in tag.ticket' : didYouMean(candidates);
  accept('error', `unknown ${what} '${name}'${hint} (fields: ${valid.join(', ')})`, {
    node,
    property: 'field' as never,
    code: IssueCodes.UnknownField,
    data: { code: IssueCodes.UnknownField, field: name, candidates, valid },
  });
}

function checkComparison(comparison: Comparison, accept: ValidationAcceptor): void {
  if (!comparison.field) return;
  const name = fieldName(comparison.field);
  const place = placeOf(comparison);
  const spec = fieldSpec(name);
  if (!spec) {
    unknownField(comparison, name, place === 'escalate' ? OUTPUT_FIELD_LIST : REQUEST_FIELD_LIST, accept);
    return;
  }
  if (spec.output && place !== 'escalate') {
    accept(
      'error',
      `${name} describes a model's answer: it can only appear after escalate … when, not in a ${place ?? 'request'} condition`,
      {
        node: comparison,
        property: 'field',
        code: IssueCodes.OutputOutsideEscalate,
        data: { code: IssueCodes.OutputOutsideEscalate, field: name },
      },
    );
    return;
  }
  if (!spec.output && place === 'escalate') {
    accept(
      'error',
      `escalate conditions look at the answer (${OUTPUT_FIELD_LIST.join(', ')}), not at request fields such as ${name}`,
      {
        node: comparison,
        property: 'field',
        code: IssueCodes.RequestFieldInEscalate,
        data: { code: IssueCodes.RequestFieldInEscalate, field: name },
      },
    );
    return;
  }
  const bare = !comparison.op && !comparison.in;
  if (spec.kind === 'flag') {
    if (!bare) {
      accept(
        'error',
        `${name} is a flag: write it alone (or with not), without ${comparison.in ? 'in' : comparison.op}`,
        {
          node: comparison,
          ...(comparison.in ? { keyword: 'in' } : { property: 'op' as const }),
          code: IssueCodes.InvalidOperator,
          data: { code: IssueCodes.InvalidOperator, field: name },
        },
      );
    }
    return;
  }
  if (bare) {
    accept('error', `${name} needs a comparison, such as ${exampleOf(name)}`, {
      node: comparison,
      property: 'field',
      code: IssueCodes.BareField,
      data: { code: IssueCodes.BareField, field: name },
    });
    return;
  }
  if (comparison.op && ORDERED_OPS.has(comparison.op) && !spec.ordered) {
    accept(
      'error',
      `${comparison.op} applies only to tokens, durations, money and classification; ${name} takes ${expectedValue(name, spec)}`,
      {
        node: comparison,
        property: 'op',
        code: IssueCodes.InvalidOperator,
        data: { code: IssueCodes.InvalidOperator, field: name, op: comparison.op },
      },
    );
    return;
  }
  if (comparison.in && spec.output) {
    accept('error', `${name} is compared with ==, !=, <, <=, > or >=, not in`, {
      node: comparison,
      keyword: 'in',
      code: IssueCodes.InvalidOperator,
      data: { code: IssueCodes.InvalidOperator, field: name, op: 'in' },
    });
    return;
  }
  if (comparison.in) {
    comparison.values.forEach((value, index) =>
      checkValue(comparison, 'values', index, name, spec, value, accept),
    );
  } else {
    checkValue(comparison, 'value', undefined, name, spec, comparison.value, accept);
  }
}

export function conditionChecks(): ValidationChecks<SwitchyardAstType> {
  return {
    Comparison: checkComparison,
    RequestField: (field, accept) => {
      if (!field.field) return;
      const name = fieldName(field.field);
      const spec = fieldSpec(name);
      if (!spec || spec.output) {
        const hint =
          spec?.kind === 'flag'
            ? ` (to simulate an answer, write given MODEL answers ${name.slice(7)})`
            : spec
              ? ' (it describes an answer)'
              : '';
        if (hint) {
          accept('error', `${name} is not a request field${hint}`, {
            node: field,
            property: 'field',
            code: IssueCodes.UnknownField,
            data: { code: IssueCodes.UnknownField, field: name, candidates: [], valid: REQUEST_FIELD_LIST },
          });
        } else {
          unknownField(field, name, REQUEST_FIELD_LIST, accept, 'request field');
        }
        return;
      }
      checkValue(field, 'value', undefined, name, spec, field.value, accept);
    },
  };
}
