/** A route's candidate chain as the checks see it: targets, their call options and their timing. */
import type { Reference } from 'langium';
import {
  type CallOption,
  type CallTarget,
  type Escalate,
  type Model,
  type Route,
  type Split,
  type SplitTarget,
  type Use,
  isEscalate,
  isFallback,
  isSplit,
  isUse,
} from '../generated/ast.js';
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_TIMEOUT_MS,
  formatDuration,
  providerOf,
  providerTimeoutMs,
} from './catalog-facts.js';

export type TargetRole = 'use' | 'split' | 'fallback' | 'escalate';

export interface ChainTarget {
  role: TargetRole;
  /** The AST node that holds `model` (CallTarget, SplitTarget or Escalate). */
  holder: CallTarget | SplitTarget | Escalate;
  model: Reference<Model>;
  options: CallOption[];
}

/** The route's first primary item (`use` or `split`); a second one is an error elsewhere. */
export function primaryOf(route: Route): Use | Split | undefined {
  return route.items.find((item): item is Use | Split => isUse(item) || isSplit(item));
}

/** The primary targets: the `use` target, or every `split` target (with the split's options). */
export function primaryTargets(route: Route): ChainTarget[] {
  const primary = primaryOf(route);
  if (!primary) return [];
  if (isUse(primary)) {
    return primary.target
      ? [
          {
            role: 'use',
            holder: primary.target,
            model: primary.target.model,
            options: primary.target.options,
          },
        ]
      : [];
  }
  return primary.targets.map((t) => ({ role: 'split', holder: t, model: t.model, options: primary.options }));
}

export function fallbackTargets(route: Route): ChainTarget[] {
  return route.items
    .filter(isFallback)
    .filter((f) => !!f.target)
    .map((f) => ({ role: 'fallback', holder: f.target, model: f.target.model, options: f.target.options }));
}

export function escalations(route: Route): Escalate[] {
  return route.items.filter(isEscalate);
}

export function escalationTargets(route: Route): ChainTarget[] {
  return escalations(route).map((e) => ({ role: 'escalate', holder: e, model: e.model, options: e.options }));
}

/** Every target of the route: primary, fallbacks, escalations. */
export function allTargets(route: Route): ChainTarget[] {
  return [...primaryTargets(route), ...fallbackTargets(route), ...escalationTargets(route)];
}

export interface Timing {
  model: string;
  attempts: number;
  timeoutMs: number;
  backoffMs: number;
  /** Every attempt timing out, with the backoffs between them. */
  totalMs: number;
}

/**
 * The longest a target can take: `1 + retries` attempts, each bounded by its timeout (the call's,
 * else the provider's, else 60s), with backoffs between them (`backoff`, default 1s, doubling).
 */
export function targetTiming(target: ChainTarget): Timing {
  const option = <T extends CallOption['$type']>(type: T): number | undefined =>
    (target.options.find((o) => o.$type === type) as { value?: number } | undefined)?.value;
  const retries = Math.max(0, option('RetriesOption') ?? 0);
  const timeoutMs =
    option('TimeoutOption') ?? providerTimeoutMs(providerOf(target.model.ref)) ?? DEFAULT_TIMEOUT_MS;
  const firstBackoff = option('BackoffOption') ?? DEFAULT_BACKOFF_MS;
  // b + 2b + … + 2^(retries-1) b
  const backoffMs = firstBackoff * (2 ** retries - 1);
  const attempts = 1 + retries;
  return {
    model: target.model.$refText,
    attempts,
    timeoutMs,
    backoffMs,
    totalMs: attempts * timeoutMs + backoffMs,
  };
}

export interface WorstCase {
  totalMs: number;
  /** The steps of the slowest path, for the message. */
  steps: { timing: Timing; escalation: boolean }[];
}

/**
 * The slowest way through the chain: the primary (any split pick) and the fallbacks fail one
 * after another until one answers at its last moment, then the first escalation target not yet
 * tried runs to its end (an escalation's answer is final, so at most one escalation runs).
 */
export function worstCase(route: Route): WorstCase | undefined {
  const primaries = primaryTargets(route);
  if (primaries.length === 0) return undefined;
  const fallbacks = fallbackTargets(route);
  const escalating = escalationTargets(route).map((t) => ({
    name: t.model.$refText,
    timing: targetTiming(t),
  }));
  let worst: WorstCase | undefined;
  for (const primary of primaries) {
    const chain = [primary, ...fallbacks].map(targetTiming);
    let prefixMs = 0;
    const tried = new Set<string>();
    for (let k = 0; k < chain.length; k++) {
      prefixMs += chain[k]!.totalMs;
      tried.add(chain[k]!.model);
      // The escalation rules are checked in order: the first untried target runs. Conditions are
      // not evaluated here, so any untried escalation may be the one: take the slowest.
      const escalation = escalating
        .filter((e) => !tried.has(e.name))
        .reduce<(typeof escalating)[number] | undefined>(
          (a, b) => (!a || b.timing.totalMs > a.timing.totalMs ? b : a),
          undefined,
        );
      const totalMs = prefixMs + (escalation?.timing.totalMs ?? 0);
      if (!worst || totalMs > worst.totalMs) {
        worst = {
          totalMs,
          steps: [
            ...chain.slice(0, k + 1).map((timing) => ({ timing, escalation: false })),
            ...(escalation ? [{ timing: escalation.timing, escalation: true }] : []),
          ],
        };
      }
    }
  }
  return worst;
}

/** `llama-8b 3 × 5s + 600ms backoff, then escalate to gpt-4o 60s`. */
export function describeWorstCase(worst: WorstCase): string {
  return worst.steps
    .map(({ timing, escalation }, i) => {
      const attempts =
        timing.attempts > 1
          ? `${timing.attempts} attempts × ${formatDuration(timing.timeoutMs)}${timing.backoffMs > 0 ? ` + ${formatDuration(timing.backoffMs)} backoff` : ''}`
          : formatDuration(timing.timeoutMs);
      const lead = i === 0 ? '' : escalation ? 'then escalate to ' : 'then fallback ';
      return `${lead}${timing.model} ${attempts}`;
    })
    .join(', ');
}
