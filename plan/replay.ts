/**
 * Replay (docs/what-if.md, "Replay"): the requests of the audit trail decided again under other
 * plans, without calling any model — what each request had (route, the models it tried, the model
 * that answered, its outcome) against what the new plan decides, and the totals: requests changed
 * per route and team, the cost difference from each request's recorded token counts at the new
 * prices, per team and per budget, and the budget windows the new costs would have exceeded.
 *
 * Every decision is `decide` (evaluator.ts), the runtime's own: nothing here re-states a rule.
 * Deciding costs microseconds, so decisions are remembered per plan by what they depend on: the
 * routing facts (each distinct text read once), the caller's team, app and user only when the
 * plan's conditions read them, and the input-token count only as far as the plan's conditions and
 * `max-input` guards can tell counts apart (its cuts: two counts between the same cuts decide
 * alike). A decision that depends on more is never remembered: a split (the pick follows the
 * request id), anything a guard did (its text names the count), and requests whose kept prompt the
 * plan's `block` patterns must read. What is remembered is bounded, so memory stays flat however
 * long the trail.
 *
 * Pure and deterministic: records are taken in chain order and every list is sorted, so the same
 * trail and the same plans give the same report.
 */
import { decide, scopeValueOf } from './evaluator.js';
import { actualCost, limitText } from './governance.js';
import { formatDollars } from './money.js';
import { requestOfFacts } from './request.js';
import type { RoutingFacts } from './request.js';
import type { ChainEntry, Decision } from './trace.js';
import type { BudgetLimit, BudgetPlan, Condition, InferenceRequest, Message, Plan } from './types.js';
import { windowEnd, windowStart } from './windows.js';

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
  /** The caller's team, app and user (the request's). */
  team: string | null;
  app: string | null;
  user: string | null;
  /**
   * Canonical JSON of the routing facts without `inputTokens`, `team`, `app` and `user`; `null`:
   * the record has none.
   */
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
  byBudget: ({ policy: string; budget: string; scopeValue: string | null; requests: number } & Money)[];
  /** Budget windows the new costs would have gone over, with the request that went over first. */
  exceeded: {
    policy: string;
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
  /** Which of the caller's fields the plan's conditions read. */
  reads: { team: boolean; app: boolean; user: boolean };
  /** By routing text; emptied when it holds {@link REMEMBERED} decisions or texts. */
  facts: Map<string, FactsState>;
  remembered: number;
  budgets: BudgetTracker[];
}

/** At most this many routing texts and decisions are remembered per plan. */
const REMEMBERED = 100_000;

interface FactsState {
  /** The routing facts (caller fields and count not filled in). */
  facts: RoutingFacts;
  /** Decisions by input-token bucket (and caller fields the plan reads); `null`: decide every time. */
  decisions: Map<number | string, Outcome | null>;
}

/** What replay keeps of a decision (a decision is large; thousands are remembered). */
interface Outcome {
  planned: boolean;
  route: string | null;
  /** The chain's first entry (its model and prices); `undefined` when rejected. */
  first: ChainEntry | undefined;
  chain: string[];
  reason: string | null;
  /** Models removed by `require` rules, once each, with the rule. */
  requireRemovals: { model: string; rule: string }[];
  /** It holds for every request with the same facts (see `rememberable`). */
  rememberable: boolean;
}

function outcomeOf(decision: Decision): Outcome {
  const planned = decision.status !== 'rejected';
  const requireRemovals: { model: string; rule: string }[] = [];
  for (const exclusion of decision.excluded) {
    if (!exclusion.rule.startsWith('require ')) continue;
    if (requireRemovals.some((r) => r.model === exclusion.model)) continue;
    requireRemovals.push({ model: exclusion.model, rule: exclusion.rule });
  }
  return {
    planned,
    route: decision.route,
    first: planned ? decision.chain[0] : undefined,
    chain: decision.chain.map((e) => e.model),
    reason: decision.reason,
    requireRemovals,
    rememberable: rememberable(decision),
  };
}

interface MoneyTotals {
  requests: number;
  changed: number;
  was: number;
  would: number;
}

interface WindowTotal {
  policy: string;
  budget: string;
  scopeValue: string | null;
  limit: BudgetLimit;
  start: number;
  amount: number;
  firstOver: { seq: number; id: string; timeMs: number } | null;
}

/** One budget of a plan: totals per scope value, and per limit its windows. */
interface BudgetTracker {
  budget: BudgetPlan;
  scopes: Map<string | null, MoneyTotals & { policy: string; budget: string; scopeValue: string | null }>;
  limits: LimitTracker[];
}

interface LimitTracker {
  limit: BudgetLimit;
  /** The window of the last record (records come nearly in time order): start and end. */
  start: number;
  end: number;
  /** Open windows by start, then scope value. */
  windows: Map<number, Map<string | null, WindowTotal>>;
}

