import type { AstNode, Reference } from 'langium';
import * as ast from '../generated/ast.js';
import {
  type AuditPlan,
  type BlockRule,
  type BudgetExceed,
  type BudgetLimit,
  type BudgetPlan,
  type CallOptions,
  type CallTarget,
  type EscalationPlan,
  type GuardPlan,
  type GuardTarget,
  type ModelPlan,
  type OtherwisePlan,
  PLAN_FORMAT,
  type Plan,
  type Primary,
  type ProviderPlan,
  type RateLimitPlan,
  type RequirePlan,
  type RoutePlan,
} from '../../plan/types.js';
import { compileModel, compileProvider } from './catalog.js';
import { compileCondition, compileOutputCondition, moneyOf } from './conditions.js';
import { type CompileError, CompileFailure, fail } from './errors.js';
import { embedSchema, PlanPaths } from './files.js';
import { hashPlan } from './hash.js';
import { normalisedText } from './literals.js';
import { fileOf, first, resolveRef } from './nodes.js';
import { effectiveExecution } from '../validation/execution.js';

export interface CompileOptions {
  /**
   * The file the plan is compiled from. Paths inside the plan (`model-file`, `schema`) are written
   * relative to its directory, so moving the whole folder keeps the plan's hash.
   * @default the file that declares the policy
   */
  entryFile?: string;
}

/**
 * Turns a linked, validated policy and everything it references into its plan
 * (docs/language.md §8). Throws `CompileFailure` with every problem found (unresolved references, a
 * missing or invalid JSON Schema file, an amount of money out of range, …), each at its file, line
 * and column.
 */
export function compilePolicy(policy: ast.Policy, options: CompileOptions = {}): Plan {
  return new PolicyCompiler(policy, options.entryFile ?? fileOf(policy)).compile();
}

class PolicyCompiler {
  private readonly errors: CompileError[] = [];
  private readonly models = new Map<string, ast.Model>();
  private readonly paths: PlanPaths;

  constructor(
    private readonly policy: ast.Policy,
    entryFile: string,
  ) {
    this.paths = new PlanPaths(entryFile);
  }

  compile(): Plan {
    const items = this.policy.items;
    const version = first(items, ast.isPolicyVersion);
    // Routes first: they decide which models the plan carries; guards and budgets add theirs.
    const routes = this.each(items.filter(ast.isRoute), (route) => this.route(route));
    const budgets = this.each(items.filter(ast.isBudget), (budget) => this.budget(budget));
    const rateLimits = this.each(items.filter(ast.isRateLimit), (limit, index) =>
      this.rateLimit(limit, index),
    );
    const guards = this.each(items.filter(ast.isGuard), (guard) => this.guard(guard));
    const requires = this.each(items.filter(ast.isRequire), (rule) => this.require(rule));
    const otherwise = this.attempt(() => this.otherwise(first(items, ast.isOtherwise)), null);
    const models: Record<string, ModelPlan> = {};
    const providers: Record<string, ProviderPlan> = {};
    for (const [name, model] of [...this.models].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const compiled = this.attempt(() => compileModel(model), undefined);
      if (!compiled) continue;
      models[name] = compiled.plan;
      if (!providers[compiled.provider.name]) {
        const provider = this.attempt(() => compileProvider(compiled.provider, this.paths), undefined);
        if (provider) providers[provider.name] = provider;
      }
    }
    if (this.errors.length > 0) throw new CompileFailure(this.errors);

    const plan: Plan = {
      format: PLAN_FORMAT,
      name: this.policy.name,
      version: version?.number ?? version?.text ?? null,
      hash: '',
      owner: first(items, ast.isOwner)?.owner ?? null,
      description: first(items, ast.isDescription)?.text ?? null,
      providers,
      models,
      budgets,
      rateLimits,
      guards,
      requires,
      routes,
      otherwise,
      audit: this.audit(first(items, ast.isAudit)),
    };
    plan.hash = hashPlan(plan);
    return plan;
  }

  // -------------------------------------------------------------------------------------------
  // Error collection: one bad item does not hide the problems of the others.

