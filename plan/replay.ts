/**
 * Replay (docs/what-if.md, "Replay"): the requests of the audit trail decided again under other
 * plans, without calling any model — what each request had (route, the models it tried, the model
 * that answered, its outcome) against what the new plan decides, and the totals: requests changed
 * per route and team, the cost difference from each request's recorded token counts at the new
 * prices, per team and per budget, and the budget windows the new costs would have exceeded.
 *
 * Every decision is `decide` (evaluator.ts), the runtime's own: nothing here re-states a rule.
 * Deciding costs microseconds, so decisions are remembered per plan by what they depend on: the
 * routing facts, and the input-token count only as far as the plan's conditions and `max-input`
 * guards can tell counts apart (its cuts: two counts between the same cuts decide alike). A
 * decision that depends on more is never remembered: a split (the pick follows the request id),
 * anything a guard did (its text names the count), and requests whose kept prompt the plan's
 * `block` patterns must read.
 *
 * Pure and deterministic: records are taken in chain order and every list is sorted, so the same
 * trail and the same plans give the same report.
 */
import { decide, scopeValueOf } from './evaluator.js';
import { actualCost, limitText } from './governance.js';
import { formatDollars } from './money.js';
import { requestOfFacts } from './request.js';
import type { RoutingFacts } from './request.js';
import type { Decision } from './trace.js';
import type { BudgetLimit, Condition, InferenceRequest, Message, Plan, Value } from './types.js';
import { windowStart } from './windows.js';

/** One audit record as replay reads it (the store's replay columns: store/audit.ts). */
export interface ReplayRow {
  seq: number;
  id: string;
  timeMs: number;
  policy: string;
  /** The model that answered; `null` when none did. */
  model: string | null;
  /** Every model attempted or answering, in order, space-separated with a space at each end. */
  models: string;
  status: 'served' | 'rejected' | 'failed' | 'interrupted';
  /** Canonical JSON of the routing facts without `inputTokens`; `null`: the record has none. */
  routing: string | null;
  inputTokens: number | null;
  route: string | null;
  /** The rule that rejected the request at its decision; `null` when its decision did not. */
  rule: string | null;
  usageInput: number | null;
  usageOutput: number | null;
  costNanos: number | null;
}

/** What changed for one request; a request can change in several ways at once. */
export type ReplayChange = 'route' | 'model' | 'newly-rejected' | 'newly-allowed' | 'data-rule';
export const REPLAY_CHANGES: readonly ReplayChange[] = [
  'route',
  'model',
  'newly-rejected',
  'newly-allowed',
  'data-rule',
];

export interface ReplayedRequest {
  seq: number;
  id: string;
  time: string;
  team: string | null;
  changes: ReplayChange[];
  was: {
    status: ReplayRow['status'];
    route: string | null;
    /** The models it tried, in order (the first is the one its plan put first). */
    chain: string[];
    model: string | null;
    /** Why it was rejected at its decision; `null` when it was not. */
    rule: string | null;
    cost: string;
  };
  now: {
    status: 'planned' | 'rejected';
    route: string | null;
    /** The candidate chain: primary, fallbacks, escalations. */
    chain: string[];
    /** The model the new plan puts first; `null` when rejected. */
    model: string | null;
    reason: string | null;
    /** Models the new plan's `require` rules remove that the request used. */
    removed: { model: string; rule: string }[];
    /** The recorded token counts at the new prices of `model`. */
    cost: string;
  };
}

interface Money {
  was: string;
  would: string;
  difference: string;
}

