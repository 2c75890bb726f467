/**
 * Literal values (docs/language.md §2.4): money exact to 1e-9 $, percentages 1..100, status codes
 * 100..599, and numbers that make sense where they stand (no `concurrency 0`, no `per 0` tokens).
 * Malformed literals (`8K`, `2backoff`) never get here: the lexer refuses them (dsl/parser/syntax-tokens.ts).
 */
import type { AstNode, ValidationAcceptor, ValidationChecks } from 'langium';
import type { SwitchyardAstType } from '../generated/ast.js';
import { MONEY_DECIMALS, NANOS_PER_DOLLAR } from '../../plan/money.js';
import { moneyToNanos } from './catalog-facts.js';
import { IssueCodes } from './issue-codes.js';

/** Plans carry money as integer nano-dollars in JSON numbers. */
const MAX_SAFE_NANOS = BigInt(Number.MAX_SAFE_INTEGER);

function checkMoney(
  node: AstNode,
  property: string,
  amount: string | undefined,
  accept: ValidationAcceptor,
): void {
  if (typeof amount !== 'string') return;
  const decimals = amount.split('.')[1] ?? '';
  if (decimals.length > MONEY_DECIMALS) {
    accept(
      'error',
      `$${amount} has ${decimals.length} decimals: money is exact to 1e-9 $ (at most ${MONEY_DECIMALS} decimals)`,
      {
        node,
        property: property as never,
        code: IssueCodes.InvalidMoney,
        data: { code: IssueCodes.InvalidMoney, amount },
      },
    );
    return;
  }
  const nanos = moneyToNanos(amount);
  if (nanos !== undefined && nanos > MAX_SAFE_NANOS) {
    accept(
      'error',
      `$${amount} is too large: amounts go up to $${MAX_SAFE_NANOS / BigInt(NANOS_PER_DOLLAR)}`,
      {
        node,
        property: property as never,
        code: IssueCodes.InvalidMoney,
        data: { code: IssueCodes.InvalidMoney, amount },
      },
    );
  }
}

/** A whole number in a range; `what` names it in the message (`concurrency`, `the price's per`). */
function checkRange(
  node: AstNode,
  property: string,
  value: number | undefined,
  what: string,
  min: number,
  accept: ValidationAcceptor,
  /** The value as written (`0s`), computed only for a message. */
  written?: () => string,
): void {
  if (typeof value !== 'number' || Number.isNaN(value)) return;
  if (Number.isSafeInteger(value) && value >= min) return;
  const shown = written ? written() : String(value);
  if (!Number.isSafeInteger(value)) {
    accept('error', `${what} ${shown} is too large`, {
      node,
      property: property as never,
      code: IssueCodes.ValueOutOfRange,
      data: { code: IssueCodes.ValueOutOfRange, min },
    });
  } else if (value < min) {
    accept('error', `${what} must be more than ${min - 1}, found ${shown}`, {
      node,
      property: property as never,
      code: IssueCodes.ValueOutOfRange,
      data: { code: IssueCodes.ValueOutOfRange, min },
    });
  }
}

/** The last word of an item as written: `timeout 0s` → `0s`. */
function text(node: AstNode, fallback: number): () => string {
  return () => node.$cstNode?.text.trim().split(/\s+/).pop() ?? String(fallback);
}

export function literalChecks(): ValidationChecks<SwitchyardAstType> {
  return {
    PricePart: (part, accept) => {
      checkMoney(part, 'amount', part.amount, accept);
      checkRange(part, 'per', part.per, 'a price is per a number of tokens, which', 1, accept);
    },
    MoneyLimit: (limit, accept) => checkMoney(limit, 'amount', limit.amount, accept),
    GivenSpent: (given, accept) => checkMoney(given, 'amount', given.amount, accept),
    MoneyValue: (value, accept) => checkMoney(value, 'amount', value.amount, accept),
    SplitTarget: (target, accept) => {
      if (typeof target.weight !== 'number') return;
      if (target.weight < 1 || target.weight > 100) {
        accept('error', `split weight ${target.weight}% is out of range: a weight is 1% to 100%`, {
          node: target,
          property: 'weight',
          code: IssueCodes.PercentOutOfRange,
          data: { code: IssueCodes.PercentOutOfRange, weight: target.weight },
        });
      }
    },
    Concurrency: (item, accept) => checkRange(item, 'value', item.value, 'concurrency', 1, accept),
    ProviderTimeout: (item, accept) =>
      checkRange(item, 'value', item.value, 'timeout', 1, accept, text(item, item.value)),
    TimeoutOption: (item, accept) =>
      checkRange(item, 'value', item.value, 'timeout', 1, accept, text(item, item.value)),
    BackoffOption: (item, accept) =>
      checkRange(item, 'value', item.value, 'backoff', 0, accept, text(item, item.value)),
    RetriesOption: (item, accept) => checkRange(item, 'value', item.value, 'retries', 0, accept),
    Deadline: (item, accept) =>
      checkRange(item, 'value', item.value, 'deadline', 1, accept, text(item, item.value)),
    ModelContext: (item, accept) =>
      checkRange(item, 'value', item.value, 'context', 1, accept, text(item, item.value)),
    MaxTokensOption: (item, accept) =>
      checkRange(item, 'value', item.value, 'max-tokens', 1, accept, text(item, item.value)),
    MaxInput: (item, accept) =>
      checkRange(item, 'amount', item.amount, 'max-input', 1, accept, text(item, item.amount)),
    TokenLimit: (item, accept) => checkRange(item, 'amount', item.amount, 'a token limit', 0, accept),
    RateLine: (item, accept) => checkRange(item, 'amount', item.amount, 'a rate limit', 0, accept),
    RateExceed: (item, accept) => checkRange(item, 'maxWait', item.maxWait, 'wait', 1, accept),
    RetainItem: (item, accept) => checkRange(item, 'amount', item.amount, 'retain', 1, accept),
    PolicyVersion: (item, accept) => checkRange(item, 'number', item.number, 'version', 0, accept),
    Expect: (item, accept) => checkRange(item, 'attempts', item.attempts, 'attempts', 1, accept),
    IntValue: (item, accept) => checkRange(item, 'amount', item.amount, 'number', 0, accept),
    TokensValue: (item, accept) => checkRange(item, 'amount', item.amount, 'token count', 0, accept),
    DurationValue: (item, accept) => checkRange(item, 'ms', item.ms, 'duration', 0, accept),
  };
}
