/**
 * The decision for one request (docs/language.md §6 steps 1–6): choose the
 * route, build its candidate chain, filter it with `require` rules and `before` guards, and say
 * which budgets, rate limits, redactions and `after` checks apply. No attempt is made here: the
 * execution machine (execution.ts) drives attempts from the decision.
 */
import { resolveCall } from './calls.js';
import { conditionText } from './conditions.js';
import { guardHit, recordCoverage } from './guards.js';
import type { GuardHit } from './guards.js';
import { indexPlan } from './plan-index.js';
import type { PlanIndex } from './plan-index.js';
import { viewRequest } from './request.js';
import type { RequestView } from './request.js';
import { blankDecision } from './results.js';
import { pickWeighted } from './split.js';
import type { ApplicableBudget, ChainEntry, ChainRole, Decision, Exclusion, GuardEffect } from './trace.js';
import type { RouteChain } from './worst-case.js';
import type {
  CallTarget,
  GuardPlan,
  InferenceRequest,
  Plan,
  ProviderPlan,
  RequirePlan,
  RoutePlan,
  Scope,
  SplitTarget,
} from './types.js';

/** The reason when no route matches and the policy has no `otherwise` message. */
export const NO_ROUTE_MESSAGE = 'no route matches this request';

/** True for providers whose data stays on our infrastructure (`private`, and every `embedded`). */
export function isPrivate(provider: ProviderPlan): boolean {
  return provider.private || provider.kind === 'embedded';
}

/** The request's value for a budget or rate-limit scope; `per policy` uses the policy's name. */
export function scopeValueOf(scope: Scope, request: InferenceRequest, plan: Plan): string | null {
  return scope === 'policy' ? plan.name : (request[scope] ?? null);
}

interface Removal {
  reason: string;
  rule: string;
  /** For removals by a guard: which of its items removed the model. */
  guardAction?: 'block' | 'max-input';
}

/** One `decide` call's working state. Module-level functions over it: no closures per call. */
interface Context {
  plan: Plan;
  index: PlanIndex;
  request: InferenceRequest;
  view: RequestView;
  decision: Decision;
  /** The `require` rules whose condition holds for this request. */
  requires: RequirePlan[];
  /** Guard findings and model removals, computed at most once each. */
  hits: Map<GuardPlan, GuardHit | null>;
  removals: Map<string, Removal | null>;
}

/**
 * Decides how `request` will be served by `plan`: the route, the candidate chain (primary, then
 * fallbacks, then escalations) and everything removed from it, with reasons. Pure and fast: route
 * conditions and block patterns are compiled once per plan object.
 */
export function decide(plan: Plan, request: InferenceRequest): Decision {
  const index = indexPlan(plan);
  const view = viewRequest(request);
  const decision = blankDecision({
    id: request.id,
    policy: plan.name,
    plan: plan.hash,
    status: 'planned',
    reason: null,
    rule: null,
    inputTokens: view.inputTokens,
    requestMaxTokens: view.maxTokens ?? null,
    audit: { prompts: plan.audit.prompts },
  });

  // Step 2: the first route whose `when` holds, else `otherwise`.
  let route: RoutePlan | undefined;
  const candidates =
    view.capability === undefined
      ? index.unconstrained
      : (index.byCapability.get(view.capability) ?? index.unconstrained);
  for (const candidate of candidates) {
    if (candidate.test(view)) {
      route = candidate.route;
      decision.matched = candidate.text;
      decision.via = 'when';
      break;
    }
  }
  if (route === undefined) {
    const otherwise = plan.otherwise;
    if (otherwise?.kind !== 'route')
      return reject(decision, otherwise?.message ?? NO_ROUTE_MESSAGE, 'otherwise');
    route = index.routeByName.get(otherwise.route);
    if (route === undefined)
      return reject(decision, `otherwise names an unknown route "${otherwise.route}"`, 'otherwise');
    decision.via = 'otherwise';
  }
  decision.route = route.name;
  decision.execution = route.execution;
  decision.deadlineMs = route.deadlineMs;

  // Steps 3–4: the chain, filtered by `require` rules, then by the `before` guards on models.
  const requires: RequirePlan[] = [];
  for (const r of index.requires) if (r.test === null || r.test(view)) requires.push(r.rule);
  const ctx: Context = {
    plan,
    index,
    request,
    view,
    decision,
    requires,
    hits: new Map(),
    removals: new Map(),
  };

  let primary: ChainEntry | undefined;
  if (route.primary.kind === 'use') {
    if (keep(ctx, route.primary.target, 'primary'))
      primary = entryFor(plan, route.primary.target, 'primary', view);
  } else {
    primary = pickSplit(ctx, route.primary.targets);
  }
  const fallbacks: ChainEntry[] = [];
  for (const target of route.fallbacks) {
    if (keep(ctx, target, 'fallback')) fallbacks.push(entryFor(plan, target, 'fallback', view));
  }
  if (primary === undefined) {
    const promoted = fallbacks.shift();
    if (promoted === undefined) {
      const excluded = decision.excluded;
      const removedBy = excluded.map((e) => `${e.model} by ${e.rule}`).join(', ');
      const rules = [...new Set(excluded.map((e) => e.rule))].join('; ');
      recordGuardRemovals(ctx);
      return reject(decision, `no model left for route ${route.name}: removed ${removedBy}`, rules);
    }
    primary = { ...promoted, role: 'primary', promotedFrom: 'fallback' };
  }
  const chain = [primary, ...fallbacks];
  for (const escalation of route.escalations) {
    if (!keep(ctx, escalation, 'escalation')) continue;
    const entry = entryFor(plan, escalation, 'escalation', view);
    entry.when = escalation.whenText || conditionText(escalation.when);
    entry.condition = escalation.when;
    chain.push(entry);
  }
  decision.chain = chain;
  recordGuardRemovals(ctx);

  // docs/language.md §6 step 6: the `before` guards on `all` or on the chosen route reject the
  // whole request.
  for (const guard of index.before) {
    const target = guard.target;
    if (target.kind !== 'all' && !(target.kind === 'route' && target.route === route.name)) continue;
    const hit = hitOf(ctx, guard);
    if (hit === null) continue;
    decision.guards.push({
      guard: guard.name,
      phase: 'before',
      action: hit.action,
      outcome: 'rejected',
      models: [],
      detail: hit.detail,
    });
    return reject(decision, hit.message, `guard ${guard.name}`);
  }

  addGovernance(ctx);
  recordCoverage(decision, index, route.name);
  return decision;
}