export interface ReplayReport {
  /** Each new plan, by policy name. */
  plans: { policy: string; hash: string }[];
  records: number;
  replayed: number;
  skipped: {
    /** Written before audit records kept routing facts (or `interrupted`). */
    withoutRoutingFacts: number;
    /** Of a policy that is not among the new plans, by policy. */
    unknownPolicy: { policy: string; records: number }[];
  };
  changed: number;
  byChange: Record<ReplayChange, number>;
  /** Requests by the route they had (`null`: none), with where the new plan sends them. */
  byRoute: {
    route: string | null;
    requests: number;
    changed: number;
    to: { route: string | null; requests: number }[];
  }[];
  byTeam: ({ team: string | null; requests: number; changed: number } & Money)[];
  cost: Money;
  byBudget: ({ budget: string; scopeValue: string | null; requests: number } & Money)[];
  /** Budget windows the new costs would have gone over, with the request that went over first. */
  exceeded: {
    budget: string;
    scopeValue: string | null;
    limit: string;
    windowStart: string;
    would: string;
    firstOver: { seq: number; id: string; time: string };
  }[];
  /** Models the new `require` rules remove from requests that used them. */
  dataRules: { rule: string; model: string; requests: number }[];
  /** Changed requests, oldest first, at most the `list` asked for. */
  requests: ReplayedRequest[];
  /** Changed requests left out of `requests`. */
  moreRequests: number;
  /**
   * Requests whose prompt was not kept (audit prompts other than `full`) under a plan with
   * `block` patterns: their patterns could not be checked again.
   */
  blockPatternsUnchecked: number;
}

/** Per plan: what its decisions depend on, and the decisions remembered. */
interface PlanState {
  plan: Plan;
  /** Input-token counts at which a condition or a `max-input` can change its answer, ascending. */
  cuts: number[];
  /** The plan has `before` guards with `block` patterns (they read the prompt). */
  blocks: boolean;
  facts: Map<string, FactsState>;
}

interface FactsState {
  facts: RoutingFacts;
  /** A request with these facts (its id and token count are not what its decisions depend on). */
  request: InferenceRequest;
  /** Decisions by input-token bucket; `null`: decide every time. */
  decisions: Map<number, Decision | null>;
}

interface MoneyTotals {
  requests: number;
  changed: number;
  was: number;
  would: number;
}

interface WindowTotal {
  budget: string;
  scopeValue: string | null;
  limit: BudgetLimit;
  start: number;
  amount: number;
  firstOver: { seq: number; id: string; timeMs: number } | null;
}

export interface ReplayOptions {
  /** At most this many changed requests are listed (default 100). */
  list?: number;
}

/** The input-token counts at which `plan`'s decisions can differ (see the module's notes). */
export function inputTokenCuts(plan: Plan): number[] {
  const cuts = new Set<number>();
  const add = (value: Value): void => {
    if (value.kind === 'tokens') cuts.add(value.value);
  };
  const walk = (condition: Condition): void => {
    switch (condition.op) {
      case 'and':
      case 'or':
        for (const arg of condition.args) walk(arg);
        return;
      case 'not':
        walk(condition.arg);
        return;
      case 'compare':
        if (condition.field === 'input.tokens') add(condition.value);
        return;
      case 'in':
        if (condition.field === 'input.tokens') for (const value of condition.values) add(value);
        return;
      default:
        return;
    }
  };
  for (const route of plan.routes) walk(route.when);
  for (const rule of plan.requires) if (rule.when !== null) walk(rule.when);
  for (const guard of plan.guards) if (guard.maxInput !== null) cuts.add(guard.maxInput);
  return [...cuts].sort((a, b) => a - b);
}

/** `2 × (cuts below n) + (1 if n is a cut)`: equal for counts no condition can tell apart. */
function bucketOf(cuts: readonly number[], n: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! < n) lo = mid + 1;
    else hi = mid;
  }
  return 2 * lo + (lo < cuts.length && cuts[lo] === n ? 1 : 0);
}

function firstModel(models: string): string | null {
  const end = models.indexOf(' ', 1);
  return end <= 1 ? null : models.slice(1, end);
}

