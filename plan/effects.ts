/**
 * What the request driver (driver.ts) asks of the world, and what it gets back: the decision, the
 * ledger, the attempt, the audit record, time. The Temporal workflow answers with activities and
 * workflow timers, the front door's direct runner with the same activity functions called
 * in-process and real timers. These are the activities' inputs and outputs; `contract/`
 * re-exports them, with the activity interfaces, to every room that implements or calls them
 * (plan/ imports nothing outside itself, so they are defined here).
 */
import type {
  AnswerOutput,
  ApplicableBudget,
  ApplicableRateLimit,
  AttemptGuardAction,
  AttemptResult,
  Decision,
  GovernanceSnapshot,
  InferenceResult,
  RateLimitUse,
  Reservation,
  Settlement,
} from './trace.js';
import type {
  BudgetExceed,
  BudgetLimit,
  InferenceRequest,
  Message,
  PiiKind,
  PromptAudit,
  RateLimitPlan,
  Window,
} from './types.js';

/**
 * Which caller waits for a streamed request: its id, and — when the front door is in another
 * process than the worker that runs the attempt — the front door's relay URL.
 */
export interface StreamTarget {
  requestId: string;
  /** `http://host:port/…` of the front door's relay endpoint; absent = in-process only. */
  relay?: string;
}

// ---------------------------------------------------------------------------------------------
// The decision

/** What the driver needs of the decision step (the `decideRequest` activity returns more). */
export interface Decided {
  /** The plan that decided; `null` when there is no plan for the request's policy. */
  planHash: string | null;
  decision: Decision | null;
  /** Why there is no decision (`no policy named "x" is loaded`). */
  reason?: string;
  /** `false` only in benchmarks that measure what the audit record costs (never in production). */
  audit?: boolean;
}

/** Where a running request is (the workflow's `status` query). */
export interface RequestStatus {
  phase: 'deciding' | 'waiting' | 'attempting' | 'done';
  planHash: string | null;
  route: string | null;
  /** The attempt in flight (or about to start), if any. */
  current: { attempt: number; model: string; queue: string } | null;
  attempts: number;
  elapsedMs: number;
}

// ---------------------------------------------------------------------------------------------
// The attempt

/** Input of one `attempt` activity: one call to one model, everything else is looked up by the worker. */
export interface AttemptInput {
  requestId: string;
  /** 1-based over the request (the machine's numbering); Temporal's own retries of a lost attempt keep it. */
  attempt: number;
  /** The plan that decided the request; the worker resolves the model and its provider from it. */
  planHash: string;
  /** The model's name in the plan (not the provider's id). */
  model: string;
  /** The request's messages as written; the activity redacts them for this model (`redact`). */
  messages: Message[];
  maxTokens: number | null;
  temperature?: number;
  /** The attempt's timeout, already capped by what is left of the deadline. */
  timeoutMs: number;
  /** The step's `redact`: PII kinds the `before` guards remove from what is sent to this model. */
  redact?: PiiKind[];
  /** The step's `afterGuards`: the plan's `after` guards (by name) that check this model's answer. */
  afterGuards?: string[];
  /**
   * The caller streams this attempt's text (docs/language.md §6.4): the activity opens a
   * sink through its relay and writes the model's text as it comes. Absent when nobody streams, or
   * when the answer must be checked before it is released (the step is buffered).
   */
  stream?: StreamTarget;
}

/** An answer's output as the attempt reports it: the machine's facts plus the text. */
export interface AttemptOutput extends AnswerOutput {
  content: string;
  finishReason: string;
  /** The content was longer than the activity's limit and was cut (payloads stay small). */
  contentTruncated?: boolean;
}

/**
 * What an attempt reports: the machine's {@link AttemptResult}. Provider errors are results, not
 * failures: the activity classifies them once and returns them, so that retries, fallbacks and
 * escalations follow the plan (docs/language.md §6) in the shared machine. The activity fails
 * only when something is wrong with the attempt itself (the worker died, the plan is not loaded).
 */
export type AttemptOutcome = AttemptResult & {
  /** What guards did (redactions, `after` checks), for the audit record. */
  guards?: AttemptGuardAction[];
  /**
   * Some of this attempt's text reached the caller (docs/language.md §6.4): should the
   * attempt fail, no fallback may follow it into the started stream.
   */
  streamed?: boolean;
  /**
   * The caller went away and the call was cancelled (direct mode): an `answered` outcome then
   * carries what the model produced until then, so it is charged and audited.
   */
  cancelled?: boolean;
};

// ---------------------------------------------------------------------------------------------
// Governance: the ledger and the audit log (docs/language.md §6 step 7)

/** Budgets and rate limits of a decision, for the ledger (names are the plan's; the store qualifies them). */
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

export type ReserveOutput =
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
      window: Window;
      /** The ledger now, for the machine. */
      snapshot: GovernanceSnapshot;
    };

export interface SettleInput {
  settlements: Settlement[];
}

export interface SettleOutput {
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

export type AdmitOutput =
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
      window: Window;
    };

/** The `appendAudit` activity's input: a finished request (the store's record is built from it). */
export interface AppendAuditInput {
  request: InferenceRequest;
  result: InferenceResult;
  /** The policy's `audit prompts`; default: the decision's, else the plan's (by `result.plan`), else `hashed`. */
  prompts?: PromptAudit;
  /** What guards did while the request ran (redactions applied, `after` checks), beyond the decision's. */
  guardActions?: AttemptGuardAction[];
  /** When the driver started the request (epoch ms, its clock): the metrics' whole-request time. */
  startedAtMs?: number;
}

export interface AppendAuditOutput {
  seq: number;
  hash: string;
  replayed: boolean;
}