function reject(decision: Decision, reason: string, rule: string): Decision {
  decision.status = 'rejected';
  decision.reason = reason;
  decision.rule = rule;
  decision.chain = [];
  return decision;
}

function hitOf(ctx: Context, guard: GuardPlan): GuardHit | null {
  let hit = ctx.hits.get(guard);
  if (hit === undefined) {
    hit = guardHit(guard, ctx.request, ctx.view.inputTokens);
    ctx.hits.set(guard, hit);
  }
  return hit;
}

function removalOf(ctx: Context, model: string): Removal | null {
  let removal = ctx.removals.get(model);
  if (removal === undefined) {
    removal = findRemoval(ctx, model);
    ctx.removals.set(model, removal);
  }
  return removal;
}

/** Whether `target` stays in the chain; a removal is recorded in `excluded`. */
function keep(ctx: Context, target: CallTarget, role: Exclusion['role']): boolean {
  const removal = removalOf(ctx, target.model);
  if (removal === null) return true;
  ctx.decision.excluded.push({ model: target.model, role, reason: removal.reason, rule: removal.rule });
  return false;
}

/**
 * docs/language.md §6 step 4: split targets removed by `require` (or a guard) drop out; the others
 * keep their relative weights.
 */
function pickSplit(ctx: Context, targets: readonly SplitTarget[]): ChainEntry | undefined {
  const remaining: SplitTarget[] = [];
  for (const target of targets) if (keep(ctx, target, 'split')) remaining.push(target);
  const weights: number[] = [];
  for (const target of remaining) weights.push(target.weight);
  const picked = remaining[pickWeighted(weights, ctx.request.id)];
  ctx.decision.split = {
    targets: targets.map(modelWeight),
    remaining: remaining.map(modelWeight),
    picked: picked?.model ?? null,
  };
  return picked === undefined ? undefined : entryFor(ctx.plan, picked, 'primary', ctx.view);
}

function modelWeight(target: SplitTarget): { model: string; weight: number } {
  return { model: target.model, weight: target.weight };
}

