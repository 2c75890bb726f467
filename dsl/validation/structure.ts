/**
 * Block items (docs/language.md §2.5): a single-valued item may appear once (error at the second),
 * and a block has the items it cannot work without (a provider's `kind`, a route's primary, …).
 */
import type { AstNode, ValidationAcceptor, ValidationChecks } from 'langium';
import {
  type CallOption,
  type SwitchyardAstType,
  isModelProvider,
  isMoneyLimit,
  isRateLine,
  isSplit,
  isTokenLimit,
  isUse,
  isEndpoints,
  isProviderKind,
} from '../generated/ast.js';
import { providerKind } from './catalog-facts.js';
import { IssueCodes } from './issue-codes.js';
import { hasSyntaxError } from '../parser/syntax-state.js';

/** The keyword that starts each single-valued item, for messages. */
export const ITEM_WORDS: Record<string, string> = {
  ProviderKind: 'kind',
  Endpoints: 'endpoints',
  Queue: 'queue',
  Concurrency: 'concurrency',
  ProviderTimeout: 'timeout',
  PrivateFlag: 'private',
  Region: 'region',
  ApiKey: 'api-key',
  ModelFile: 'model-file',
  ModelProvider: 'provider',
  ModelId: 'name',
  ModelVersion: 'version',
  ModelContext: 'context',
  Capabilities: 'capabilities',
  PriceItem: 'price',
  PolicyVersion: 'version',
  Owner: 'owner',
  Description: 'description',
  Otherwise: 'otherwise',
  Audit: 'audit',
  BudgetExceed: 'on-exceed',
  RateExceed: 'on-exceed',
  Redact: 'redact',
  MaxInput: 'max-input',
  SchemaCheck: 'schema',
  Deadline: 'deadline',
  Execution: 'execution',
  PromptsItem: 'prompts',
  RetainItem: 'retain',
  TestRequest: 'request',
  Expect: 'expect',
  TimeoutOption: 'timeout',
  RetriesOption: 'retries',
  BackoffOption: 'backoff',
  MaxTokensOption: 'max-tokens',
};

/** Items that may repeat: `block` in a guard; budgets, routes … in a policy; `fallback`, `given`. */
const REPEATABLE = new Set([
  'Block',
  'Budget',
  'RateLimit',
  'Guard',
  'Require',
  'Route',
  'Fallback',
  'Escalate',
]);

export function lineOf(node: AstNode): number {
  return (node.$cstNode?.range.start.line ?? 0) + 1;
}

/**
 * Reports every item whose key was already seen, at the item. `key` returns undefined for items
 * that may repeat; `keyword` (if any) narrows the range to the item's first keyword.
 */
export function reportRepeats<T extends AstNode>(
  items: readonly T[],
  block: string,
  accept: ValidationAcceptor,
  key: (item: T) => string | undefined = (item) => (REPEATABLE.has(item.$type) ? undefined : item.$type),
  describe: (item: T, first: T) => string = (item, first) =>
    `${ITEM_WORDS[item.$type] ?? item.$type} may appear once in ${block} (first at line ${lineOf(first)})`,
): void {
  const seen = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    const first = seen.get(k);
    if (!first) {
      seen.set(k, item);
      continue;
    }
    const word = ITEM_WORDS[item.$type];
    accept('error', describe(item, first), {
      node: item,
      // Blocks (`audit { … }`) are marked at their keyword, one-line items whole.
      ...(item.$type === 'Audit' || item.$type === 'TestRequest' ? { keyword: word } : {}),
      code: IssueCodes.RepeatedItem,
      data: { code: IssueCodes.RepeatedItem, item: word ?? item.$type, firstLine: lineOf(first) },
    });
  }
}

function checkOptions(options: readonly CallOption[], target: string, accept: ValidationAcceptor): void {
  reportRepeats(
    options,
    target,
    accept,
    undefined,
    (item, first) =>
      `${ITEM_WORDS[item.$type]} is given twice for ${target} (first at line ${lineOf(first)})`,
  );
}

export function missing(
  accept: ValidationAcceptor,
  node: AstNode,
  message: string,
  item: string,
  keyword?: string,
): void {
  if (hasSyntaxError(node)) return;
  accept('error', message, {
    node,
    ...(keyword ? { keyword } : { property: 'name' as never }),
    code: IssueCodes.MissingItem,
    data: { code: IssueCodes.MissingItem, item },
  });
}

