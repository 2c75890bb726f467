/**
 * Governance activities (LANGUAGE.md §3.2 step 5, ARCHITECTURE.md decisions 5–6): the workflow
 * calls them with the execution machine's ledger intents — each one atomic and idempotent in the
 * store, so Temporal may retry any of them.
 *
 * - `snapshot`: the ledger's counters for a decision's budgets and rate limits (a
 *   `GovernanceSnapshot` for `start`/`next`); also records the budgets' definitions in the store
 *   (once per definition per process) so `switchyard budget show` knows their limits.
 * - `reserve`: an attempt step's `reserve` list, all or nothing. Budgets whose `on-exceed` is
 *   `alert`, and those in `exempt` (the machine's: a `downgrade` was applied), are recorded but
 *   never refuse. A refusal names the budget and carries a fresh snapshot.
 * - `settle`: a step's `settle` list: commit (actual cost) or release, by reservation key.
 * - `admitRateLimits`: an attempt step's `rateLimits` list, keyed by the request id.
 * - `appendAudit`: the request's audit record, prompts kept as the policy's `audit prompts` says,
 *   with the policy's `audit retain` (the store deletes the record once it and every older one
 *   are past their retention).
 *
 * Budget and rate-limit names are qualified with the policy in the store (`<policy>/<name>`):
 * budgets belong to their policy, so two policies' `monthly` budgets are different ledgers.
 */
import { createHash } from 'node:crypto';
import { limitText } from '../plan/governance.js';
import type { BudgetUsage, GovernanceSnapshot, RateLimitUsage } from '../plan/governance.js';
import type {
  ApplicableBudget,
  ApplicableRateLimit,
  Decision,
  InferenceResult,
  RateLimitUse,
  Reservation,
  Settlement,
} from '../plan/trace.js';
import type {
  BudgetExceed,
  BudgetLimit,
  InferenceRequest,
  Message,
  Plan,
  PromptAudit,
  RateLimitPlan,
} from '../plan/types.js';
import { makeScrubber, scrubSecrets } from '../store/scrub.js';
import type {
  AuditInput,
  AuditMessage,
  BudgetLimits,
  JsonValue,
  LedgerWindow,
  RateLimitSpec,
  Store,
  WindowUsage,
} from '../store/types.js';
import { PII_KINDS, redactText } from './guards/redact.js';
import type { PlanLookup } from './plans.js';

/** The store's name for a policy's budget or rate limit. */
export function ledgerName(policy: string, name: string): string {
  return `${policy}/${name}`;
}

/** Extra lifetime of a reservation beyond its attempt's delay and (three lost tries of) its timeout. */
export const RESERVATION_MARGIN_MS = 5 * 60_000;

export interface GovernanceOptions {
  /** The clock (epoch ms); default `Date.now`. */
  now?: () => number;
  /**
   * To find a plan's `audit` settings (prompts, retention) and its providers' API-key variables by
   * plan hash; `current` (optional) is asked for the retention of a plan no longer known by hash.
   */
  plans?: Pick<PlanLookup, 'byHash'> & Partial<Pick<PlanLookup, 'current'>>;
  /** Where API-key variables are read from to scrub their values; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface SnapshotInput {
  policy: string;
  budgets: ApplicableBudget[];
  rateLimits: ApplicableRateLimit[];
}

export interface ReserveInput {
  policy: string;
  /** An attempt step's `reserve`; a reservation's `enforce: false` records it without ever refusing. */
  reservations: (Omit<Reservation, 'enforce'> & { enforce?: boolean })[];
  /** The decision's `governance.budgets`. */
  budgets: ApplicableBudget[];
  /**
   * Budgets that charge but do not refuse (the machine's `exempt`: their downgrade was applied),
   * for reservations without `enforce`.
   */
  exempt?: string[];
  /** The reservations' lifetime; default: `delayBeforeMs` + 3 × `timeoutMs` + 5 min (or 10 min). */
  ttlMs?: number;
  timeoutMs?: number;
  delayBeforeMs?: number;
}

export type ReserveResult =
  | { ok: true; replayed: boolean; expiresAt: number }
  | {
      ok: false;
      /** The budget's name in the plan. */
      budget: string;
      scopeValue: string | null;
      limit: BudgetLimit;
      /** `$500 per month`. */
      limitText: string;
      action: BudgetExceed['action'];
      /** Until the refusing limit's calendar window resets (a budget `wait` waits at most this long). */
      retryAfterMs: number;
      /** The refusing limit's window. */
      window: LedgerWindow;
      /** The ledger now, for the machine. */
      snapshot: GovernanceSnapshot;
    };

