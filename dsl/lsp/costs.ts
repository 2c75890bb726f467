/**
 * What a route can cost and how long it can take, read from the linked AST while the file is being
 * edited (it may not compile yet). The AST's targets become chain entries with the runtime's own
 * call defaults (plan/calls.ts), and the route figures are the plan's (plan/worst-case.ts): the
 * number a hover shows is the one the ledger would reserve, and its latency is the one the
 * validator's deadline warning uses (test/plan/agreement.test.ts checks both on the examples).
 */
import {
  type AnswerCost,
  type ChainEntry,
  type ChainRole,
  type Price,
  type RouteChain,
  type RouteCost,
  answerWorstCost,
  formatDollars,
  resolveCall,
  routeCostAt as planRouteCostAt,
  routeWorstCost as planRouteWorstCost,
} from '../../plan/index.js';
import { compilePrice } from '../compiler/catalog.js';
import {
  type CallOption,
  type Model,
  type Route,
  isDeadline,
  isModelContext,
  isPriceItem,
  isPrivateFlag,
  isProviderKind,
} from '../generated/ast.js';
import {
  formatDuration,
  isPrivateProvider,
  providerOf,
  providerTimeoutMs,
} from '../validation/catalog-facts.js';
import { sourceText } from '../validation/condition-facts.js';
import {
  type ChainTarget,
  allTargets,
  describeSlowestPath,
  escalationTargets,
  fallbackTargets,
  primaryTargets,
  routeSlowestPath,
} from '../validation/route-facts.js';

export type { AnswerCost, RouteCost };

/** A prompt size for the "typical" figure next to the worst case. */
export const TYPICAL_INPUT_TOKENS = 1000;

function option(options: readonly CallOption[], type: CallOption['$type']): number | undefined {
  return (options.find((o) => o.$type === type) as { value?: number } | undefined)?.value;
}

function priceOf(model: Model): { input: Price; output: Price } | null {
  const item = model.items.find(isPriceItem);
  if (!item) return null;
  try {
    return compilePrice(item);
  } catch {
    return null;
  }
}

const ROLES: Record<ChainTarget['role'], ChainRole> = {
  use: 'primary',
  split: 'primary',
  fallback: 'fallback',
  escalate: 'escalation',
};

/**
 * A model called with `options`, as the evaluator would see it (docs/language.md §4.6 defaults
 * resolved).
 */
export function entryFor(model: Model, role: ChainRole, options: readonly CallOption[] = []): ChainEntry {
  const provider = providerOf(model);
  return {
    model: model.name,
    role,
    id: model.name,
    provider: provider?.name ?? '',
    queue: '',
    private: provider ? isPrivateProvider(provider) : false,
    ...resolveCall(
      {
        timeoutMs: option(options, 'TimeoutOption'),
        retries: option(options, 'RetriesOption'),
        backoffMs: option(options, 'BackoffOption'),
        maxTokens: option(options, 'MaxTokensOption'),
      },
      { providerTimeoutMs: providerTimeoutMs(provider) },
    ),
    context: model.items.find(isModelContext)?.value ?? null,
    price: priceOf(model),
    redact: [],
    afterGuards: [],
  };
}

/** A chain target as the evaluator would see it, or undefined while its model is unresolved. */
export function chainEntryOf(target: ChainTarget): ChainEntry | undefined {
  const model = target.model?.ref;
  return model ? entryFor(model, ROLES[target.role], target.options) : undefined;
}

/** The route's candidates as the evaluator would build them; targets whose model is unresolved are left out. */
export function routeChainOf(route: Route): RouteChain<ChainEntry> {
  const entries = (targets: ChainTarget[]): ChainEntry[] => targets.flatMap((t) => chainEntryOf(t) ?? []);
  return {
    primaries: entries(primaryTargets(route)),
    fallbacks: entries(fallbackTargets(route)),
    escalations: entries(escalationTargets(route)),
  };
}

/** The most one answer of `entry` can cost (plan/worst-case.ts `answerWorstCost`). */
export function worstAnswer(entry: ChainEntry, inputTokens?: number): AnswerCost {
  return answerWorstCost(entry, inputTokens);
}

/** The most one request on this route can cost with a prompt of `inputTokens`. */
export function routeCostAt(route: Route, inputTokens: number): RouteCost | undefined {
  return planRouteCostAt(routeChainOf(route), inputTokens);
}

/** The most one request on this route can cost, for any prompt that fits. */
export function routeWorstCost(route: Route): RouteCost | undefined {
  return planRouteWorstCost(routeChainOf(route));
}

export function dollars(nanos: number | undefined): string {
  return nanos === undefined ? 'unbounded' : `$${formatDollars(nanos)}`;
}

export interface RouteLatency {
  worstMs: number;
  /** `llama-8b 3 attempts × 5s + 600ms backoff, then fallback gpt-4o 20s`. */
  path: string;
  deadlineMs: number | undefined;
}

export function routeLatency(route: Route): RouteLatency | undefined {
  if (allTargets(route).some((t) => !t.model?.ref)) return undefined;
  const worst = routeSlowestPath(route);
  if (!worst) return undefined;
  return {
    worstMs: worst.totalMs,
    path: describeSlowestPath(worst),
    deadlineMs: route.items.find(isDeadline)?.value,
  };
}

/** One line per chain target: `1. use llama-8b (gpu-east, private) timeout 5s, retries 2`. */
export function describeChain(route: Route): string[] {
  return allTargets(route).map((target, index) => {
    const entry = chainEntryOf(target);
    const model = target.model?.$refText ?? '?';
    const where = entry
      ? ` (${entry.provider || 'no provider'}, ${entry.private ? 'private' : 'external'})`
      : '';
    const role =
      target.role === 'split'
        ? `split ${(target.holder as { weight?: number }).weight ?? '?'}%`
        : target.role === 'escalate'
          ? 'escalate'
          : target.role;
    const when =
      target.role === 'escalate' ? ` when ${sourceText((target.holder as { when?: never }).when, 80)}` : '';
    const options = entry
      ? [
          `timeout ${formatDuration(entry.timeoutMs)}`,
          ...(entry.retries > 0
            ? [`retries ${entry.retries}`, `backoff ${formatDuration(entry.backoffMs)}`]
            : []),
          ...(entry.maxTokens !== null ? [`max-tokens ${entry.maxTokens}`] : []),
        ].join(', ')
      : 'unknown model';
    return `${index + 1}. ${role} ${model}${when}${where} — ${options}`;
  });
}

/** `kind ollama`, or undefined. */
export function providerKindOf(model: Model): string | undefined {
  return providerOf(model)?.items.find(isProviderKind)?.kind;
}

export function isExternalModel(model: Model): boolean {
  const provider = providerOf(model);
  return provider ? !isPrivateProvider(provider) && !provider.items.some(isPrivateFlag) : true;
}
