/**
 * The store: the budget ledger, the rate-limit counters and the audit trail behind one interface,
 * with two real backends (SQLite, the embedded default; PostgreSQL for many workers). See
 * docs/architecture.md, decisions 5 and 6.
 *
 * The store imports nothing from the rest of the project (its room may import nothing): the types
 * below are structurally compatible with the plan's (`Reservation`, `BudgetLimit`, `RateLimitUse`,
 * `RateLimitPlan['limits']`), so plan values pass straight in.
 *
 * Units: money in integer nano-dollars, tokens as integers, times as epoch milliseconds (UTC).
 * Every `now` parameter is injectable so tests can move the clock; it defaults to `Date.now()`.
 *
 * Budget and rate-limit names are opaque strings to the store. The governance activities qualify
 * them with the policy (`<policy>/<budget>`) because budgets belong to their policy.
 */

import type { FrontDoorStore, TrackedRequest } from './front-door-types.js';

export type * from './front-door-types.js';

/** Calendar windows in UTC: minute, hour, day (00:00), week (ISO: Monday 00:00), month (the 1st, 00:00). */
export type LedgerWindow = 'minute' | 'hour' | 'day' | 'week' | 'month';
export const LEDGER_WINDOWS: readonly LedgerWindow[] = ['minute', 'hour', 'day', 'week', 'month'];

// ---------------------------------------------------------------------------------------------
// Budget ledger

/** One budget's share of one attempt (the plan's `Reservation`). */
export interface LedgerReservation {
  budget: string;
  /** The request's value for the budget's scope; `null` = the one shared bucket. */
  scopeValue: string | null;
  /** `<request id>#<attempt>`: the same for every budget of one attempt. */
  key: string;
  nanos: number;
  tokens: number;
}

/** The plan's `BudgetLimit`. */
export interface LedgerLimit {
  kind: 'money' | 'tokens';
  /** Nano-dollars for `money`, tokens for `tokens`. */
  amount: number;
  window: LedgerWindow;
}

/** What `reserve` checks a budget against. */
export interface BudgetLimits {
  limits: LedgerLimit[];
  /**
   * `false`: record the reservation but never refuse it — for `on-exceed alert` budgets and for
   * budgets whose `downgrade` was already applied (the machine's `exempt`). Default `true`.
   */
  enforce?: boolean;
}

/** Counters of one budget for one scope value in one window. */
export interface WindowUsage {
  window: LedgerWindow;
  /** Epoch ms of the window's first instant, and of the next window's (= when it resets). */
  windowStart: number;
  windowEnd: number;
  spentNanos: number;
  reservedNanos: number;
  spentTokens: number;
  reservedTokens: number;
}

export type ReserveOutcome =
  | {
      ok: true;
      key: string;
      /** When the reservations lapse if neither committed nor released. */
      expiresAt: number;
      /** True when the key had already been reserved: nothing was counted again. */
      replayed: boolean;
    }
  | {
      ok: false;
      /** The first budget that refuses, and its first limit that would be exceeded. */
      budget: string;
      scopeValue: string | null;
      limit: LedgerLimit;
      /** That budget's counters in the limit's window, at the time of the refusal. */
      usage: WindowUsage;
      /** What was asked for against it. */
      nanos: number;
      tokens: number;
    };

export type ReservationState = 'reserved' | 'committed' | 'released' | 'expired';

export interface SettleOutcome {
  key: string;
  /** False when no reservation has this key (nothing was done). */
  found: boolean;
  budgets: {
    budget: string;
    scopeValue: string | null;
    /** The state before this call, and after it. */
    previous: ReservationState;
    state: ReservationState;
    /** For a commit: whether this call charged the cost (false when already committed). */
    charged: boolean;
    /** What is charged for this reservation (the actual cost once committed, else 0). */
    chargedNanos: number;
    chargedTokens: number;
  }[];
}