export function structureChecks(): ValidationChecks<SwitchyardAstType> {
  return {
    Provider: (provider, accept) => {
      const label = `provider '${provider.name}'`;
      reportRepeats(provider.items, label, accept);
      if (!provider.items.some(isProviderKind)) {
        missing(accept, provider, `${label} needs a kind: kind ollama, openai or embedded`, 'kind');
        return;
      }
      const kind = providerKind(provider);
      if ((kind === 'ollama' || kind === 'openai') && !provider.items.some(isEndpoints)) {
        const example = kind === 'ollama' ? 'http://localhost:11434' : 'https://api.openai.com/v1';
        missing(
          accept,
          provider,
          `${label} (kind ${kind}) needs endpoints, such as endpoints "${example}"`,
          'endpoints',
        );
      }
    },
    Model: (model, accept) => {
      const label = `model '${model.name}'`;
      reportRepeats(model.items, label, accept);
      if (!model.items.some(isModelProvider)) {
        missing(accept, model, `${label} needs a provider: provider NAME`, 'provider');
      }
    },
    PriceItem: (price, accept) => {
      reportRepeats(
        price.parts,
        'price',
        accept,
        (part) => part.direction,
        (part, first) => `the ${part.direction} price is given twice (first at line ${lineOf(first)})`,
      );
    },
    Policy: (policy, accept) => {
      reportRepeats(policy.items, `policy '${policy.name}'`, accept);
    },
    Budget: (budget, accept) => {
      const label = `budget '${budget.name}'`;
      reportRepeats(
        budget.items,
        label,
        accept,
        (item) =>
          isMoneyLimit(item)
            ? `limit per ${item.window}`
            : isTokenLimit(item)
              ? `tokens per ${item.window}`
              : item.$type,
        (item, first) =>
          isMoneyLimit(item) || isTokenLimit(item)
            ? `${label} already has a ${isMoneyLimit(item) ? 'limit' : 'tokens'} per ${item.window} (line ${lineOf(first)})`
            : `on-exceed may appear once in ${label} (first at line ${lineOf(first)})`,
      );
      if (!budget.items.some((i) => isMoneyLimit(i) || isTokenLimit(i))) {
        missing(
          accept,
          budget,
          `${label} needs a limit: limit $X per WINDOW or tokens N per WINDOW`,
          'limit',
        );
      }
    },
    RateLimit: (limit, accept) => {
      const label = limit.name ? `rate-limit '${limit.name}'` : 'rate-limit';
      reportRepeats(
        limit.items,
        label,
        accept,
        (item) => (isRateLine(item) ? `${item.unit} per ${item.window}` : item.$type),
        (item, first) =>
          isRateLine(item)
            ? `${label} already limits ${item.unit} per ${item.window} (line ${lineOf(first)})`
            : `on-exceed may appear once in ${label} (first at line ${lineOf(first)})`,
      );
      if (!limit.items.some(isRateLine)) {
        missing(
          accept,
          limit,
          `${label} needs at least one limit, such as 600 requests per minute`,
          'line',
          limit.name ? undefined : 'rate-limit',
        );
      }
    },
    Guard: (guard, accept) => {
      const label = `guard '${guard.name}'`;
      reportRepeats(guard.items, label, accept);
      if (guard.items.length === 0) {
        const items = guard.phase === 'after' ? 'block or schema' : 'redact, block or max-input';
        missing(accept, guard, `${label} checks nothing: add ${items}`, 'item');
      }
    },
    Route: (route, accept) => {
      const label = `route '${route.name}'`;
      reportRepeats(
        route.items,
        label,
        accept,
        (item) =>
          isUse(item) || isSplit(item)
            ? 'primary'
            : item.$type === 'Deadline' || item.$type === 'Execution'
              ? item.$type
              : undefined,
        (item, first) =>
          isUse(item) || isSplit(item)
            ? `${label} already has a primary target (${isUse(first) ? 'use' : 'split'} at line ${lineOf(first)}): a route has exactly one use or split`
            : `${ITEM_WORDS[item.$type]} may appear once in ${label} (first at line ${lineOf(first)})`,
      );
      if (!route.items.some((i) => isUse(i) || isSplit(i))) {
        missing(accept, route, `${label} needs a primary target: use MODEL or split MODEL N%, …`, 'use');
      }
    },
    Audit: (audit, accept) => {
      reportRepeats(audit.items, 'audit', accept);
    },
    CallTarget: (target, accept) => {
      checkOptions(target.options, `'${target.model?.$refText}'`, accept);
    },
    Split: (split, accept) => {
      checkOptions(split.options, 'the split', accept);
    },
    Escalate: (escalate, accept) => {
      checkOptions(escalate.options, `the escalation to '${escalate.model?.$refText}'`, accept);
    },
  };
}
