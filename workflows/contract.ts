/**
 * What the request workflow needs from the outside world, declared here by the workflow (its
 * consumer) as plain types: the activities it calls, their inputs and outputs, its own input, its
 * queries. Types, and three names as constants.
 *
 * `activities/` implements these shapes without importing this file (rooms: activities may import
 * `plan/` only); `worker/worker.ts` checks at compile time that the implementations fit
 * (`satisfies`), so the two cannot drift apart silently.
 */
import type {
  ApplicableBudget,
  ApplicableRateLimit,
  AttemptResult,
  Decision,
  GovernanceSnapshot,
  InferenceRequest,
  InferenceResult,
  Message,
  PiiKind,
  PromptAudit,
  RateLimitUse,
  Reservation,
  Settlement,
  Window,
  AttemptGuardAction,
} from '../plan/index.js';

export type { AttemptGuardAction } from '../plan/index.js';

/** The workflow's input: the request of API.md (with its id), never the plan. */
export interface RequestWorkflowInput {
  request: InferenceRequest;
}

/**
 * The result of the `decideRequest` local activity: the current plan for the request's policy
 * (by hash) and the decision it makes. `null`s when the worker has no policy of that name.
 */
export interface DecideOutput {
  planHash: string | null;
  decision: Decision | null;
  /** Why there is no decision (`no policy named "x" is loaded`). */
  reason?: string;
  /**
   * Whether the namespace has the Switchyard search attributes ({@link SEARCH_ATTRIBUTES}): the
   * workflow upserts them only then (an unknown attribute would fail its workflow task). Absent:
   * false.
   */
  searchAttributes?: boolean;
  /**
   * How the governance activities run: `local` (default; local activities of the workflow's
   * worker) or `remote` (ordinary activities on the workflow task queue). Decided by the worker,
   * recorded here so that a replay makes the same calls.
   */
  governance?: 'local' | 'remote';
  /** `false` only in benchmarks that measure what the audit record costs (never in production). */
  audit?: boolean;
  /**
   * Provider task queues whose attempts the deciding worker runs itself, as local activities
   * (`localAttempt`): it serves those queues in-process. An attempt then costs no round trip
   * through the server (docs/running.md "Latency"). Recorded here so a replay makes the same
   * calls; a worker that replays the request without serving the queue answers `NotLocal` and the
   * attempt goes to the queue as an ordinary activity. Absent: none.
   */
  localQueues?: string[];
}

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
}

/**
 * What an attempt reports: the machine's {@link AttemptResult}. Provider errors are results, not
 * failures: the activity classifies them once and returns them, so that retries, fallbacks and
 * escalations follow the plan (LANGUAGE.md §3.2) in the shared machine. The activity fails only
 * when something is wrong with the attempt itself (the worker died, the plan is not loaded).
 */
export type AttemptOutcome = AttemptResult & { guards?: AttemptGuardAction[] };

/** Activities on a provider's task queue. */
export interface AttemptActivities {
  attempt(input: AttemptInput): Promise<AttemptOutcome>;
}

/** The failure type of a `localAttempt` on a worker that does not serve the attempt's queue. */
export const NOT_LOCAL = 'NotLocal';

/** Budgets and rate limits of a decision, for the ledger (names are the plan's; the store qualifies them). */
export interface GovernanceInput {
  policy: string;
  budgets: ApplicableBudget[];
  rateLimits: ApplicableRateLimit[];
}

export interface ReserveInput {
  policy: string;
  reservations: Reservation[];
  budgets: ApplicableBudget[];
  timeoutMs?: number;
  delayBeforeMs?: number;
}

export type ReserveOutput =
  | { ok: true; replayed: boolean }
  | {
      ok: false;
      budget: string;
      limitText: string;
      retryAfterMs: number;
      window: Window;
      snapshot: GovernanceSnapshot;
    };

export interface AdmitInput {
  policy: string;
  /** The idempotency key: one admission per request. */
  requestId: string;
  uses: RateLimitUse[];
  rateLimits: ApplicableRateLimit[];
}

export type AdmitOutput =
  | { ok: true; replayed: boolean }
  | {
      ok: false;
      rateLimit: string;
      limitText: string;
      retryAfterMs: number;
      neverFits: boolean;
      window: Window;
    };

export interface SettleOutput {
  keys: { key: string; action: 'commit' | 'release'; found: boolean; charged: boolean }[];
}

export interface AuditInput {
  request: InferenceRequest;
  result: InferenceResult;
  /** Default: the decision's `audit.prompts`. */
  prompts?: PromptAudit;
  /** What guards did during the attempts (redactions, `after` checks). */
  guardActions?: AttemptGuardAction[];
}

export interface AuditOutput {
  seq: number;
  hash: string;
  replayed: boolean;
}

/**
 * The governance activities (ARCHITECTURE.md decisions 5–6), each atomic and idempotent in the
 * store: `reserve` by reservation key, `admitRateLimits` by request id, `settle` by key,
 * `appendAudit` by request id — so retries (Temporal's, or a replayed local activity) are safe.
 */
export interface GovernanceActivities {
  snapshot(input: GovernanceInput): Promise<GovernanceSnapshot>;
  reserve(input: ReserveInput): Promise<ReserveOutput>;
  settle(input: { settlements: Settlement[] }): Promise<SettleOutput>;
  admitRateLimits(input: AdmitInput): Promise<AdmitOutput>;
  appendAudit(input: AuditInput): Promise<AuditOutput>;
}

/**
 * Local activities, run by the worker that runs the workflow: the decision, and the governance
 * activities (also registered as ordinary activities on the workflow task queue, for workers that
 * run them `remote`).
 */
export interface LocalActivities extends GovernanceActivities {
  decideRequest(request: InferenceRequest): Promise<DecideOutput>;
  /** The `attempt` activity run by the workflow's own worker (a queue in `localQueues`). */
  localAttempt(input: AttemptInput): Promise<AttemptOutcome>;
}

/**
 * Search attributes every request workflow sets (Keyword): `temporal workflow list --query
 * 'SwitchyardTeam="support" and SwitchyardStatus="failed"'`. The namespace must have them:
 * `switchyard dev` registers them (`--search-attribute NAME=Keyword`), workers add them when they
 * may (the operator API), and skip them when the namespace lacks them.
 */
export const SEARCH_ATTRIBUTES = {
  team: 'SwitchyardTeam',
  policy: 'SwitchyardPolicy',
  route: 'SwitchyardRoute',
  model: 'SwitchyardModel',
  status: 'SwitchyardStatus',
} as const;

/** Names shared with the client (which may not import this room). */
export const WORKFLOW_TYPE = 'requestWorkflow';
export const DECISION_QUERY = 'decision';
export const STATUS_QUERY = 'status';

export interface RequestStatus {
  phase: 'deciding' | 'waiting' | 'attempting' | 'done';
  planHash: string | null;
  route: string | null;
  /** The attempt in flight (or about to start), if any. */
  current: { attempt: number; model: string; queue: string } | null;
  attempts: number;
  elapsedMs: number;
}
