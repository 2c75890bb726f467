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
import { type SlowestPath, type TimedCall, resolveCall, slowestPath } from '../../plan/index.js';
import { formatDuration, providerOf, providerTimeoutMs } from './catalog-facts.js';

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

/** A target's call as the runtime will make it (plan/calls.ts applies the defaults), for its timing. */
export function timedCall(target: ChainTarget): TimedCall {
  const option = <T extends CallOption['$type']>(type: T): number | undefined =>
    (target.options.find((o) => o.$type === type) as { value?: number } | undefined)?.value;
  return {
    model: target.model.$refText,
    ...resolveCall(
      {
        timeoutMs: option('TimeoutOption'),
        retries: option('RetriesOption'),
        backoffMs: option('BackoffOption'),
      },
      { providerTimeoutMs: providerTimeoutMs(providerOf(target.model.ref)) },
    ),
  };
}

/**
 * The slowest way through the route's chain (plan/worst-case.ts `slowestPath`): every target is
 * timed even while its model is unresolved (with the default timeout).
 */
export function routeSlowestPath(route: Route): SlowestPath | undefined {
  return slowestPath({
    primaries: primaryTargets(route).map(timedCall),
    fallbacks: fallbackTargets(route).map(timedCall),
    escalations: escalationTargets(route).map(timedCall),
  });
}

/** `llama-8b 3 × 5s + 600ms backoff, then escalate to gpt-4o 60s`. */
export function describeSlowestPath(path: SlowestPath): string {
  return path.steps
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
