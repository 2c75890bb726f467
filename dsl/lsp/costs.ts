/**
 * What a route can cost and how long it can take, read from the linked AST while the file is being
 * edited (it may not compile yet). Costs go through the plan's own `worstCase`, so a hover shows
 * the number the ledger would reserve; latency is the validator's `worstCase`, so a hover and the
 * deadline warning agree.
 */
import {
  type ChainEntry,
  type ChainRole,
  type Price,
  type WorstCase,
  DEFAULT_BACKOFF_MS,
  DEFAULT_TIMEOUT_MS,
  formatDollars,
  worstCase,
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
  escalationTargets,
  fallbackTargets,
  primaryTargets,
} from '../validation/route-facts.js';
import { worstCase as worstCaseLatency, describeWorstCase } from '../validation/route-facts.js';

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
    timeoutMs: option(options, 'TimeoutOption') ?? providerTimeoutMs(provider) ?? DEFAULT_TIMEOUT_MS,
    retries: option(options, 'RetriesOption') ?? 0,
    backoffMs: option(options, 'BackoffOption') ?? DEFAULT_BACKOFF_MS,
    maxTokens: option(options, 'MaxTokensOption') ?? null,
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

export interface AnswerCost {
  model: string;
  /** Nano-dollars; `undefined` when unbounded (no context and no max-tokens, with a price). */
  nanos: number | undefined;
  /** The input size that gives the worst case. */
  inputTokens: number;
  outputTokens: number;
}

/**
 * The most one answer of `entry` can cost: the plan's `worstCase` at the input size that makes it
 * largest among those that fit the context (cost is linear in the input, so one of the two ends).
 */
export function worstAnswer(entry: ChainEntry, inputTokens?: number): AnswerCost {
  const at = (input: number): AnswerCost => {
    const cost: WorstCase = worstCase(entry, input);
    return { model: entry.model, nanos: cost.nanos, inputTokens: input, outputTokens: cost.outputTokens };
  };
  if (inputTokens !== undefined) return at(inputTokens);
  if (entry.context === null) {
    const priced =
      (entry.price?.input.nanos ?? 0) > 0 ||
      (entry.maxTokens === null && (entry.price?.output.nanos ?? 0) > 0);
    return priced ? { model: entry.model, nanos: undefined, inputTokens: 0, outputTokens: 0 } : at(0);
  }
  const low = at(0);
  const high = at(Math.max(0, entry.context - (entry.maxTokens ?? 0)));
  return (high.nanos ?? 0) > (low.nanos ?? 0) ? high : low;
}

export interface RouteCost {
  /** Nano-dollars, `undefined` when unbounded (a priced model without a context). */
  nanos: number | undefined;
  /** The prompt size of the worst case. */
  inputTokens: number;
  /** The answers that make up the worst case: one from the chain, then at most one escalation. */
  answers: AnswerCost[];
}

/** Whether a prompt of `input` tokens fits the model at all (else it fails over, uncharged). */
function fits(entry: ChainEntry, input: number): boolean {
  return entry.context === null || input + (entry.maxTokens ?? 0) <= entry.context;
}

function unbounded(entry: ChainEntry): boolean {
  return worstAnswer(entry).nanos === undefined;
}

/**
 * The most one request on this route can cost with a prompt of `inputTokens`. Failed attempts are
 * released, not charged, so a request pays for the one chain model that answers plus, at most,
 * one escalation whose target was not tried before.
 */
export function routeCostAt(route: Route, inputTokens: number): RouteCost | undefined {
  const primaries = primaryTargets(route);
  if (primaries.length === 0) return undefined;
  const answerOf = (target: ChainTarget): AnswerCost | undefined => {
    const entry = chainEntryOf(target);
    if (!entry || !fits(entry, inputTokens)) return undefined;
    return worstAnswer(entry, inputTokens);
  };
  const escalations = escalationTargets(route).flatMap((t) => answerOf(t) ?? []);
  let best: RouteCost | undefined;
  for (const primary of primaries) {
    const tried = new Set<string>();
    for (const target of [primary, ...fallbackTargets(route)]) {
      tried.add(target.model.$refText);
      const answer = answerOf(target);
      if (!answer) continue;
      const escalation = escalations
        .filter((e) => !tried.has(e.model))
        .reduce<AnswerCost | undefined>((a, b) => (!a || (b.nanos ?? 0) > (a.nanos ?? 0) ? b : a), undefined);
      const nanos = (answer.nanos ?? 0) + (escalation?.nanos ?? 0);
      if (!best || nanos > (best.nanos ?? 0)) {
        best = { nanos, inputTokens, answers: escalation ? [answer, escalation] : [answer] };
      }
    }
  }
  return best;
}

/**
 * The most one request on this route can cost, for any prompt that fits: the cost is linear in the
 * prompt size between the points where a model stops fitting, so the worst case is at one of them.
 */
export function routeWorstCost(route: Route): RouteCost | undefined {
  const entries = allTargets(route).flatMap((t) => chainEntryOf(t) ?? []);
  if (entries.length === 0) return undefined;
  if (entries.some(unbounded)) return { nanos: undefined, inputTokens: 0, answers: [] };
  const sizes = new Set([
    0,
    ...entries.flatMap((e) => (e.context === null ? [] : [Math.max(0, e.context - (e.maxTokens ?? 0))])),
  ]);
  let best: RouteCost | undefined;
  for (const size of sizes) {
    const cost = routeCostAt(route, size);
    if (cost && (!best || (cost.nanos ?? 0) > (best.nanos ?? 0))) best = cost;
  }
  return best;
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
  const worst = worstCaseLatency(route);
  if (!worst) return undefined;
  return {
    worstMs: worst.totalMs,
    path: describeWorstCase(worst),
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
