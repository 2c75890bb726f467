/**
 * What `decide` precomputes once per plan object (cached in a WeakMap): compiled route conditions,
 * routes by capability, compiled `require` conditions, guards by phase.
 */
import { compileCondition, conditionText } from './conditions.js';
import type { CompiledCondition } from './conditions.js';
import type { Condition, GuardPlan, Plan, RequirePlan, RoutePlan } from './types.js';

export interface IndexedRoute {
  route: RoutePlan;
  test: CompiledCondition;
  text: string;
}

export interface PlanIndex {
  routes: IndexedRoute[];
  /**
   * For each capability some route requires: the routes, in order, that a request for it can
   * match (those requiring it and those requiring no capability). Other requests can only match
   * `unconstrained`. Keeps route choice fast on plans with hundreds of capability routes.
   */
  byCapability: Map<string, IndexedRoute[]>;
  unconstrained: IndexedRoute[];
  routeByName: Map<string, RoutePlan>;
  requires: { rule: RequirePlan; test: CompiledCondition | null }[];
  before: GuardPlan[];
  after: GuardPlan[];
}

const indexes = new WeakMap<Plan, PlanIndex>();

export function indexPlan(plan: Plan): PlanIndex {
  let index = indexes.get(plan);
  if (index === undefined) {
    const routes = plan.routes.map((route) => ({
      route,
      test: compileCondition(route.when),
      text: route.whenText || conditionText(route.when),
    }));
    const required = routes.map((r) => requiredCapabilities(r.route.when));
    const byCapability = new Map<string, IndexedRoute[]>();
    for (const set of required) for (const c of set ?? []) byCapability.set(c, []);
    const unconstrained: IndexedRoute[] = [];
    routes.forEach((r, i) => {
      const set = required[i];
      if (set === null || set === undefined) unconstrained.push(r);
      for (const [c, list] of byCapability) if (!set || set.has(c)) list.push(r);
    });
    index = {
      routes,
      byCapability,
      unconstrained,
      routeByName: new Map(plan.routes.map((route) => [route.name, route])),
      requires: plan.requires.map((rule) => ({ rule, test: rule.when ? compileCondition(rule.when) : null })),
      before: plan.guards.filter((guard) => guard.phase === 'before'),
      after: plan.guards.filter((guard) => guard.phase === 'after'),
    };
    indexes.set(plan, index);
  }
  return index;
}

/**
 * The capabilities a request must have for `cond` to hold, or `null` when any (or none) will do.
 * Sound, not complete: `null` is always a safe answer.
 */
function requiredCapabilities(cond: Condition): Set<string> | null {
  switch (cond.op) {
    case 'compare':
      return cond.field === 'capability' && cond.cmp === '==' && cond.value.kind === 'string'
        ? new Set([cond.value.value])
        : null;
    case 'in':
      return cond.field === 'capability' && cond.values.every((v) => v.kind === 'string')
        ? new Set(cond.values.map((v) => (v.kind === 'string' ? v.value : '')))
        : null;
    case 'and':
      for (const arg of cond.args) {
        const set = requiredCapabilities(arg);
        if (set !== null) return set;
      }
      return null;
    case 'or': {
      const union = new Set<string>();
      for (const arg of cond.args) {
        const set = requiredCapabilities(arg);
        if (set === null) return null;
        for (const c of set) union.add(c);
      }
      return union;
    }
    default:
      return null;
  }
}