/** Budgets and rate limits that apply, and the models their `downgrade`s may switch to. */
function addGovernance(ctx: Context): void {
  const { plan, request, decision } = ctx;
  const governance = decision.governance;
  for (const budget of plan.budgets) {
    const applicable: ApplicableBudget = {
      name: budget.name,
      scope: budget.scope,
      scopeValue: scopeValueOf(budget.scope, request, plan),
      limits: budget.limits,
      onExceed: budget.onExceed,
    };
    governance.budgets.push(applicable);
    if (budget.onExceed.action !== 'downgrade') continue;
    const model = budget.onExceed.model;
    if (model in governance.downgrades || model in governance.downgradeBlocked) continue;
    const removal = removalOf(ctx, model);
    if (removal !== null) {
      governance.downgradeBlocked[model] = `${removal.reason} (${removal.rule})`;
      continue;
    }
    let inChain: ChainEntry | undefined;
    for (const entry of decision.chain) {
      if (entry.model === model && entry.role !== 'escalation') {
        inChain = entry;
        break;
      }
    }
    const downgrade: ChainEntry = inChain
      ? { ...inChain, role: 'downgrade', redact: [], afterGuards: [] }
      : entryFor(plan, { model }, 'downgrade', ctx.view);
    delete downgrade.promotedFrom;
    governance.downgrades[model] = downgrade;
  }
  for (const limit of plan.rateLimits) {
    governance.rateLimits.push({
      name: limit.name,
      scope: limit.scope,
      scopeValue: scopeValueOf(limit.scope, request, plan),
      limits: limit.limits,
      onExceed: limit.onExceed,
    });
  }
}

function findRemoval(ctx: Context, modelName: string): Removal | null {
  const plan = ctx.plan;
  const model = plan.models[modelName];
  const provider = model ? plan.providers[model.provider] : undefined;
  if (model === undefined || provider === undefined) {
    throw new Error(`plan ${plan.name} names model "${modelName}" without its model or provider`);
  }
  for (const rule of ctx.requires) {
    if (rule.kind === 'private') {
      if (!isPrivate(provider)) return { reason: `provider ${provider.name} is external`, rule: rule.text };
    } else if (provider.region !== rule.region) {
      const where = provider.region === null ? 'has no region' : `is in region "${provider.region}"`;
      return { reason: `provider ${provider.name} ${where}, not "${rule.region}"`, rule: rule.text };
    }
  }
  for (const guard of ctx.index.before) {
    const target = guard.target;
    const covers =
      (target.kind === 'external' && !isPrivate(provider)) ||
      (target.kind === 'model' && target.model === modelName);
    if (!covers) continue;
    const hit = hitOf(ctx, guard);
    if (hit !== null) return { reason: hit.detail, rule: `guard ${guard.name}`, guardAction: hit.action };
  }
  return null;
}

/** One `removed` guard effect per guard that removed models. */
function recordGuardRemovals(ctx: Context): void {
  const decision = ctx.decision;
  let byGuard: Map<string, GuardEffect> | undefined;
  for (const exclusion of decision.excluded) {
    if (!exclusion.rule.startsWith('guard ')) continue;
    const name = exclusion.rule.slice('guard '.length);
    byGuard ??= new Map();
    let effect = byGuard.get(name);
    if (effect === undefined) {
      const action = ctx.removals.get(exclusion.model)?.guardAction ?? 'block';
      effect = {
        guard: name,
        phase: 'before',
        action,
        outcome: 'removed',
        models: [],
        detail: exclusion.reason,
      };
      byGuard.set(name, effect);
      decision.guards.push(effect);
    }
    if (!effect.models.includes(exclusion.model)) effect.models.push(exclusion.model);
  }
}

/**
 * Every candidate of a route as the evaluator builds it, before `require` rules, guards and the
 * split pick narrow it (a split contributes all its targets): what the worst-case figures of the
 * editor's hover and the validator are computed over (worst-case.ts).
 */
export function routeChain(plan: Plan, route: RoutePlan, requestMaxTokens?: number): RouteChain<ChainEntry> {
  const view = { maxTokens: requestMaxTokens };
  const targets = route.primary.kind === 'use' ? [route.primary.target] : route.primary.targets;
  return {
    primaries: targets.map((t) => entryFor(plan, t, 'primary', view)),
    fallbacks: route.fallbacks.map((t) => entryFor(plan, t, 'fallback', view)),
    escalations: route.escalations.map((t) => entryFor(plan, t, 'escalation', view)),
  };
}

function entryFor(
  plan: Plan,
  target: CallTarget,
  role: ChainRole,
  view: Pick<RequestView, 'maxTokens'>,
): ChainEntry {
  const model = plan.models[target.model];
  const provider = model ? plan.providers[model.provider] : undefined;
  if (model === undefined || provider === undefined) {
    throw new Error(`plan ${plan.name} names model "${target.model}" without its model or provider`);
  }
  return {
    model: target.model,
    role,
    id: model.id,
    provider: provider.name,
    queue: provider.queue,
    private: isPrivate(provider),
    ...resolveCall(target, { providerTimeoutMs: provider.timeoutMs, requestMaxTokens: view.maxTokens }),
    context: model.context,
    price: model.price,
    redact: [],
    afterGuards: [],
  };
}