  private attempt<T>(build: () => T, fallback: T): T {
    try {
      return build();
    } catch (error) {
      if (!(error instanceof CompileFailure)) throw error;
      this.errors.push(...error.errors);
      return fallback;
    }
  }

  private each<N, T>(nodes: N[], build: (node: N, index: number) => T): T[] {
    const out: T[] = [];
    nodes.forEach((node, index) => {
      const compiled = this.attempt<T | undefined>(() => build(node, index), undefined);
      if (compiled !== undefined) out.push(compiled);
    });
    return out;
  }

  /** A model the plan needs: recorded so that it and its provider are compiled into the plan. */
  private useModel(ref: Reference<ast.Model> | undefined, at: AstNode): string {
    const model = resolveRef(ref, at, 'model');
    this.models.set(model.name, model);
    return model.name;
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  private route(route: ast.Route): RoutePlan {
    const primaries = route.items.filter((item) => ast.isUse(item) || ast.isSplit(item));
    if (primaries.length === 0)
      fail(route, 'E-COMPILE-ROUTE-PRIMARY', `route '${route.name}' needs a 'use' or a 'split'`);
    if (primaries.length > 1) {
      fail(
        primaries[1]!,
        'E-COMPILE-ROUTE-PRIMARY',
        `route '${route.name}' has more than one 'use' or 'split'`,
      );
    }
    const deadline = first(route.items, ast.isDeadline);
    return {
      name: route.name,
      when: compileCondition(route.when),
      whenText: normalisedText(route.when.$cstNode),
      primary: this.primary(primaries[0]!),
      fallbacks: route.items
        .filter(ast.isFallback)
        .map((item) => this.target(item.target.model, item.target.options, item)),
      escalations: route.items.filter(ast.isEscalate).map((item) => this.escalation(item)),
      deadlineMs: deadline?.value ?? null,
      // docs/language.md §4.9: the route's own, else the policy's, else durable.
      execution: effectiveExecution(route).mode,
    };
  }

  private primary(item: ast.Use | ast.Split): Primary {
    if (ast.isUse(item))
      return { kind: 'use', target: this.target(item.target.model, item.target.options, item) };
    const options = callOptions(item.options);
    return {
      kind: 'split',
      targets: item.targets.map((target) => ({
        model: this.useModel(target.model, target),
        weight: target.weight,
        ...options,
      })),
    };
  }

  private target(model: Reference<ast.Model>, options: ast.CallOption[], at: AstNode): CallTarget {
    return { model: this.useModel(model, at), ...callOptions(options) };
  }

  private escalation(item: ast.Escalate): EscalationPlan {
    return {
      ...this.target(item.model, item.options, item),
      when: compileOutputCondition(item.when),
      whenText: normalisedText(item.when.$cstNode),
    };
  }

  private otherwise(item: ast.Otherwise | undefined): OtherwisePlan | null {
    if (!item) return null;
    if (item.action === 'route') return { kind: 'route', route: resolveRef(item.route, item, 'route').name };
    return { kind: 'reject', message: item.message ?? null };
  }

  // -------------------------------------------------------------------------------------------
  // Governance

  private budget(budget: ast.Budget): BudgetPlan {
    const exceed = first(budget.items, ast.isBudgetExceed);
    let onExceed: BudgetExceed = { action: 'reject' };
    if (exceed) {
      onExceed =
        exceed.action === 'downgrade'
          ? { action: 'downgrade', model: this.useModel(exceed.model, exceed) }
          : { action: exceed.action };
    }
    return {
      name: budget.name,
      scope: budget.scope ?? 'policy',
      limits: sortLimits(
        budget.items.flatMap((item): BudgetLimit[] => {
          if (ast.isMoneyLimit(item))
            return [{ kind: 'money', amount: moneyOf(item, item.amount), window: item.window }];
          if (ast.isTokenLimit(item)) return [{ kind: 'tokens', amount: item.amount, window: item.window }];
          return [];
        }),
      ),
      onExceed,
    };
  }

  private rateLimit(limit: ast.RateLimit, index: number): RateLimitPlan {
    const exceed = first(limit.items, ast.isRateExceed);
    return {
      name: limit.name ?? `rate-limit-${index + 1}`,
      scope: limit.scope ?? 'policy',
      limits: sortLimits(
        limit.items
          .filter(ast.isRateLine)
          .map((line) => ({ kind: line.unit, amount: line.amount, window: line.window })),
      ),
      onExceed:
        exceed?.action === 'wait' && exceed.maxWait !== undefined
          ? { action: 'wait', maxWaitMs: exceed.maxWait }
          : { action: 'reject' },
    };
  }

  private guard(guard: ast.Guard): GuardPlan {
    const redact: GuardPlan['redact'] = [];
    for (const kind of guard.items.filter(ast.isRedact).flatMap((item) => item.kinds)) {
      if (!redact.includes(kind)) redact.push(kind);
    }
    // The order of PII kinds means nothing: sort them so it does not change the hash.
    redact.sort();
    const schema = first(guard.items, ast.isSchemaCheck);
    return {
      name: guard.name,
      phase: guard.phase,
      target: this.guardTarget(guard.target),
      redact,
      blocks: guard.items.filter(ast.isBlock).map((block) => blockRule(block)),
      maxInput: first(guard.items, ast.isMaxInput)?.amount ?? null,
      schema: schema ? embedSchema(schema, this.paths) : null,
    };
  }

  private guardTarget(target: ast.GuardTarget): GuardTarget {
    switch (target.kind) {
      case 'all':
      case 'external':
        return { kind: target.kind };
      case 'route':
        return { kind: 'route', route: resolveRef(target.route, target, 'route').name };
      case 'model':
        return { kind: 'model', model: this.useModel(target.model, target) };
    }
  }

  private require(rule: ast.Require): RequirePlan {
    const when = rule.when ? compileCondition(rule.when) : null;
    const text = normalisedText(rule.$cstNode);
    if (rule.kind === 'region') return { kind: 'region', region: rule.region ?? '', text, when };
    return { kind: 'private', text, when };
  }

  private audit(item: ast.Audit | undefined): AuditPlan {
    return {
      prompts: (item && first(item.items, ast.isPromptsItem)?.mode) ?? 'hashed',
      retainDays: (item && first(item.items, ast.isRetainItem)?.amount) ?? null,
    };
  }
}

const WINDOWS = ['minute', 'hour', 'day', 'week', 'month'];

/**
 * The limits of a budget or rate limit all apply at once, so their order means nothing: the plan
 * lists them by kind (alphabetical), then window (shortest first), then amount.
 */
function sortLimits<T extends { kind: string; window: string; amount: number }>(limits: T[]): T[] {
  return limits.sort(
    (a, b) =>
      (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) ||
      WINDOWS.indexOf(a.window) - WINDOWS.indexOf(b.window) ||
      a.amount - b.amount,
  );
}

function callOptions(options: ast.CallOption[]): CallOptions {
  const out: CallOptions = {};
  for (const option of options) {
    switch (option.$type) {
      case 'TimeoutOption':
        out.timeoutMs ??= option.value;
        break;
      case 'RetriesOption':
        out.retries ??= option.value;
        break;
      case 'BackoffOption':
        out.backoffMs ??= option.value;
        break;
      case 'MaxTokensOption':
        out.maxTokens ??= option.value;
        break;
    }
  }
  return out;
}

/** `/source/flags` as written; flags sorted (their order means nothing), checked by JavaScript. */
function blockRule(block: ast.Block): BlockRule {
  const end = block.pattern.lastIndexOf('/');
  const pattern = block.pattern.slice(1, end);
  const flags = [...block.pattern.slice(end + 1)].sort().join('');
  try {
    new RegExp(pattern, flags);
  } catch (error) {
    fail(
      block,
      'E-COMPILE-REGEX',
      `invalid regular expression ${block.pattern}: ${(error as Error).message}`,
    );
  }
  return { pattern, flags, message: block.message ?? null };
}