/** Windows that ended this long before the latest record are closed (records are nearly in order). */
const CLOSE_AFTER_MS = 3_600_000;
/** Closed windows are looked for every this many records. */
const CLOSE_EVERY = 65_536;

export interface ReplayOptions {
  /** At most this many changed requests are listed (default 100). */
  list?: number;
}

/** Every comparison (`compare`, `in`) of `plan`'s route and `require` conditions, in order. */
function forEachComparison(
  plan: Plan,
  visit: (leaf: Extract<Condition, { op: 'compare' | 'in' }>) => void,
): void {
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
      case 'in':
        visit(condition);
        return;
      default:
        return;
    }
  };
  for (const route of plan.routes) walk(route.when);
  for (const rule of plan.requires) if (rule.when !== null) walk(rule.when);
}

/** The request fields that `plan`'s route and `require` conditions read (`tag.NAME` for tags). */
export function conditionFields(plan: Plan): Set<string> {
  const fields = new Set<string>();
  forEachComparison(plan, (leaf) => fields.add(leaf.field));
  return fields;
}

/** The input-token counts at which `plan`'s decisions can differ (see the module's notes). */
export function inputTokenCuts(plan: Plan): number[] {
  const cuts = new Set<number>();
  forEachComparison(plan, (leaf) => {
    if (leaf.field !== 'input.tokens') return;
    for (const value of leaf.op === 'compare' ? [leaf.value] : leaf.values) {
      if (value.kind === 'tokens') cuts.add(value.value);
    }
  });
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
  /** Windows gone over, closed. */
  private readonly over: WindowTotal[] = [];
  private latest = 0;
  private readonly rules = new Map<string, { rule: string; model: string; requests: number }>();
  private readonly listed: ReplayedRequest[] = [];
  private more = 0;
  private wasTotal = 0;
  private wouldTotal = 0;
  private unchecked = 0;
  /** A request that only carries a caller, for the budgets' scope values (`scopeValueOf`). */
  private readonly caller: InferenceRequest = { id: '', policy: '', capability: '', messages: [] };

  constructor(plans: ReadonlyMap<string, Plan>, options: ReplayOptions = {}) {
    for (const [name, plan] of plans) {
      const fields = conditionFields(plan);
      this.states.set(name, {
        plan,
        cuts: inputTokenCuts(plan),
        blocks: plan.guards.some((g) => g.phase === 'before' && g.blocks.length > 0),
        reads: { team: fields.has('team'), app: fields.has('app'), user: fields.has('user') },
        facts: new Map(),
        remembered: 0,
        budgets: plan.budgets.map((budget) => ({
          budget,
          scopes: new Map(),
          limits: budget.limits.map((limit) => ({ limit, start: 0, end: 0, windows: new Map() })),
        })),
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
    let entry = state.facts.get(row.routing);
    if (entry === undefined) {
      if (state.remembered >= REMEMBERED) {
        state.facts.clear();
        state.remembered = 0;
      }
      entry = { facts: JSON.parse(row.routing) as RoutingFacts, decisions: new Map() };
      state.facts.set(row.routing, entry);
      state.remembered += 1;
    }
    const decision = this.decisionFor(state, entry, row, messages);
    this.compare(state, row, decision);
    if (row.timeMs > this.latest) this.latest = row.timeMs;
    if (this.replayed % CLOSE_EVERY === 0) this.closeWindows(this.latest - CLOSE_AFTER_MS);
  }

  /** Forgets the windows that ended before `before`, keeping those gone over. */
  private closeWindows(before: number): void {
    for (const state of this.states.values()) {
      for (const budget of state.budgets) {
        for (const tracker of budget.limits) {
          for (const [start, scopes] of tracker.windows) {
            if (windowEnd(tracker.limit.window, start) >= before) continue;
            for (const window of scopes.values()) if (window.firstOver !== null) this.over.push(window);
            tracker.windows.delete(start);
          }
        }
      }
    }
  }

  private decisionFor(state: PlanState, entry: FactsState, row: ReplayRow, messages?: Message[]): Outcome {
    if (state.blocks && messages === undefined) this.unchecked += 1;
    if (state.blocks && messages !== undefined) return decideOne(state.plan, entry, row, messages);
    const bucket = bucketOf(state.cuts, row.inputTokens!);
    const reads = state.reads;
    const key =
      reads.team || reads.app || reads.user
        ? `${bucket}\u0000${reads.team ? (row.team ?? '\u0001') : ''}\u0000${reads.app ? (row.app ?? '\u0001') : ''}\u0000${reads.user ? (row.user ?? '\u0001') : ''}`
        : bucket;
    const known = entry.decisions.get(key);
    if (known !== undefined && known !== null) return known;
    const decision = decideOne(state.plan, entry, row, messages);
    if (known === undefined) {
      entry.decisions.set(key, decision.rememberable ? decision : null);
      state.remembered += 1;
    }
    return decision;
  }

  private compare(state: PlanState, row: ReplayRow, decision: Outcome): void {
    const plan = state.plan;
    const changes: ReplayChange[] = [];
    const planned = decision.planned;
    const oldPrimary = firstModel(row.models);
    const newPrimary = decision.first?.model ?? null;
    if (row.status !== 'rejected' && !planned) changes.push('newly-rejected');
    if (row.status === 'rejected' && row.rule !== null && planned) changes.push('newly-allowed');
    if (row.route !== null && decision.route !== null && row.route !== decision.route && planned)
      changes.push('route');
    if (oldPrimary !== null && newPrimary !== null && oldPrimary !== newPrimary) changes.push('model');
    let removed: { model: string; rule: string }[] | undefined;
    for (const removal of decision.requireRemovals) {
      if (row.models.includes(` ${removal.model} `)) (removed ??= []).push(removal);
    }
    if (removed !== undefined) changes.push('data-rule');

    // The cost: the recorded tokens (a request that was not served: its recorded input count) at
    // the new prices of the model the new plan puts first.
    const was = row.costNanos ?? 0;
    let would = 0;
    if (decision.first !== undefined) {
      const served = (row.usageInput ?? 0) > 0 || (row.usageOutput ?? 0) > 0;
      would = actualCost(decision.first, {
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

    const team = row.team;
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

    const caller = this.caller;
    caller.team = row.team ?? undefined;
    caller.app = row.app ?? undefined;
    caller.user = row.user ?? undefined;
    const tokens = planned ? (row.usageInput ?? 0) + (row.usageOutput ?? 0) || row.inputTokens! : 0;
    for (const tracker of state.budgets) {
      const budget = tracker.budget;
      const scopeValue = scopeValueOf(budget.scope, caller, plan);
      let totals = tracker.scopes.get(scopeValue);
      if (totals === undefined) {
        totals = {
          policy: plan.name,
          budget: budget.name,
          scopeValue,
          requests: 0,
          changed: 0,
          was: 0,
          would: 0,
        };
        tracker.scopes.set(scopeValue, totals);
      }
      totals.requests += 1;
      if (changed) totals.changed += 1;
      totals.was += was;
      totals.would += would;
      for (const limits of tracker.limits) {
        const limit = limits.limit;
        const amount = limit.kind === 'money' ? would : tokens;
        if (amount === 0) continue;
        if (row.timeMs < limits.start || row.timeMs >= limits.end) {
          limits.start = windowStart(limit.window, row.timeMs);
          limits.end = windowEnd(limit.window, row.timeMs);
        }
        const start = limits.start;
        let scopes = limits.windows.get(start);
        if (scopes === undefined) {
          scopes = new Map();
          limits.windows.set(start, scopes);
        }
        let window = scopes.get(scopeValue);
        if (window === undefined) {
          window = {
            policy: plan.name,
            budget: budget.name,
            scopeValue,
            limit,
            start,
            amount: 0,
            firstOver: null,
          };
          scopes.set(scopeValue, window);
        }
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
        chain: decision.chain,
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
    const trackers = [...this.states.values()].flatMap((state) => state.budgets);
    const byBudget = trackers
      .flatMap((tracker) => [...tracker.scopes.values()])
      .sort(
        (a, b) =>
          compareNullable(a.policy, b.policy) ||
          compareNullable(a.budget, b.budget) ||
          compareNullable(a.scopeValue, b.scopeValue),
      )
      .map((b) => ({
        policy: b.policy,
        budget: b.budget,
        scopeValue: b.scopeValue,
        requests: b.requests,
        ...money(b.was, b.would),
      }));
    const open = trackers.flatMap((tracker) =>
      tracker.limits.flatMap((limits) =>
        [...limits.windows.values()].flatMap((scopes) => [...scopes.values()]),
      ),
    );
    const exceeded = [...this.over, ...open]
      .filter((w) => w.firstOver !== null)
      .sort(
        (a, b) =>
          compareNullable(a.policy, b.policy) ||
          compareNullable(a.budget, b.budget) ||
          compareNullable(a.scopeValue, b.scopeValue) ||
          a.start - b.start ||
          compareNullable(limitText(a.limit), limitText(b.limit)),
      )
      .map((w) => ({
        policy: w.policy,
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

/** `decide` on the request of `row`: its routing facts, its caller, its count and id. */
function decideOne(plan: Plan, entry: FactsState, row: ReplayRow, messages?: Message[]): Outcome {
  const facts: RoutingFacts = {
    ...entry.facts,
    team: row.team,
    app: row.app,
    user: row.user,
    inputTokens: row.inputTokens!,
  };
  return outcomeOf(decide(plan, requestOfFacts(row.id, row.policy, facts, messages ?? [])));
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
