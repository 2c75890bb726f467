/**
 * Policy coverage (docs/what-if.md): which parts of a plan the `test` blocks exercised. The items
 * are read off the plan; whether one was hit is read off what the evaluator and the execution
 * machine produced for a test — the result, its decision and its attempts — so no rule is
 * decided twice. Conditions are the exception that needs a look inside: each operand of an
 * `and`/`or` is evaluated by the evaluator's own compiled condition (conditions.ts) on the request.
 *
 * Items name their place in the plan by a **site** (`route:chat`, `route:chat/when/1`,
 * `route:chat/fallback/0`, `budget:team-monthly`, …); the compiler's side (dsl/compiler/sites.ts)
 * maps sites to file:line, so this file stays free of source positions.
 */
import { compileCondition, conditionText } from './conditions.js';
import { viewRequest } from './request.js';
import type { RequestView } from './request.js';
import type { InferenceResult } from './trace.js';
import type { Condition, InferenceRequest, Plan, RoutePlan } from './types.js';

export type CoverageKind =
  'route' | 'condition' | 'chain' | 'require' | 'guard' | 'budget' | 'rate-limit' | 'otherwise';

export interface CoverageItem {
  /** Unique in its plan: the site, and `#true` / `#false` for a condition's two outcomes. */
  id: string;
  kind: CoverageKind;
  /** Where in the plan (see the file comment). */
  site: string;
  /** What must happen for the item to count, in the report's words. */
  label: string;
  /** For conditions: the outcome this item stands for. */
  outcome?: boolean;
}

/** Hit counts by item id, summed over tests; items never hit are absent. */
export type CoverageHits = Map<string, number>;

interface DecisionPoint {
  site: string;
  cond: Condition;
  text: string;
}

interface PlanCoverage {
  items: CoverageItem[];
  /** Decision points of each route's `when` and each `require … when`, by owner site. */
  points: Map<string, DecisionPoint[]>;
}

const cache = new WeakMap<Plan, PlanCoverage>();

/** Every coverage item of `plan`, in the plan's order (routes, requires, guards, budgets, rate limits, otherwise). */
export function coverageItems(plan: Plan): CoverageItem[] {
  return planCoverage(plan).items;
}

function planCoverage(plan: Plan): PlanCoverage {
  let found = cache.get(plan);
  if (found !== undefined) return found;
  const items: CoverageItem[] = [];
  const points = new Map<string, DecisionPoint[]>();
  const addPoints = (owner: string, cond: Condition, what: string): void => {
    const list: DecisionPoint[] = [];
    collectPoints(cond, `${owner}/when`, list);
    points.set(owner, list);
    for (const point of list) {
      const text = point.text;
      for (const outcome of [true, false]) {
        items.push({
          id: `${point.site}#${outcome}`,
          kind: 'condition',
          site: point.site,
          label: `${what}: \`${text}\` ${outcome ? 'true' : 'false'}`,
          outcome,
        });
      }
    }
  };
  for (const route of plan.routes) {
    const site = `route:${route.name}`;
    items.push({ id: site, kind: 'route', site, label: `route ${route.name} chosen` });
    addPoints(site, route.when, `route ${route.name} when`);
    if (route.primary.kind === 'use') {
      const model = route.primary.target.model;
      items.push(chainItem(`${site}/primary`, `route ${route.name}: use ${model} ran`));
    } else {
      route.primary.targets.forEach((target, i) => {
        items.push(chainItem(`${site}/split/${i}`, `route ${route.name}: split ${target.model} ran`));
      });
    }
    route.fallbacks.forEach((target, i) => {
      items.push(chainItem(`${site}/fallback/${i}`, `route ${route.name}: fallback ${target.model} ran`));
    });
    route.escalations.forEach((target, i) => {
      items.push(chainItem(`${site}/escalate/${i}`, `route ${route.name}: escalate ${target.model} ran`));
    });
  }
  plan.requires.forEach((rule, i) => {
    const site = `require:${i}`;
    items.push({ id: site, kind: 'require', site, label: `\`${rule.text}\` removed a model` });
    if (rule.when !== null) addPoints(site, rule.when, `require ${rule.kind} when`);
  });
  for (const guard of plan.guards) {
    const site = `guard:${guard.name}`;
    items.push({ id: site, kind: 'guard', site, label: `guard ${guard.name} fired` });
  }
  for (const budget of plan.budgets) {
    const site = `budget:${budget.name}`;
    const action = budget.onExceed.action;
    const what = budget.onExceed.action === 'downgrade' ? `downgrade ${budget.onExceed.model}` : action;
    items.push({ id: site, kind: 'budget', site, label: `budget ${budget.name} on-exceed ${what} ran` });
  }
  for (const limit of plan.rateLimits) {
    const site = `rate-limit:${limit.name}`;
    const label = `rate-limit ${limit.name} on-exceed ${limit.onExceed.action} ran`;
    items.push({ id: site, kind: 'rate-limit', site, label });
  }
  if (plan.otherwise !== null) {
    const what = plan.otherwise.kind === 'route' ? `route ${plan.otherwise.route}` : 'reject';
    items.push({ id: 'otherwise', kind: 'otherwise', site: 'otherwise', label: `otherwise ${what} ran` });
  }
  found = { items, points };
  cache.set(plan, found);
  return found;
}