export interface SettleInput {
  settlements: Settlement[];
}

export interface SettleResult {
  keys: { key: string; action: 'commit' | 'release'; found: boolean; charged: boolean }[];
}

export interface AdmitInput {
  policy: string;
  /** The idempotency key: one admission per request. */
  requestId: string;
  uses: RateLimitUse[];
  /** The decision's `governance.rateLimits`. */
  rateLimits: ApplicableRateLimit[];
}

export type AdmitResult =
  | { ok: true; replayed: boolean }
  | {
      ok: false;
      rateLimit: string;
      scopeValue: string | null;
      limit: RateLimitPlan['limits'][number];
      limitText: string;
      /** Until the refusing window resets. */
      retryAfterMs: number;
      /** This request alone is over the limit: waiting cannot help. */
      neverFits: boolean;
      onExceed: RateLimitPlan['onExceed'];
      /** The refusing limit's window. */
      window: LedgerWindow;
    };

export interface AuditActivityInput {
  request: InferenceRequest;
  result: InferenceResult;
  /** The policy's `audit prompts`; default: the decision's, else the plan's (by `result.plan`), else `hashed`. */
  prompts?: PromptAudit;
  /** What guards did while the request ran (redactions applied, `after` checks), beyond the decision's. */
  guardActions?: readonly object[];
}

