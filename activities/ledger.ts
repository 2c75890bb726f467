/**
 * The ledger activities (docs/language.md §6 step 7, docs/architecture.md decision 5): the
 * request driver (plan/driver.ts, in the workflow or the direct runner) calls them with the
 * execution machine's ledger intents — each one atomic and idempotent in the store, so Temporal
 * or the direct runner may retry any of them.
 *
 * - `snapshot`: the ledger's counters for a decision's budgets and rate limits (a
 *   `GovernanceSnapshot` for `start`/`next`); also records the budgets' definitions in the store
 *   (once per definition per process) so `switchyard budget show` knows their limits.
 * - `reserve`: an attempt step's `reserve` list, all or nothing. Budgets whose `on-exceed` is
 *   `alert`, and those in `exempt` (the machine's: a `downgrade` was applied), are recorded but
 *   never refuse. A refusal names the budget and carries a fresh snapshot.
 * - `settle`: a step's `settle` list: commit (actual cost) or release, by reservation key.
 * - `admitRateLimits`: an attempt step's `rateLimits` list, keyed by the request id.
 *
 * Budget and rate-limit names are qualified with the policy in the store (`<policy>/<name>`):
 * budgets belong to their policy, so two policies' `monthly` budgets are different ledgers.
 */
import { limitText } from '../plan/governance.js';
import type { BudgetUsage, GovernanceSnapshot, RateLimitUsage } from '../plan/trace.js';
import type { ApplicableBudget, ApplicableRateLimit } from '../plan/trace.js';
import type { BudgetLimit, BudgetPlan, Plan } from '../plan/types.js';
import type {
  AdmitInput,
  AdmitOutput,
  GovernanceActivities,
  ReserveInput,
  ReserveOutput,
  SettleInput,
  SettleOutput,
  SnapshotInput,
} from '../contract/index.js';
import type {
  BudgetDefinition,
  BudgetLimits,
  LedgerSettlement,
  LedgerWindow,
  RateLimitSpec,
  SettleOutcome,
  Store,
  TrackedRequest,
  WindowUsage,
} from '../store/types.js';

/** The store's name for a policy's budget or rate limit. */
export function ledgerName(policy: string, name: string): string {
  return `${policy}/${name}`;
}

/** Extra lifetime of a reservation beyond its attempt's delay and (three lost tries of) its timeout. */
export const RESERVATION_MARGIN_MS = 5 * 60_000;

export interface LedgerOptions {
  /** The clock (epoch ms); default `Date.now`. */
  now?: () => number;
}

export type BudgetDefinitionInput = Omit<BudgetDefinition, 'updatedAt'>;

/** The ledger's definition of one budget of a policy (what `switchyard budget show` prints limits from). */
export function budgetDefinition(
  policy: string,
  b: Pick<BudgetPlan, 'name' | 'scope' | 'limits' | 'onExceed'>,
): BudgetDefinitionInput {
  return {
    budget: ledgerName(policy, b.name),
    policy,
    name: b.name,
    scope: b.scope,
    limits: b.limits,
    onExceed: b.onExceed.action === 'downgrade' ? `downgrade ${b.onExceed.model}` : b.onExceed.action,
  };
}

/** The ledger's definitions of every budget of a set of plans. */
export function budgetDefinitions(plans: Iterable<Pick<Plan, 'name' | 'budgets'>>): BudgetDefinitionInput[] {
  const out: BudgetDefinitionInput[] = [];
  for (const plan of plans) for (const b of plan.budgets) out.push(budgetDefinition(plan.name, b));
  return out;
}

function windowsOf(limits: readonly { window: LedgerWindow }[]): LedgerWindow[] {
  return [...new Set(limits.map((limit) => limit.window))];
}

function budgetUsage(usages: readonly WindowUsage[], at: number): BudgetUsage {
  const counters = (u: WindowUsage): BudgetUsage => ({
    spentNanos: u.spentNanos,
    reservedNanos: u.reservedNanos,
    spentTokens: u.spentTokens,
    reservedTokens: u.reservedTokens,
    resetsInMs: u.windowEnd - at,
  });
  const first = usages[0];
  const usage: BudgetUsage = first === undefined ? {} : counters(first);
  if (usages.length > 0) usage.byWindow = Object.fromEntries(usages.map((u) => [u.window, counters(u)]));
  return usage;
}

export type LedgerActivities = Omit<GovernanceActivities, 'appendAudit'>;

/**
 * A step's settlements as the store writes them: one commit per key (the first actual cost wins),
 * then the releases of keys not committed.
 */
export function settlementsOf(input: SettleInput): LedgerSettlement[] {
  const commits = new Map<string, LedgerSettlement>();
  const releases = new Set<string>();
  for (const s of input.settlements) {
    if (s.action === 'commit') {
      if (!commits.has(s.key))
        commits.set(s.key, { action: 'commit', key: s.key, nanos: s.nanos, tokens: s.tokens });
    } else releases.add(s.key);
  }
  const out = [...commits.values()];
  for (const key of releases) if (!commits.has(key)) out.push({ action: 'release', key });
  return out;
}

/** What settling one key did, as the `settle` activity reports it. */
export function settledKey(s: LedgerSettlement, outcome: SettleOutcome): SettleOutput['keys'][number] {
  return {
    key: s.key,
    action: s.action,
    found: outcome.found,
    charged: s.action === 'commit' && outcome.budgets.some((b) => b.charged),
  };
}