function modelList(models: string): string[] {
  const trimmed = models.trim();
  return trimmed === '' ? [] : trimmed.split(' ');
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

function money(was: number, would: number): Money {
  return { was: formatDollars(was), would: formatDollars(would), difference: formatDollars(would - was) };
}

function byKey<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** `null` keys sort first. */
function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** Re-decides audit records under `plans` (by policy name) and sums what changed. */
export class Replay {
  private readonly states = new Map<string, PlanState>();
  private readonly list: number;
  private records = 0;
  private replayed = 0;
  private withoutFacts = 0;
  private readonly unknown = new Map<string, number>();
  private changed = 0;
  private readonly byChange: Record<ReplayChange, number> = {
    route: 0,
    model: 0,
    'newly-rejected': 0,
    'newly-allowed': 0,
    'data-rule': 0,
  };
  private readonly routes = new Map<
    string,
    { route: string | null; requests: number; changed: number; to: Map<string, number> }
  >();
  private readonly teams = new Map<string, MoneyTotals & { team: string | null }>();
  private readonly budgets = new Map<string, MoneyTotals & { budget: string; scopeValue: string | null }>();
  private readonly windows = new Map<string, WindowTotal>();
  private readonly rules = new Map<string, { rule: string; model: string; requests: number }>();
  private readonly listed: ReplayedRequest[] = [];
  private more = 0;
  private wasTotal = 0;
  private wouldTotal = 0;
  private unchecked = 0;

  constructor(plans: ReadonlyMap<string, Plan>, options: ReplayOptions = {}) {
    for (const [name, plan] of plans) {
      this.states.set(name, {
        plan,
        cuts: inputTokenCuts(plan),
        blocks: plan.guards.some((g) => g.phase === 'before' && g.blocks.length > 0),
        facts: new Map(),
      });
    }
    this.list = options.list ?? 100;
  }

  /**
   * Whether `row` needs its kept prompt to be decided again: its plan has `block` patterns.
   * (`add` then takes the prompt's messages, when the audit kept them in full.)
   */
  wantsPrompt(row: Pick<ReplayRow, 'policy'>): boolean {
    return this.states.get(row.policy)?.blocks === true;
  }

  /**
   * One record, in chain order. `messages`: its prompt, when the audit kept it in full and
   * {@link wantsPrompt} asked for it; `undefined` when not kept.
   */
  add(row: ReplayRow, messages?: Message[]): void {
    this.records += 1;
    if (row.routing === null || row.inputTokens === null) {
      this.withoutFacts += 1;
      return;
    }
    const state = this.states.get(row.policy);
    if (state === undefined) {
      this.unknown.set(row.policy, (this.unknown.get(row.policy) ?? 0) + 1);
      return;
    }
    this.replayed += 1;
    const entry = byKey(state.facts, row.routing, () => {
      const facts = JSON.parse(row.routing!) as RoutingFacts;
      facts.inputTokens = 0;
      return { facts, request: requestOfFacts('', row.policy, facts), decisions: new Map() };
    });
    const decision = this.decisionFor(state, entry, row, messages);
    this.compare(state.plan, entry, row, decision);
  }

  private decisionFor(state: PlanState, entry: FactsState, row: ReplayRow, messages?: Message[]): Decision {
    const inputTokens = row.inputTokens!;
    if (state.blocks && messages === undefined) this.unchecked += 1;
    const readsPrompt = state.blocks && messages !== undefined;
    const bucket = bucketOf(state.cuts, inputTokens);
    if (!readsPrompt) {
      const known = entry.decisions.get(bucket);
      if (known !== undefined && known !== null) return known;
      if (known === null) return this.decideOne(state.plan, entry, row, messages);
    }
    const decision = this.decideOne(state.plan, entry, row, messages);
    if (!readsPrompt) entry.decisions.set(bucket, rememberable(decision) ? decision : null);
    return decision;
  }

  private decideOne(plan: Plan, entry: FactsState, row: ReplayRow, messages?: Message[]): Decision {
    const facts = entry.facts;
    facts.inputTokens = row.inputTokens!;
    const decision = decide(plan, requestOfFacts(row.id, row.policy, facts, messages ?? []));
    facts.inputTokens = 0;
    return decision;
  }

  private compare(plan: Plan, entry: FactsState, row: ReplayRow, decision: Decision): void {
    const changes: ReplayChange[] = [];
    const planned = decision.status !== 'rejected';
    const oldPrimary = firstModel(row.models);
    const newPrimary = planned ? (decision.chain[0]?.model ?? null) : null;
    if (row.status !== 'rejected' && !planned) changes.push('newly-rejected');
    if (row.status === 'rejected' && row.rule !== null && planned) changes.push('newly-allowed');
    if (row.route !== null && decision.route !== null && row.route !== decision.route && planned)
      changes.push('route');
    if (oldPrimary !== null && newPrimary !== null && oldPrimary !== newPrimary) changes.push('model');
    let removed: { model: string; rule: string }[] | undefined;
    for (const exclusion of decision.excluded) {
      if (!exclusion.rule.startsWith('require ')) continue;
      if (!row.models.includes(` ${exclusion.model} `)) continue;
      if (removed?.some((r) => r.model === exclusion.model) === true) continue;
      (removed ??= []).push({ model: exclusion.model, rule: exclusion.rule });
    }
    if (removed !== undefined) changes.push('data-rule');

    // The cost: the recorded tokens (a request that was not served: its recorded input count) at
    // the new prices of the model the new plan puts first.
    const was = row.costNanos ?? 0;
    let would = 0;
    if (planned && decision.chain[0] !== undefined) {
      const served = (row.usageInput ?? 0) > 0 || (row.usageOutput ?? 0) > 0;
      would = actualCost(decision.chain[0], {
        inputTokens: served ? row.usageInput! : row.inputTokens!,
        outputTokens: row.usageOutput ?? 0,
      });
    }
    const changed = changes.length > 0;
    if (changed) {
      this.changed += 1;
      for (const change of changes) this.byChange[change] += 1;
      if (removed !== undefined) {
        for (const r of removed) {
          byKey(this.rules, `${r.rule}\u0000${r.model}`, () => ({
            rule: r.rule,
            model: r.model,
            requests: 0,
          })).requests += 1;
        }
      }
    }
    this.wasTotal += was;
    this.wouldTotal += would;

    const route = byKey(this.routes, row.route ?? '\u0000', () => ({
      route: row.route,
      requests: 0,
      changed: 0,
      to: new Map<string, number>(),
    }));
    route.requests += 1;
    if (changed) route.changed += 1;
    const to = planned ? (decision.route ?? '\u0000') : '\u0000';
    route.to.set(to, (route.to.get(to) ?? 0) + 1);

    const team = entry.facts.team;
    const teamTotals = byKey(this.teams, team ?? '\u0000', () => ({
      team,
      requests: 0,
      changed: 0,
      was: 0,
      would: 0,
    }));
    teamTotals.requests += 1;
    if (changed) teamTotals.changed += 1;
    teamTotals.was += was;
    teamTotals.would += would;

    const tokens = planned ? (row.usageInput ?? 0) + (row.usageOutput ?? 0) || row.inputTokens! : 0;
    for (const budget of plan.budgets) {
      const scopeValue = scopeValueOf(budget.scope, entry.request, plan);
      const key = `${budget.name}\u0000${scopeValue ?? ''}`;
      const totals = byKey(this.budgets, key, () => ({
        budget: budget.name,
        scopeValue,
        requests: 0,
        changed: 0,
        was: 0,
        would: 0,
      }));
      totals.requests += 1;
      if (changed) totals.changed += 1;
      totals.was += was;
      totals.would += would;
      for (let i = 0; i < budget.limits.length; i++) {
        const limit = budget.limits[i]!;
        const amount = limit.kind === 'money' ? would : tokens;
        if (amount === 0) continue;
        const start = windowStart(limit.window, row.timeMs);
        const window = byKey(this.windows, `${key}\u0000${i}\u0000${start}`, () => ({
          budget: budget.name,
          scopeValue,
          limit,
          start,
          amount: 0,
          firstOver: null,
        }));
        window.amount += amount;
        if (window.firstOver === null && window.amount > limit.amount) {
          window.firstOver = { seq: row.seq, id: row.id, timeMs: row.timeMs };
        }
      }
    }

    if (!changed) return;
    if (this.listed.length >= this.list) {
      this.more += 1;
      return;
    }
    this.listed.push({
      seq: row.seq,
      id: row.id,
      time: isoTime(row.timeMs),
      team,
      changes,
      was: {
        status: row.status,
        route: row.route,
        chain: modelList(row.models),
        model: row.model,
        rule: row.rule,
        cost: formatDollars(was),
      },
      now: {
        status: planned ? 'planned' : 'rejected',
        route: decision.route,
        chain: decision.chain.map((e) => e.model),
        model: newPrimary,
        reason: decision.reason,
        removed: removed ?? [],
        cost: formatDollars(would),
      },
    });
  }

  report(): ReplayReport {
    const plans = [...this.states.entries()]
      .map(([policy, state]) => ({ policy, hash: state.plan.hash }))
      .sort((a, b) => compareNullable(a.policy, b.policy));
    const byRoute = [...this.routes.values()]
      .sort((a, b) => compareNullable(a.route, b.route))
      .map((r) => ({
        route: r.route,
        requests: r.requests,
        changed: r.changed,
        to: [...r.to.entries()]
          .map(([route, requests]) => ({ route: route === '\u0000' ? null : route, requests }))
          .sort((a, b) => compareNullable(a.route, b.route)),
      }));
    const byTeam = [...this.teams.values()]
      .sort((a, b) => compareNullable(a.team, b.team))
      .map((t) => ({ team: t.team, requests: t.requests, changed: t.changed, ...money(t.was, t.would) }));
    const byBudget = [...this.budgets.values()]
      .sort((a, b) => compareNullable(a.budget, b.budget) || compareNullable(a.scopeValue, b.scopeValue))
      .map((b) => ({
        budget: b.budget,
        scopeValue: b.scopeValue,
        requests: b.requests,
        ...money(b.was, b.would),
      }));
    const exceeded = [...this.windows.values()]
      .filter((w) => w.firstOver !== null)
      .sort(
        (a, b) =>
          compareNullable(a.budget, b.budget) ||
          compareNullable(a.scopeValue, b.scopeValue) ||
          a.start - b.start ||
          compareNullable(limitText(a.limit), limitText(b.limit)),
      )
      .map((w) => ({
        budget: w.budget,
        scopeValue: w.scopeValue,
        limit: limitText(w.limit),
        windowStart: isoTime(w.start),
        would: w.limit.kind === 'money' ? `$${formatDollars(w.amount)}` : `${w.amount} tokens`,
        firstOver: { seq: w.firstOver!.seq, id: w.firstOver!.id, time: isoTime(w.firstOver!.timeMs) },
      }));
    const dataRules = [...this.rules.values()].sort(
      (a, b) => compareNullable(a.rule, b.rule) || compareNullable(a.model, b.model),
    );
    return {
      plans,
      records: this.records,
      replayed: this.replayed,
      skipped: {
        withoutRoutingFacts: this.withoutFacts,
        unknownPolicy: [...this.unknown.entries()]
          .map(([policy, records]) => ({ policy, records }))
          .sort((a, b) => compareNullable(a.policy, b.policy)),
      },
      changed: this.changed,
      byChange: { ...this.byChange },
      byRoute,
      byTeam,
      cost: money(this.wasTotal, this.wouldTotal),
      byBudget,
      exceeded,
      dataRules,
      requests: this.listed.slice(),
      moreRequests: this.more,
      blockPatternsUnchecked: this.unchecked,
    };
  }
}

/**
 * Whether a decision holds for every request with the same routing facts and input-token bucket:
 * not a split's (its pick follows the request id), nor one a guard shaped (its text names the
 * input-token count).
 */
function rememberable(decision: Decision): boolean {
  if (decision.split !== null) return false;
  if (decision.rule !== null && decision.rule.includes('guard ')) return false;
  for (const exclusion of decision.excluded) if (exclusion.rule.startsWith('guard ')) return false;
  return true;
}