export interface AuditActivityResult {
  seq: number;
  hash: string;
  replayed: boolean;
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

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

function keepMessage(role: string, content: string, mode: PromptAudit): AuditMessage {
  switch (mode) {
    case 'full':
      return { role, content };
    case 'redacted':
      return { role, content: redactText(content, PII_KINDS).text };
    default:
      return { role, sha256: sha256(content) };
  }
}

/** The audit record of a finished request (before the store adds time, chain hashes and its own scrub). */
export function buildAuditRecord(
  request: InferenceRequest,
  result: InferenceResult,
  prompts: PromptAudit,
  guardActions: readonly JsonValue[] = [],
): AuditInput {
  const decision = result.decision;
  const messages: Message[] = request.messages ?? [];
  const answer = result.output?.content;
  const extra: Record<string, JsonValue> = {
    elapsedMs: result.elapsedMs,
    excluded: decision.excluded as unknown as JsonValue,
    rule: decision.rule,
    region: request.region ?? null,
    tags: (request.tags ?? {}) as JsonValue,
  };
  if (result.escalation !== undefined) extra.escalation = result.escalation as unknown as JsonValue;
  return {
    id: result.id,
    caller: { team: request.team ?? null, app: request.app ?? null, user: request.user ?? null },
    capability: request.capability ?? null,
    classification: request.classification ?? null,
    mode: request.mode ?? null,
    policy: result.policy,
    plan: result.plan,
    route: result.route,
    model: result.model,
    provider: result.provider,
    status: result.status,
    reason: result.reason,
    attempts: result.attempts.map((a) => ({
      attempt: a.attempt,
      model: a.model,
      provider: a.provider,
      endpoint: a.endpoint ?? null,
      outcome: a.outcome,
      errorClass: a.errorClass ?? null,
      error: a.error ?? null,
      status: a.status ?? null,
      ms: a.ms,
    })),
    usage: { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens },
    costNanos: result.costNanos,
    cost: result.cost,
    guards: [...(decision.guards as unknown as JsonValue[]), ...guardActions],
    budgets: decision.budgets as unknown as JsonValue[],
    rateLimits: decision.rateLimits as unknown as JsonValue[],
    prompts:
      prompts === 'none'
        ? { mode: 'none', messages: [], answer: null }
        : {
            mode: prompts,
            messages: messages.map((m) => keepMessage(m.role, m.content, prompts)),
            answer: answer === undefined ? null : keepMessage('assistant', answer, prompts),
          },
    extra,
  };
}

export function createGovernanceActivities(store: Store, options: GovernanceOptions = {}) {
  const now = options.now ?? (() => Date.now());
  const env = options.env ?? process.env;
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
      fresh.map((b) => ({
        budget: ledgerName(input.policy, b.name),
        policy: input.policy,
        name: b.name,
        scope: b.scope,
        limits: b.limits,
        onExceed: b.onExceed.action === 'downgrade' ? `downgrade ${b.onExceed.model}` : b.onExceed.action,
      })),
      now(),
    );
  }

  function secretValues(planHash: string): string[] {
    const plan = options.plans?.byHash(planHash)?.plan;
    if (plan === undefined) return [];
    const values: string[] = [];
    for (const provider of Object.values(plan.providers)) {
      const value = provider.apiKeyEnv ? env[provider.apiKeyEnv] : undefined;
      if (value) values.push(value);
    }
    return values;
  }

  return {
    async snapshot(input: SnapshotInput): Promise<GovernanceSnapshot> {
      await recordDefinitions(input);
      return readSnapshot(input);
    },

    async reserve(input: ReserveInput): Promise<ReserveResult> {
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
      const outcome = await store.reserve(reservations, limits, at, ttlMs);
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

    async settle(input: SettleInput): Promise<SettleResult> {
      const commits = new Map<string, { nanos: number; tokens: number }>();
      const releases = new Set<string>();
      for (const s of input.settlements) {
        if (s.action === 'commit') {
          if (!commits.has(s.key)) commits.set(s.key, { nanos: s.nanos, tokens: s.tokens });
        } else releases.add(s.key);
      }
      const keys: SettleResult['keys'] = [];
      const at = now();
      for (const [key, cost] of commits) {
        const outcome = await store.commit(key, cost.nanos, cost.tokens, at);
        keys.push({
          key,
          action: 'commit',
          found: outcome.found,
          charged: outcome.budgets.some((b) => b.charged),
        });
      }
      for (const key of releases) {
        if (commits.has(key)) continue;
        const outcome = await store.release(key, at);
        keys.push({ key, action: 'release', found: outcome.found, charged: false });
      }
      return { keys };
    },

    async admitRateLimits(input: AdmitInput): Promise<AdmitResult> {
      const limits: Record<string, RateLimitSpec[]> = {};
      const byLedgerName = new Map<string, ApplicableRateLimit>();
      for (const rate of input.rateLimits) {
        const name = ledgerName(input.policy, rate.name);
        byLedgerName.set(name, rate);
        limits[name] = rate.limits;
      }
      const uses = input.uses.map((u) => ({ ...u, rateLimit: ledgerName(input.policy, u.rateLimit) }));
      const outcome = await store.admit(input.requestId, uses, limits, now());
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

    async appendAudit(input: AuditActivityInput): Promise<AuditActivityResult> {
      const plan = options.plans?.byHash(input.result.plan)?.plan;
      const prompts =
        input.prompts ??
        (input.result.decision.audit as Decision['audit'] | undefined)?.prompts ??
        plan?.audit.prompts ??
        'hashed';
      // `retain N days` of the request's plan; of the policy's current plan when that one is no
      // longer known (a worker restarted after a policy change): kept forever only when the
      // policy says so, or when no plan of it is loaded.
      const retainDays =
        (plan ?? options.plans?.current?.(input.result.policy)?.plan)?.audit.retainDays ?? null;
      const record = buildAuditRecord(
        input.request,
        input.result,
        prompts,
        input.guardActions as readonly JsonValue[] | undefined,
      );
      const scrubbed = scrubSecrets(record, makeScrubber(secretValues(input.result.plan)));
      const outcome = await store.appendAudit({ ...scrubbed, retainDays }, now());
      return { seq: outcome.record.seq, hash: outcome.record.hash, replayed: outcome.replayed };
    },
  };
}

export type GovernanceActivities = ReturnType<typeof createGovernanceActivities>;

/** The ledger's definitions of a set of plans' budgets (what `switchyard budget show` prints limits from). */
export function budgetDefinitions(
  plans: Iterable<Pick<Plan, 'name' | 'budgets'>>,
): Parameters<Store['recordBudgets']>[0] {
  const out: Parameters<Store['recordBudgets']>[0] = [];
  for (const plan of plans) {
    for (const b of plan.budgets) {
      out.push({
        budget: ledgerName(plan.name, b.name),
        policy: plan.name,
        name: b.name,
        scope: b.scope,
        limits: b.limits,
        onExceed: b.onExceed.action === 'downgrade' ? `downgrade ${b.onExceed.model}` : b.onExceed.action,
      });
    }
  }
  return out;
}
