/**
 * The semantic diff of two plans of one policy (`switchyard diff`, docs/what-if.md): what changed,
 * in the language's words — routes added, removed, reordered, their conditions, chains, call
 * options, deadlines; models' prices and contexts; providers; budgets, rate limits, guards,
 * `require` rules, `otherwise` and audit. Pure: the plans in, sentences out; which requests
 * the change reroutes is the caller's (it decides requests under both plans with `decide`).
 */
import { conditionText, durationText, tokensText } from './conditions.js';
import { limitText } from './governance.js';
import { formatDollars } from './money.js';
import type {
  BudgetPlan,
  CallOptions,
  CallTarget,
  GuardPlan,
  ModelPlan,
  OtherwisePlan,
  Plan,
  Price,
  ProviderPlan,
  RateLimitPlan,
  RoutePlan,
} from './types.js';

export type ChangeKind =
  | 'policy'
  | 'route-added'
  | 'route-removed'
  | 'routes-reordered'
  | 'condition'
  | 'chain'
  | 'timeout'
  | 'call'
  | 'deadline'
  | 'execution'
  | 'model'
  | 'price'
  | 'provider'
  | 'budget'
  | 'rate-limit'
  | 'guard'
  | 'require'
  | 'otherwise'
  | 'audit';

export interface PlanChange {
  kind: ChangeKind;
  /** What changed: `route interactive`, `model gpt-4o`, `budget team-monthly`, `policy`. */
  subject: string;
  /** One sentence: `route reasoning: fallback llama-8b removed`. */
  text: string;
}

/** Every difference between `before` and `after` (plans of the same policy), in a stable order. */
export function diffPlans(before: Plan, after: Plan): PlanChange[] {
  const changes: PlanChange[] = [];
  const add = (kind: ChangeKind, subject: string, what: string): void => {
    changes.push({ kind, subject, text: `${subject}: ${what}` });
  };
  for (const field of ['version', 'owner', 'description'] as const) {
    if (before[field] !== after[field])
      add('policy', 'policy', `${field} ${shown(before[field])} → ${shown(after[field])}`);
  }
  diffRoutes(before, after, changes, add);
  diffNamed(before.models, after.models, 'model', (a, b, subject) => diffModel(a, b, subject, add), add);
  diffNamed(
    before.providers,
    after.providers,
    'provider',
    (a, b, subject) => diffProvider(a, b, subject, add),
    add,
  );
  diffNamed(
    byName(before.budgets),
    byName(after.budgets),
    'budget',
    (a, b, subject) => diffBudget(a, b, subject, add),
    add,
    budgetText,
  );
  diffNamed(
    byName(before.rateLimits),
    byName(after.rateLimits),
    'rate-limit',
    (a, b, subject) => diffRateLimit(a, b, subject, add),
    add,
    rateLimitText,
  );
  diffNamed(
    byName(before.guards),
    byName(after.guards),
    'guard',
    (a, b, subject) => diffGuard(a, b, subject, add),
    add,
    guardText,
  );
  const oldRequires = new Set(before.requires.map((r) => r.text));
  const newRequires = new Set(after.requires.map((r) => r.text));
  for (const text of oldRequires)
    if (!newRequires.has(text)) add('require', 'data rules', `\`${text}\` removed`);
  for (const text of newRequires)
    if (!oldRequires.has(text)) add('require', 'data rules', `\`${text}\` added`);
  if (otherwiseText(before.otherwise) !== otherwiseText(after.otherwise)) {
    add('otherwise', 'otherwise', `${otherwiseText(before.otherwise)} → ${otherwiseText(after.otherwise)}`);
  }
  if (before.audit.prompts !== after.audit.prompts)
    add('audit', 'audit', `prompts ${before.audit.prompts} → ${after.audit.prompts}`);
  if (before.audit.retainDays !== after.audit.retainDays)
    add(
      'audit',
      'audit',
      `retain ${retainText(before.audit.retainDays)} → ${retainText(after.audit.retainDays)}`,
    );
  return changes;
}

type Add = (kind: ChangeKind, subject: string, what: string) => void;

function shown(value: string | number | null): string {
  return value === null ? 'none' : typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function byName<T extends { name: string }>(list: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of list) out[item.name] = item;
  return out;
}