function chainItem(site: string, label: string): CoverageItem {
  return { id: site, kind: 'chain', site, label };
}

/**
 * The decision points of a condition: the condition itself and every operand of an `and`/`or`,
 * at any depth (`not` is looked through). `true` decides nothing and is left out.
 */
function collectPoints(cond: Condition, site: string, into: DecisionPoint[]): void {
  if (cond.op === 'true') return;
  into.push({ site, cond, text: conditionText(cond) });
  descend(cond, site, into);
}

function descend(cond: Condition, site: string, into: DecisionPoint[]): void {
  if (cond.op === 'not') {
    descend(cond.arg, `${site}/not`, into);
  } else if (cond.op === 'and' || cond.op === 'or') {
    cond.args.forEach((arg, i) => collectPoints(arg, `${site}/${i}`, into));
  }
}

function hit(hits: CoverageHits, id: string): void {
  hits.set(id, (hits.get(id) ?? 0) + 1);
}

function hitPoints(hits: CoverageHits, points: DecisionPoint[] | undefined, view: RequestView): void {
  for (const point of points ?? []) hit(hits, `${point.site}#${compileCondition(point.cond)(view)}`);
}

/**
 * Adds what one request did under `plan` to `hits`: `result` is what the execution machine
 * returned for `request` (a test's outcome), its decision included.
 */
export function addCoverage(
  plan: Plan,
  request: InferenceRequest,
  result: InferenceResult,
  hits: CoverageHits,
): void {
  const { points } = planCoverage(plan);
  const decision = result.decision;
  const view = viewRequest(request);

  // Route conditions are evaluated in source order until one holds (docs/language.md §6 step 2).
  for (const route of plan.routes) {
    hitPoints(hits, points.get(`route:${route.name}`), view);
    if (decision.via === 'when' && decision.route === route.name) break;
  }
  if (decision.via === 'otherwise' || decision.rule === 'otherwise') hit(hits, 'otherwise');
  const route = plan.routes.find((r) => r.name === decision.route);
  if (route === undefined) return;
  hit(hits, `route:${route.name}`);

  // `require` conditions are evaluated for every request that has a route.
  plan.requires.forEach((rule, i) => {
    hitPoints(hits, points.get(`require:${i}`), view);
    if (decision.excluded.some((e) => e.rule === rule.text)) hit(hits, `require:${i}`);
  });

  for (const attempt of result.attempts) {
    const site = chainSite(route, attempt.role, attempt.model);
    if (site !== null) hit(hits, site);
  }

  const answered = new Set<string>();
  const attempted = new Set<string>();
  for (const attempt of result.attempts) {
    attempted.add(attempt.model);
    if (attempt.outcome === 'answered') answered.add(attempt.model);
  }
  const fired = new Set<string>();
  for (const effect of decision.guards) {
    if (effect.outcome !== 'applies') fired.add(effect.guard);
    else if (effect.phase === 'before' && effect.models.some((m) => attempted.has(m)))
      fired.add(effect.guard);
    else if (effect.phase === 'after' && effect.models.some((m) => answered.has(m))) fired.add(effect.guard);
  }
  for (const name of fired) hit(hits, `guard:${name}`);
  for (const effect of decision.budgets) {
    if (effect.outcome === 'exceeded') hit(hits, `budget:${effect.budget}`);
  }
  for (const effect of decision.rateLimits) {
    if (effect.outcome === 'exceeded') hit(hits, `rate-limit:${effect.rateLimit}`);
  }
}

/** Which chain item an attempt ran: a promoted fallback counts as that fallback. */
function chainSite(route: RoutePlan, role: string, model: string): string | null {
  const site = `route:${route.name}`;
  if (role === 'escalation') {
    const i = route.escalations.findIndex((t) => t.model === model);
    return i < 0 ? null : `${site}/escalate/${i}`;
  }
  if (role === 'downgrade') return null;
  if (role === 'primary') {
    if (route.primary.kind === 'use') {
      if (route.primary.target.model === model) return `${site}/primary`;
    } else {
      const i = route.primary.targets.findIndex((t) => t.model === model);
      if (i >= 0) return `${site}/split/${i}`;
    }
  }
  const i = route.fallbacks.findIndex((t) => t.model === model);
  return i < 0 ? null : `${site}/fallback/${i}`;
}

export interface CoverageTotals {
  items: number;
  covered: number;
  /** 0–100; 100 when there is nothing to cover. */
  percent: number;
}

export function coverageTotals(items: readonly CoverageItem[], hits: CoverageHits): CoverageTotals {
  let covered = 0;
  for (const item of items) if ((hits.get(item.id) ?? 0) > 0) covered++;
  return { items: items.length, covered, percent: items.length === 0 ? 100 : (covered / items.length) * 100 };
}
