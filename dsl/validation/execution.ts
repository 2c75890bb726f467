/**
 * Execution modes (docs/language.md §4.9): a route runs `durable` (one Temporal
 * workflow per request) or `direct` (the HTTP front door runs the plan in its own process). A
 * route's own `execution` wins, else its policy's, else durable.
 */
import type { ValidationAcceptor } from 'langium';
import {
  type Execution,
  type Policy,
  type Route,
  isComparison,
  isExecution,
  isPolicy,
} from '../generated/ast.js';
import { canonicalValue, conjunctsOf, disjunctsOf, fieldName, MODES, sourceText } from './condition-facts.js';
import { IssueCodes } from './issue-codes.js';

export type ExecutionMode = 'durable' | 'direct';

export interface EffectiveExecution {
  mode: ExecutionMode;
  /** Where the mode comes from: the route's own item, its policy's, or neither (the default). */
  from: 'route' | 'policy' | 'default';
  /** The item that says so, when one does. */
  item?: Execution;
}

function modeOf(item: Execution | undefined): ExecutionMode | undefined {
  return item?.mode === 'durable' || item?.mode === 'direct' ? item.mode : undefined;
}

/** The policy's own `execution` (its first one: a second is an error reported elsewhere). */
export function policyExecution(policy: Policy): Execution | undefined {
  return policy.items.find(isExecution);
}

/** How a route runs: its own `execution`, else its policy's, else durable. */
export function effectiveExecution(route: Route): EffectiveExecution {
  const own = route.items.find(isExecution);
  const ownMode = modeOf(own);
  if (own && ownMode) return { mode: ownMode, from: 'route', item: own };
  const container = route.$container as unknown;
  const inherited = isPolicy(container) ? policyExecution(container) : undefined;
  const inheritedMode = modeOf(inherited);
  if (inherited && inheritedMode) return { mode: inheritedMode, from: 'policy', item: inherited };
  return { mode: 'durable', from: 'default' };
}

/**
 * Whether some alternative of the condition selects batch requests by their mode: one of its
 * top-level `or` branches compares `mode` and lets `batch` through (`mode == batch`,
 * `mode in [batch, interactive]`, `mode != interactive`). A condition that says nothing about the
 * mode (`when true`) is not reported: most routes serve both kinds.
 */
export function selectsBatch(route: Route): boolean {
  if (!route.when) return false;
  return disjunctsOf(route.when).some((disjunct) => {
    let allowed: Set<string> | undefined;
    const except = new Set<string>();
    for (const part of conjunctsOf(disjunct)) {
      if (!isComparison(part) || fieldName(part.field) !== 'mode') continue;
      if (part.in) {
        const values = new Set(part.values.map(canonicalValue));
        allowed = new Set([...(allowed ?? MODES)].filter((m) => values.has(m)));
      } else if (part.op === '==' && part.value) {
        const value = canonicalValue(part.value);
        allowed = new Set([...(allowed ?? MODES)].filter((m) => m === value));
      } else if (part.op === '!=' && part.value) {
        except.add(canonicalValue(part.value));
      } else {
        continue;
      }
      allowed ??= new Set(MODES);
    }
    return allowed !== undefined && allowed.has('batch') && !except.has('batch');
  });
}

/**
 * Warning: a route for batch requests that runs direct. A direct request lives only as long as the
 * front door's process; batch work is what durability is for (docs/language.md §4.9).
 */
export function checkBatchDirect(route: Route, accept: ValidationAcceptor): void {
  const execution = effectiveExecution(route);
  if (execution.mode !== 'direct' || !selectsBatch(route)) return;
  const policy = route.$container as unknown;
  const where =
    execution.from === 'route'
      ? 'runs execution direct'
      : `runs direct (the default of policy '${isPolicy(policy) ? policy.name : '?'}')`;
  const message = `route '${route.name}' takes batch requests (when ${sourceText(route.when)}) but ${where}: a direct request is lost if the front door stops, so batch work should run execution durable`;
  const data = { code: IssueCodes.BatchRunsDirect, route: route.name, from: execution.from };
  if (execution.from === 'route' && execution.item) {
    accept('warning', message, { node: execution.item, code: IssueCodes.BatchRunsDirect, data });
  } else {
    accept('warning', message, { node: route, property: 'name', code: IssueCodes.BatchRunsDirect, data });
  }
}