/** Added and removed by name (in the new, then the old order), then `changed` for the others. */
function diffNamed<T>(
  before: Record<string, T>,
  after: Record<string, T>,
  noun: ChangeKind,
  changed: (a: T, b: T, subject: string) => void,
  add: Add,
  describe?: (item: T) => string,
): void {
  for (const name of Object.keys(before)) {
    if (!(name in after))
      add(noun, `${noun} ${name}`, `removed${describe ? ` (was: ${describe(before[name]!)})` : ''}`);
  }
  for (const name of Object.keys(after)) {
    if (!(name in before))
      add(noun, `${noun} ${name}`, `added${describe ? `: ${describe(after[name]!)}` : ''}`);
  }
  for (const name of Object.keys(after)) {
    if (name in before) changed(before[name]!, after[name]!, `${noun} ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Routes

function diffRoutes(before: Plan, after: Plan, changes: PlanChange[], add: Add): void {
  const oldNames = before.routes.map((r) => r.name);
  const newNames = after.routes.map((r) => r.name);
  for (const route of before.routes) {
    if (!newNames.includes(route.name))
      add('route-removed', `route ${route.name}`, `removed (was: ${routeText(route)})`);
  }
  after.routes.forEach((route, i) => {
    if (oldNames.includes(route.name)) return;
    const where = i === 0 ? 'first' : `after ${after.routes[i - 1]!.name}`;
    add('route-added', `route ${route.name}`, `added ${where}: ${routeText(route)}`);
  });
  const oldOrder = oldNames.filter((n) => newNames.includes(n));
  const newOrder = newNames.filter((n) => oldNames.includes(n));
  if (oldOrder.join('\n') !== newOrder.join('\n')) {
    changes.push({
      kind: 'routes-reordered',
      subject: 'routes',
      text: `routes reordered (the first that matches is chosen): ${oldOrder.join(', ')} → ${newOrder.join(', ')}`,
    });
  }
  for (const route of after.routes) {
    const old = before.routes.find((r) => r.name === route.name);
    if (old !== undefined) diffRoute(old, route, `route ${route.name}`, add);
  }
}

function routeText(route: RoutePlan): string {
  const parts = [`when ${whenOf(route)}`, primaryText(route)];
  for (const f of route.fallbacks) parts.push(`fallback ${targetText(f)}`);
  for (const e of route.escalations)
    parts.push(`escalate ${targetText(e)} when ${e.whenText || conditionText(e.when)}`);
  return parts.join('; ');
}

function whenOf(route: RoutePlan): string {
  return route.whenText || conditionText(route.when);
}

function primaryText(route: RoutePlan): string {
  if (route.primary.kind === 'use') return `use ${targetText(route.primary.target)}`;
  return `split ${route.primary.targets.map((t) => `${t.model} ${t.weight}%`).join(', ')}${optionsText(route.primary.targets[0] ?? {})}`;
}

function targetText(target: CallTarget): string {
  return `${target.model}${optionsText(target)}`;
}

function optionsText(options: CallOptions): string {
  const parts: string[] = [];
  if (options.timeoutMs !== undefined) parts.push(`timeout ${durationText(options.timeoutMs)}`);
  if (options.retries !== undefined) parts.push(`retries ${options.retries}`);
  if (options.backoffMs !== undefined) parts.push(`backoff ${durationText(options.backoffMs)}`);
  if (options.maxTokens !== undefined) parts.push(`max-tokens ${tokensText(options.maxTokens)}`);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

function diffRoute(a: RoutePlan, b: RoutePlan, subject: string, add: Add): void {
  if (conditionText(a.when) !== conditionText(b.when))
    add('condition', subject, `when ${whenOf(a)} → ${whenOf(b)}`);
  if (a.execution !== b.execution) add('execution', subject, `execution ${a.execution} → ${b.execution}`);
  if (a.deadlineMs !== b.deadlineMs)
    add('deadline', subject, `deadline ${msText(a.deadlineMs)} → ${msText(b.deadlineMs)}`);

  // The primary: the same model with other options, or another model (or a split).
  const pa = a.primary;
  const pb = b.primary;
  if (pa.kind === 'use' && pb.kind === 'use' && pa.target.model === pb.target.model) {
    diffCall(pa.target, pb.target, `use ${pa.target.model}`, subject, add);
  } else if (pa.kind === 'split' && pb.kind === 'split' && sameModels(pa.targets, pb.targets)) {
    const weights = (t: typeof pa.targets): string => t.map((x) => `${x.model} ${x.weight}%`).join(', ');
    if (weights(pa.targets) !== weights(pb.targets))
      add('chain', subject, `split ${weights(pa.targets)} → ${weights(pb.targets)}`);
    diffCall(pa.targets[0]!, pb.targets[0]!, 'split', subject, add);
  } else {
    add('chain', subject, `${primaryText(a)} → ${primaryText(b)}`);
  }
  diffTargets(a.fallbacks, b.fallbacks, 'fallback', subject, add);
  diffTargets(a.escalations, b.escalations, 'escalate', subject, add);
  for (const e of b.escalations) {
    const old = a.escalations.find((x) => x.model === e.model);
    if (old !== undefined && conditionText(old.when) !== conditionText(e.when)) {
      add(
        'condition',
        subject,
        `escalate ${e.model} when ${old.whenText || conditionText(old.when)} → ${e.whenText || conditionText(e.when)}`,
      );
    }
  }
}

function sameModels(a: readonly CallTarget[], b: readonly CallTarget[]): boolean {
  return a.length === b.length && a.every((t, i) => t.model === b[i]!.model);
}

/** Fallbacks or escalations: added, removed, reordered by model, and call options of the rest. */
function diffTargets(
  a: readonly CallTarget[],
  b: readonly CallTarget[],
  word: 'fallback' | 'escalate',
  subject: string,
  add: Add,
): void {
  const oldModels = a.map((t) => t.model);
  const newModels = b.map((t) => t.model);
  for (const t of a) if (!newModels.includes(t.model)) add('chain', subject, `${word} ${t.model} removed`);
  b.forEach((t, i) => {
    if (oldModels.includes(t.model)) return;
    add(
      'chain',
      subject,
      `${word} ${targetText(t)} added${b.length > 1 ? ` (${ordinal(i + 1)} ${word})` : ''}`,
    );
  });
  const oldOrder = oldModels.filter((m) => newModels.includes(m));
  const newOrder = newModels.filter((m) => oldModels.includes(m));
  if (oldOrder.join('\n') !== newOrder.join('\n'))
    add('chain', subject, `${word} order ${oldOrder.join(', ')} → ${newOrder.join(', ')}`);
  for (const t of b) {
    const old = a.find((x) => x.model === t.model);
    if (old !== undefined) diffCall(old, t, `${word} ${t.model}`, subject, add);
  }
}

function diffCall(a: CallOptions, b: CallOptions, what: string, subject: string, add: Add): void {
  if (a.timeoutMs !== b.timeoutMs)
    add(
      'timeout',
      subject,
      `${what} timeout ${optionText(a.timeoutMs, durationText)} → ${optionText(b.timeoutMs, durationText)}`,
    );
  if (a.retries !== b.retries)
    add(
      'call',
      subject,
      `${what} retries ${optionText(a.retries, String)} → ${optionText(b.retries, String)}`,
    );
  if (a.backoffMs !== b.backoffMs)
    add(
      'call',
      subject,
      `${what} backoff ${optionText(a.backoffMs, durationText)} → ${optionText(b.backoffMs, durationText)}`,
    );
  if (a.maxTokens !== b.maxTokens)
    add(
      'call',
      subject,
      `${what} max-tokens ${optionText(a.maxTokens, tokensText)} → ${optionText(b.maxTokens, tokensText)}`,
    );
}

function optionText(value: number | undefined, text: (n: number) => string): string {
  return value === undefined ? 'default' : text(value);
}

function msText(ms: number | null): string {
  return ms === null ? 'none' : durationText(ms);
}

function ordinal(n: number): string {
  return n === 1 ? '1st' : n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`;
}

// ---------------------------------------------------------------------------------------------
// Catalog: models and providers

function priceText(price: Price): string {
  return `$${formatDollars(price.nanos)} per ${tokensText(price.perTokens)}`;
}

function diffModel(a: ModelPlan, b: ModelPlan, subject: string, add: Add): void {
  if (a.price === null || b.price === null) {
    if (a.price !== b.price) {
      const text = (p: ModelPlan['price']): string =>
        p === null ? 'free' : `input ${priceText(p.input)}, output ${priceText(p.output)}`;
      add('price', subject, `price ${text(a.price)} → ${text(b.price)}`);
    }
  } else {
    for (const direction of ['input', 'output'] as const) {
      const pa = priceText(a.price[direction]);
      const pb = priceText(b.price[direction]);
      if (pa !== pb) add('price', subject, `${direction} price ${pa} → ${pb}`);
    }
  }
  if (a.context !== b.context)
    add(
      'model',
      subject,
      `context ${optionText(a.context ?? undefined, tokensText)} → ${optionText(b.context ?? undefined, tokensText)}`,
    );
  if (a.provider !== b.provider) add('model', subject, `provider ${a.provider} → ${b.provider}`);
  if (a.id !== b.id) add('model', subject, `name ${JSON.stringify(a.id)} → ${JSON.stringify(b.id)}`);
  if (a.version !== b.version) add('model', subject, `version ${shown(a.version)} → ${shown(b.version)}`);
  const gained = b.capabilities.filter((c) => !a.capabilities.includes(c));
  const lost = a.capabilities.filter((c) => !b.capabilities.includes(c));
  if (gained.length > 0) add('model', subject, `capabilities gained: ${gained.join(', ')}`);
  if (lost.length > 0) add('model', subject, `capabilities lost: ${lost.join(', ')}`);
}

function diffProvider(a: ProviderPlan, b: ProviderPlan, subject: string, add: Add): void {
  if (a.kind !== b.kind) add('provider', subject, `kind ${a.kind} → ${b.kind}`);
  if (a.private !== b.private)
    add(
      'provider',
      subject,
      b.private ? 'now private (data stays on our infrastructure)' : 'no longer private (external)',
    );
  if (a.region !== b.region) add('provider', subject, `region ${shown(a.region)} → ${shown(b.region)}`);
  if (a.timeoutMs !== b.timeoutMs)
    add('timeout', subject, `timeout ${msText(a.timeoutMs)} → ${msText(b.timeoutMs)}`);
  if (a.endpoints.join(', ') !== b.endpoints.join(', '))
    add(
      'provider',
      subject,
      `endpoints ${a.endpoints.join(', ') || 'none'} → ${b.endpoints.join(', ') || 'none'}`,
    );
  if (a.queue !== b.queue) add('provider', subject, `queue ${a.queue} → ${b.queue}`);
  if (a.concurrency !== b.concurrency)
    add('provider', subject, `concurrency ${a.concurrency} → ${b.concurrency}`);
  if (a.apiKeyEnv !== b.apiKeyEnv)
    add('provider', subject, `api-key env ${shown(a.apiKeyEnv)} → ${shown(b.apiKeyEnv)}`);
  if (a.modelFile !== b.modelFile)
    add('provider', subject, `model-file ${shown(a.modelFile)} → ${shown(b.modelFile)}`);
}

// ---------------------------------------------------------------------------------------------
// Governance

function exceedText(onExceed: BudgetPlan['onExceed'] | RateLimitPlan['onExceed']): string {
  switch (onExceed.action) {
    case 'downgrade':
      return `downgrade ${onExceed.model}`;
    case 'wait':
      return 'maxWaitMs' in onExceed ? `wait ${durationText(onExceed.maxWaitMs)}` : 'wait';
    default:
      return onExceed.action;
  }
}

function budgetText(budget: BudgetPlan): string {
  return `per ${budget.scope}, ${budget.limits.map(limitText).join(', ')}, on-exceed ${exceedText(budget.onExceed)}`;
}

function rateLimitText(limit: RateLimitPlan): string {
  return `per ${limit.scope}, ${limit.limits.map(limitText).join(', ')}, on-exceed ${exceedText(limit.onExceed)}`;
}

function diffLimits(
  a: readonly Parameters<typeof limitText>[0][],
  b: readonly Parameters<typeof limitText>[0][],
  subject: string,
  kind: ChangeKind,
  add: Add,
): void {
  const key = (l: Parameters<typeof limitText>[0]): string => `${l.kind} ${l.window}`;
  for (const limit of b) {
    const old = a.find((l) => key(l) === key(limit));
    if (old === undefined) add(kind, subject, `limit ${limitText(limit)} added`);
    else if (old.amount !== limit.amount) add(kind, subject, `limit ${limitText(old)} → ${limitText(limit)}`);
  }
  for (const limit of a)
    if (!b.some((l) => key(l) === key(limit))) add(kind, subject, `limit ${limitText(limit)} removed`);
}

function diffBudget(a: BudgetPlan, b: BudgetPlan, subject: string, add: Add): void {
  if (a.scope !== b.scope) add('budget', subject, `per ${a.scope} → per ${b.scope}`);
  diffLimits(a.limits, b.limits, subject, 'budget', add);
  if (exceedText(a.onExceed) !== exceedText(b.onExceed))
    add('budget', subject, `on-exceed ${exceedText(a.onExceed)} → ${exceedText(b.onExceed)}`);
}

function diffRateLimit(a: RateLimitPlan, b: RateLimitPlan, subject: string, add: Add): void {
  if (a.scope !== b.scope) add('rate-limit', subject, `per ${a.scope} → per ${b.scope}`);
  diffLimits(a.limits, b.limits, subject, 'rate-limit', add);
  if (exceedText(a.onExceed) !== exceedText(b.onExceed))
    add('rate-limit', subject, `on-exceed ${exceedText(a.onExceed)} → ${exceedText(b.onExceed)}`);
}

// ---------------------------------------------------------------------------------------------
// Guards, otherwise, audit

function guardTargetText(guard: GuardPlan): string {
  const t = guard.target;
  return t.kind === 'route' ? `route ${t.route}` : t.kind === 'model' ? `model ${t.model}` : t.kind;
}

function guardText(guard: GuardPlan): string {
  const parts = [`${guard.phase} ${guardTargetText(guard)}`];
  if (guard.redact.length > 0) parts.push(`redact ${guard.redact.join(', ')}`);
  for (const block of guard.blocks) parts.push(`block /${block.pattern}/${block.flags}`);
  if (guard.maxInput !== null) parts.push(`max-input ${tokensText(guard.maxInput)}`);
  if (guard.schema !== null) parts.push(`schema ${JSON.stringify(guard.schema.path)}`);
  return parts.join('; ');
}

function diffGuard(a: GuardPlan, b: GuardPlan, subject: string, add: Add): void {
  if (a.phase !== b.phase || guardTargetText(a) !== guardTargetText(b))
    add('guard', subject, `${a.phase} ${guardTargetText(a)} → ${b.phase} ${guardTargetText(b)}`);
  const gained = b.redact.filter((k) => !a.redact.includes(k));
  const lost = a.redact.filter((k) => !b.redact.includes(k));
  if (gained.length > 0) add('guard', subject, `now redacts ${gained.join(', ')}`);
  if (lost.length > 0) add('guard', subject, `no longer redacts ${lost.join(', ')}`);
  const blockText = (block: GuardPlan['blocks'][number]): string => `/${block.pattern}/${block.flags}`;
  const oldBlocks = a.blocks.map(blockText);
  const newBlocks = b.blocks.map(blockText);
  for (const block of newBlocks)
    if (!oldBlocks.includes(block)) add('guard', subject, `block ${block} added`);
  for (const block of oldBlocks)
    if (!newBlocks.includes(block)) add('guard', subject, `block ${block} removed`);
  for (const block of b.blocks) {
    const old = a.blocks.find((x) => blockText(x) === blockText(block));
    if (old !== undefined && old.message !== block.message)
      add(
        'guard',
        subject,
        `block ${blockText(block)} message ${shown(old.message)} → ${shown(block.message)}`,
      );
  }
  if (a.maxInput !== b.maxInput)
    add(
      'guard',
      subject,
      `max-input ${optionText(a.maxInput ?? undefined, tokensText)} → ${optionText(b.maxInput ?? undefined, tokensText)}`,
    );
  const schema = (g: GuardPlan): string => (g.schema === null ? 'none' : JSON.stringify(g.schema.path));
  if (schema(a) !== schema(b)) add('guard', subject, `schema ${schema(a)} → ${schema(b)}`);
  else if (
    a.schema !== null &&
    b.schema !== null &&
    JSON.stringify(a.schema.schema) !== JSON.stringify(b.schema.schema)
  )
    add('guard', subject, `schema ${schema(b)} changed (its content)`);
}

function otherwiseText(otherwise: OtherwisePlan | null): string {
  if (otherwise === null) return 'reject (no otherwise)';
  if (otherwise.kind === 'route') return `route ${otherwise.route}`;
  return otherwise.message === null ? 'reject' : `reject ${JSON.stringify(otherwise.message)}`;
}

function retainText(days: number | null): string {
  return days === null ? 'forever' : `${days} days`;
}