/** A budget's definition as the plans that use it say (for `switchyard budget show`). */
export interface BudgetDefinition {
  /** The ledger's budget name (`<policy>/<budget>`). */
  budget: string;
  policy: string;
  name: string;
  scope: string;
  limits: LedgerLimit[];
  onExceed: string;
  /** When a worker last recorded it (epoch ms). */
  updatedAt: number;
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/** The plan's `RateLimitUse`. */
export interface RateUse {
  rateLimit: string;
  scopeValue: string | null;
  requests: number;
  tokens: number;
}

/** One entry of the plan's `RateLimitPlan['limits']`. */
export interface RateLimitSpec {
  kind: 'requests' | 'tokens';
  amount: number;
  window: LedgerWindow;
}

export type AdmitOutcome =
  | { ok: true; replayed: boolean }
  | {
      ok: false;
      rateLimit: string;
      scopeValue: string | null;
      limit: RateLimitSpec;
      /** Until the window that refuses resets (the largest over every refusing limit). */
      retryAfterMs: number;
      /** True when this use alone is larger than the limit: no wait will ever admit it. */
      neverFits: boolean;
      used: number;
    };

export interface RateWindowUsage {
  window: LedgerWindow;
  windowStart: number;
  windowEnd: number;
  requests: number;
  tokens: number;
}

// ---------------------------------------------------------------------------------------------
// Audit

/** How a request ended, as its audit record says. */
export type AuditStatus = 'served' | 'rejected' | 'failed' | 'interrupted';
export const AUDIT_STATUSES: readonly AuditStatus[] = ['served', 'rejected', 'failed', 'interrupted'];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface AuditAttempt {
  attempt: number;
  model: string;
  provider: string | null;
  endpoint: string | null;
  outcome: 'answered' | 'error' | 'timeout';
  errorClass: string | null;
  error: string | null;
  status: number | null;
  ms: number;
}

/** A message as the policy's `audit prompts` keeps it. */
export interface AuditMessage {
  role: string;
  /** `full` and `redacted`: the text (PII-redacted for `redacted`). */
  content?: string;
  /** `hashed`: `sha256:<hex>` of the text. */
  sha256?: string;
}

export interface AuditPrompts {
  mode: 'hashed' | 'redacted' | 'full' | 'none';
  /** Empty for `none`. */
  messages: AuditMessage[];
  /** The answer that was served, kept the same way; `null` when none or for `none`. */
  answer: AuditMessage | null;
}

/** A request's routing facts, as plan/request.ts `routingFactsOf` makes them. */
export interface AuditRouting {
  capability: string | null;
  mode: string | null;
  classification: string | null;
  team: string | null;
  app: string | null;
  user: string | null;
  region: string | null;
  tags: Record<string, string>;
  inputTokens: number;
  maxTokens: number | null;
  latency: string | null;
}

/** What the caller appends: one per request (served, rejected or failed). */
export interface AuditInput {
  /** The request id: at most one record per id. */
  id: string;
  /** ISO 8601 (UTC); default: the time of the append. */
  time?: string;
  caller: { team: string | null; app: string | null; user: string | null };
  capability: string | null;
  classification: string | null;
  mode: string | null;
  policy: string;
  /** The plan hash (`sha256:…`). */
  plan: string;
  route: string | null;
  /** The model that finally answered; `null` when none did. */
  model: string | null;
  provider: string | null;
  /**
   * `interrupted`: a direct-mode request whose front door stopped before it finished; written by
   * `sweepInterrupted`, never by a request itself.
   */
  status: AuditStatus;
  reason: string | null;
  attempts: AuditAttempt[];
  usage: { inputTokens: number; outputTokens: number };
  costNanos: number;
  /** Decimal US dollars, as in the result. */
  cost: string;
  /** Guard effects of the decision and of the attempts (redactions, blocks, checks). */
  guards: JsonValue[];
  /** Budget effects (reserved, exempt, exceeded, committed, released). */
  budgets: JsonValue[];
  rateLimits: JsonValue[];
  prompts: AuditPrompts;
  /**
   * What the request's route and chain depend on, apart from its text (plan/request.ts
   * `RoutingFacts`), so that `switchyard replay` can decide it again under other plans. Missing
   * from records written before it was kept, and from `interrupted` records.
   */
  routing?: AuditRouting;
  /** Anything else worth keeping (escalation, elapsed time …). */
  extra?: { [key: string]: JsonValue };
  /**
   * The policy's `audit { retain N days }`: the record may be deleted N days after its `time`
   * (`pruneAudit`); `null` or missing = kept forever. Not part of the record or its hash.
   */
  retainDays?: number | null;
}

export interface AuditRecord extends Omit<AuditInput, 'retainDays'> {
  time: string;
  /** Position in the chain, from 1. */
  seq: number;
  /** The hash of the previous record (`sha256:` + 64 zeros for the first). */
  prevHash: string;
  /** `sha256:<hex>` of the canonical JSON of this record without `seq` and `hash` (so with `prevHash`). */
  hash: string;
}

export interface AuditReplayQuery {
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  team?: string;
  /** Also read the body (canonical JSON) of each record whose prompt may be kept in full. */
  withBody?: boolean;
}

/**
 * One audit record as `replay` reads it: the columns that copy its hashed fields (migration 008).
 * `routing` is `null` for a record without routing facts (written before they were kept, or
 * `interrupted`), and then so are the fields after it.
 */
export interface AuditReplayRow {
  seq: number;
  id: string;
  timeMs: number;
  policy: string;
  /** The model that answered. */
  model: string | null;
  /** Every model attempted or answering, in order: ` a b `. */
  models: string;
  status: AuditStatus;
  /** The caller's (the request's) team, app and user. */
  team: string | null;
  app: string | null;
  user: string | null;
  /**
   * Canonical JSON of the routing facts without `inputTokens`, `team`, `app` and `user`, with
   * `prompts`: how the audit kept the prompt.
   */
  routing: string | null;
  inputTokens: number | null;
  route: string | null;
  /** The rule that rejected the request at its decision; `null` when the decision did not. */
  rule: string | null;
  usageInput: number | null;
  usageOutput: number | null;
  costNanos: number | null;
  /** With `withBody`, for a record whose prompt may be kept in full: its canonical JSON. */
  body?: string;
}

export interface AuditAppendOutcome {
  record: AuditRecord;
  /** True when a record with this id already existed: it is returned unchanged. */
  replayed: boolean;
  /** The outcome of each settlement given with the record, in order. */
  settled?: SettleOutcome[];
}

/** A commit (the actual cost) or a release of one reservation key, made with an audit record. */
export type LedgerSettlement =
  { action: 'commit'; key: string; nanos: number; tokens: number } | { action: 'release'; key: string };

export type AuditVerifyOutcome =
  | {
      ok: true;
      /** Records verified: those after the floor. */
      count: number;
      /** Records pruned by retention before the floor: the chain now starts after #`pruned`. */
      pruned: number;
      head: string;
    }
  | {
      ok: false;
      /** Records checked before the broken one. */
      count: number;
      pruned: number;
      /** The first broken record (or the chain head when the end of the chain was cut off). */
      broken: { seq: number; id: string | null; reason: string };
    };

export interface AuditPruneOutcome {
  /** Records deleted by this call. */
  deleted: number;
  /** The last record pruned so far (by this call or before; 0 = none): the chain starts after it. */
  floorSeq: number;
  /**
   * Set when pruning stopped at an expired record that does not verify (its link, seq or hash is
   * wrong): it is left in place, so `verifyAudit` still reports it.
   */
  broken?: { seq: number; id: string; reason: string };
}

export interface AuditQuery {
  team?: string;
  app?: string;
  user?: string;
  policy?: string;
  /** Matches the model that answered or any attempted model. */
  model?: string;
  status?: AuditStatus;
  /** Epoch ms, inclusive / exclusive. */
  since?: number;
  until?: number;
  /** The most recent `limit` matches (default 100), returned oldest first. */
  limit?: number;
}

// ---------------------------------------------------------------------------------------------

export interface Store extends FrontDoorStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The store's URL with any password masked. */
  readonly url: string;