export function createLedgerActivities(store: Store, options: LedgerOptions = {}) {
  const now = options.now ?? (() => Date.now());
  const recorded = new Set<string>();

  async function readSnapshot(input: SnapshotInput): Promise<GovernanceSnapshot> {
    const at = now();
    const queries = input.budgets.map((b) => ({
      budget: ledgerName(input.policy, b.name),
      scopeValue: b.scopeValue,
      windows: windowsOf(b.limits),
    }));
    const usages = queries.length > 0 ? await store.usageMany(queries, at) : [];
    const budgets: Record<string, BudgetUsage> = {};
    input.budgets.forEach((b, i) => {
      budgets[b.name] = budgetUsage(usages[i] ?? [], at);
    });
    const rateLimits: Record<string, RateLimitUsage> = {};
    for (const rate of input.rateLimits) {
      const byWindow: Partial<Record<LedgerWindow, RateLimitUsage>> = {};
      for (const window of windowsOf(rate.limits)) {
        const u = await store.rateUsage(ledgerName(input.policy, rate.name), rate.scopeValue, window, at);
        byWindow[window] = { requests: u.requests, tokens: u.tokens, resetsInMs: u.windowEnd - at };
      }
      const first = rate.limits[0];
      rateLimits[rate.name] = { ...(first ? byWindow[first.window] : {}), byWindow };
    }
    return { budgets, rateLimits };
  }

  async function recordDefinitions(input: SnapshotInput): Promise<void> {
    const fresh = input.budgets.filter((b) => {
      const id = JSON.stringify([input.policy, b.name, b.scope, b.limits, b.onExceed]);
      if (recorded.has(id)) return false;
      recorded.add(id);
      return true;
    });
    if (fresh.length === 0) return;
    await store.recordBudgets(
      fresh.map((b) => budgetDefinition(input.policy, b)),
      now(),
    );
  }

  return {
    async snapshot(input: SnapshotInput): Promise<GovernanceSnapshot> {
      await recordDefinitions(input);
      return readSnapshot(input);
    },

    /** `track`: the direct runner's in-flight row, written in the same transaction (store `reserve`). */
    async reserve(input: ReserveInput, track?: TrackedRequest): Promise<ReserveOutput> {
      const limits: Record<string, BudgetLimits> = {};
      const byLedgerName = new Map<string, ApplicableBudget>();
      for (const b of input.budgets) {
        const name = ledgerName(input.policy, b.name);
        byLedgerName.set(name, b);
        limits[name] = {
          limits: b.limits,
          enforce: b.onExceed.action !== 'alert' && !(input.exempt ?? []).includes(b.name),
        };
      }
      const reservations = input.reservations.map(({ enforce, ...r }) => {
        const budget = ledgerName(input.policy, r.budget);
        const entry = limits[budget];
        if (entry === undefined) throw new TypeError(`reserve: budget ${budget} is not in the decision`);
        if (enforce !== undefined) entry.enforce = enforce;
        return { ...r, budget };
      });
      const ttlMs =
        input.ttlMs ??
        (input.timeoutMs !== undefined
          ? (input.delayBeforeMs ?? 0) + 3 * input.timeoutMs + RESERVATION_MARGIN_MS
          : undefined);
      const at = now();
      const outcome = await store.reserve(reservations, limits, at, ttlMs, track);
      if (outcome.ok) return { ok: true, replayed: outcome.replayed, expiresAt: outcome.expiresAt };
      const budget = byLedgerName.get(outcome.budget);
      if (budget === undefined)
        throw new Error(`reserve: the store refused an unknown budget ${outcome.budget}`);
      const limit = outcome.limit as BudgetLimit;
      return {
        ok: false,
        budget: budget.name,
        scopeValue: outcome.scopeValue,
        limit,
        limitText: limitText(limit),
        action: budget.onExceed.action,
        retryAfterMs: outcome.usage.windowEnd - at,
        window: limit.window,
        snapshot: await readSnapshot({ policy: input.policy, budgets: input.budgets, rateLimits: [] }),
      };
    },

    async settle(input: SettleInput): Promise<SettleOutput> {
      const keys: SettleOutput['keys'] = [];
      const at = now();
      for (const s of settlementsOf(input)) {
        if (s.action === 'commit') {
          const outcome = await store.commit(s.key, s.nanos, s.tokens, at);
          keys.push(settledKey(s, outcome));
        } else {
          keys.push(settledKey(s, await store.release(s.key, at)));
        }
      }
      return { keys };
    },

    /** `track`: the direct runner's in-flight row, written in the same transaction (store `admit`). */
    async admitRateLimits(input: AdmitInput, track?: TrackedRequest): Promise<AdmitOutput> {
      const limits: Record<string, RateLimitSpec[]> = {};
      const byLedgerName = new Map<string, ApplicableRateLimit>();
      for (const rate of input.rateLimits) {
        const name = ledgerName(input.policy, rate.name);
        byLedgerName.set(name, rate);
        limits[name] = rate.limits;
      }
      const uses = input.uses.map((u) => ({ ...u, rateLimit: ledgerName(input.policy, u.rateLimit) }));
      const outcome = await store.admit(input.requestId, uses, limits, now(), track);
      if (outcome.ok) return { ok: true, replayed: outcome.replayed };
      const rate = byLedgerName.get(outcome.rateLimit);
      if (rate === undefined)
        throw new Error(`admit: the store refused an unknown rate limit ${outcome.rateLimit}`);
      return {
        ok: false,
        rateLimit: rate.name,
        scopeValue: outcome.scopeValue,
        limit: outcome.limit,
        limitText: limitText(outcome.limit),
        retryAfterMs: outcome.retryAfterMs,
        neverFits: outcome.neverFits,
        onExceed: rate.onExceed,
        window: outcome.limit.window,
      };
    },
  } satisfies LedgerActivities;
}