  /**
   * Reserves every reservation of one attempt, all or nothing: each enforced budget must satisfy
   * spent + reserved + this ≤ limit in the current window of each of its limits. Idempotent by
   * key: a key already reserved returns `ok` (`replayed`) and counts nothing again. A refusal is
   * not recorded, so reserving the key again later (after a budget `wait`) is checked afresh.
   * `ttlMs`: the reservations expire at `now + ttlMs` unless committed or released first.
   */
  reserve(
    reservations: LedgerReservation[],
    limits: Record<string, BudgetLimits>,
    now?: number,
    ttlMs?: number,
    track?: TrackedRequest,
  ): Promise<ReserveOutcome>;
  /**
   * Charges the actual cost to every reservation of `key` (in the windows the reservation was made
   * in). Idempotent: a committed reservation is never charged again (the first actual cost wins).
   * A released or expired reservation is still charged: the money was spent.
   */
  commit(key: string, actualNanos: number, actualTokens: number, now?: number): Promise<SettleOutcome>;
  /** Frees every reservation of `key` that is not committed. Idempotent; no effect after a commit. */
  release(key: string, now?: number): Promise<SettleOutcome>;
  /** One budget's counters for one scope value in the window of `window` that contains `now`. */
  usage(budget: string, scopeValue: string | null, window: LedgerWindow, now?: number): Promise<WindowUsage>;
  /** The same for several budgets and windows at once, in one consistent read. */
  usageMany(
    queries: { budget: string; scopeValue: string | null; windows: LedgerWindow[] }[],
    now?: number,
  ): Promise<WindowUsage[][]>;
  /** Every (budget, scope value) the ledger has seen. */
  budgetScopes(): Promise<{ budget: string; scopeValue: string | null }[]>;
  /** Records budget definitions (upsert by `budget`), so the CLI can show limits without the policies. */
  recordBudgets(definitions: Omit<BudgetDefinition, 'updatedAt'>[], now?: number): Promise<void>;
  budgetDefinitions(): Promise<BudgetDefinition[]>;

  /**
   * Counts one request's rate-limit uses, all or nothing, against counters shared by every worker.
   * Idempotent by `key` (the request id): a key already admitted returns `ok` (`replayed`). A
   * refusal is not recorded.
   *
   * `track` (here and in `reserve`): a direct-mode request's in-flight row, written as
   * `trackRequest` would, in the same transaction (one write instead of two on the hot path).
   */
  admit(
    key: string,
    uses: RateUse[],
    limits: Record<string, RateLimitSpec[]>,
    now?: number,
    track?: TrackedRequest,
  ): Promise<AdmitOutcome>;
  rateUsage(
    rateLimit: string,
    scopeValue: string | null,
    window: LedgerWindow,
    now?: number,
  ): Promise<RateWindowUsage>;

  /**
   * Appends one record to the hash chain; idempotent by request id. Secrets are scrubbed first.
   * `settle`: the request's last commits and releases (as `commit`/`release`, idempotent by key),
   * made in the same transaction, before the record (one write instead of two on the hot path).
   */
  appendAudit(input: AuditInput, now?: number, settle?: LedgerSettlement[]): Promise<AuditAppendOutcome>;
  /**
   * Recomputes the whole chain from its floor (the last record pruned, or the genesis hash);
   * names the first broken record.
   */
  verifyAudit(): Promise<AuditVerifyOutcome>;
  /**
   * Retention: deletes the longest prefix of the chain whose records are all past their expiry
   * (`expires_ms` ≤ `now`; a record kept forever holds back every later one) and moves the floor
   * to the last deleted record. Works in pages of at most 1000 records, each its own transaction.
   */
  pruneAudit(now?: number): Promise<AuditPruneOutcome>;
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** The last `n` records, oldest first. */
  tailAudit(n: number): Promise<AuditRecord[]>;
  getAudit(id: string): Promise<AuditRecord | null>;
  /**
   * The audit records of `query`, oldest first, as `replay` reads them (the replay columns, not
   * the body unless `withBody`): streamed in pages of at most `page` rows (SQLite: one statement's
   * iterator on a read-only connection; PostgreSQL: a cursor in one read-only transaction), so
   * memory stays flat however long the trail.
   */
  replayRows(query: AuditReplayQuery, page?: number): AsyncIterable<AuditReplayRow[]>;

  /**
   * Deletes reservations settled before `before` (epoch ms), live ones that expired before it, and
   * rate-limit admissions made before it. Their keys are then forgotten: prune well past any retry.
   */
  prune(before: number): Promise<{ reservations: number; admissions: number }>;
  /** Applied migration versions, oldest first. */
  migrations(): Promise<{ version: number; name: string }[]>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /**
   * `false`: refuse to create a missing SQLite file (the CLI's read commands); default `true`
   * (creates the file and its directory).
   */
  create?: boolean;
  /** More secret values to scrub from audit records (besides those found in the environment). */
  secrets?: string[];
  /** The environment secret values are looked for in; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** PostgreSQL: the pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL: a schema to use instead of `public` (created when missing). */
  schema?: string;
}

/** Default reservation lifetime when the caller gives none. */
export const DEFAULT_RESERVATION_TTL_MS = 10 * 60_000;
