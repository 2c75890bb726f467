/**
 * What the evaluator produces: the per-request **decision** (route, candidate chain, exclusions,
 * guard and budget effects) and, after execution, the **result** (docs/running.md). Both are plain
 * JSON.
 *
 * A decision carries everything the execution machine needs (resolved call options, prices,
 * provider queues, escalation conditions, applicable budgets): a workflow holds the decision, never
 * the whole plan.
 */
import type {
  BudgetExceed,
  BudgetLimit,
  ExecutionMode,
  ModelPlan,
  OutputCondition,
  PiiKind,
  PromptAudit,
  RateLimitPlan,
  Scope,
  Window,
} from './types.js';

// What the ledger says, as the machine sees it (governance.ts checks limits against it).

/** Counters of one budget for the request's scope value; absent numbers are 0. */
export interface BudgetUsage {
  spentNanos?: number;
  reservedNanos?: number;
  spentTokens?: number;
  reservedTokens?: number;
  /** Until these counters' window resets (ms from when the snapshot was taken), when the ledger knows. */
  resetsInMs?: number;
  /**
   * Counters per window, for budgets whose limits use different windows (`$500 per month` and
   * `20M tokens per day`); a window missing here uses the top-level counters.
   */
  byWindow?: Partial<Record<Window, BudgetUsage>>;
}

/** Counters of one rate limit in its current window(s). */
export interface RateLimitUsage {
  requests?: number;
  tokens?: number;
  /** Until these counters' window resets (ms from when the snapshot was taken), when the ledger knows. */
  resetsInMs?: number;
  byWindow?: Partial<Record<Window, RateLimitUsage>>;
}

/** What the ledger says, already resolved for this request's scope values, by budget / rate-limit name. */
export interface GovernanceSnapshot {
  budgets?: Record<string, BudgetUsage>;
  rateLimits?: Record<string, RateLimitUsage>;
}

export type ChainRole = 'primary' | 'fallback' | 'escalation' | 'downgrade';

/**
 * One candidate of the chain, with its call options resolved (docs/language.md §4.6 defaults
 * applied).
 */
export interface ChainEntry {
  model: string;
  role: ChainRole;
  /** The provider's own model id (`name "llama3.1:8b"`). */
  id: string;
  provider: string;
  /** The provider's task queue. */
  queue: string;
  private: boolean;
  /** Per-attempt timeout: the call option, else the provider's, else 60 s. */
  timeoutMs: number;
  /** Default 0. */
  retries: number;
  /** Delay before the first retry, doubled for each further one; default 1 s. */
  backoffMs: number;
  /** The call option `max-tokens`, else the request's `maxTokens`, else `null` (provider default). */
  maxTokens: number | null;
  context: number | null;
  price: ModelPlan['price'];
  /** `escalate … when`: the condition as written, and the condition itself. */
  when?: string;
  condition?: OutputCondition;
  /** PII kinds the `before` guards redact from what is sent to this model. */
  redact: PiiKind[];
  /** Names of the `after` guards that check this model's answers. */
  afterGuards: string[];
  /** For a primary that is a promoted fallback (its primary was removed): `fallback`. */
  promotedFrom?: 'fallback';
}

/** A model removed from the chain, with why and by which rule. */
export interface Exclusion {
  model: string;
  role: 'primary' | 'split' | 'fallback' | 'escalation' | 'downgrade';
  reason: string;
  /** `require private when …`, `guard secrets`, … */
  rule: string;
}

export interface GuardEffect {
  guard: string;
  phase: 'before' | 'after';
  action: 'block' | 'max-input' | 'redact' | 'check';
  /** `rejected`: the request was refused; `removed`: `models` left the chain; `applies`: runs on `models`. */
  outcome: 'rejected' | 'removed' | 'applies';
  models: string[];
  /** For `redact`. */
  kinds?: PiiKind[];
  /** For `check` (`after` guards): what is checked. */
  checks?: ('schema' | 'block')[];
  detail?: string;
}

export interface BudgetEffect {
  budget: string;
  /** Overall attempt number the effect belongs to. */
  attempt: number;
  model: string;
  outcome: 'reserved' | 'exempt' | 'exceeded' | 'committed' | 'released';
  /** For `exceeded`: what `on-exceed` did. */
  action?: BudgetExceed['action'];
  nanos: number;
  tokens: number;
  /** For `exceeded`: the limit, e.g. `$500 per month`. */
  limit?: string;
}

export interface RateLimitEffect {
  rateLimit: string;
  outcome: 'admitted' | 'exceeded' | 'waited';
  action?: 'reject' | 'wait';
  requests: number;
  tokens: number;
  limit?: string;
  waitedMs?: number;
}

/** A plan budget as it applies to one request. */
export interface ApplicableBudget {
  name: string;
  scope: Scope;
  /** The request's value for the scope (`team` → `"support"`); `null` when the request lacks it (one shared bucket). */
  scopeValue: string | null;
  limits: BudgetLimit[];
  onExceed: BudgetExceed;
}

export interface ApplicableRateLimit {
  name: string;
  scope: Scope;
  scopeValue: string | null;
  limits: RateLimitPlan['limits'];
  onExceed: RateLimitPlan['onExceed'];
}

export interface SplitPick {
  targets: { model: string; weight: number }[];
  /** The targets left after filtering, with their weights. */
  remaining: { model: string; weight: number }[];
  /** `null` when no split target remained (the first remaining fallback became the primary). */
  picked: string | null;
}

export interface Decision {
  /** The request id. */
  id: string;
  policy: string;
  /** The plan's hash. */
  plan: string;
  route: string | null;
  /**
   * The chosen route's execution mode (`null` when no route was chosen). Only the HTTP front door
   * honours `direct`; requests started through Temporal are durable whatever it says.
   */
  execution: ExecutionMode | null;
  /** The chosen route's condition as written; `null` when chosen by `otherwise` or none. */
  matched: string | null;
  via: 'when' | 'otherwise' | null;
  status: 'planned' | 'rejected';
  reason: string | null;
  /** The rule that rejected the request: `otherwise`, `require …`, `guard NAME`. */
  rule: string | null;
  inputTokens: number;
  /** The request's own `maxTokens`, `null` when absent. */
  requestMaxTokens: number | null;
  deadlineMs: number | null;
  split: SplitPick | null;
  /** Primary, fallbacks, escalations: in that order. */
  chain: ChainEntry[];
  excluded: Exclusion[];
  guards: GuardEffect[];
  /** Filled during execution. */
  budgets: BudgetEffect[];
  /** Filled during execution. */
  rateLimits: RateLimitEffect[];
  governance: {
    budgets: ApplicableBudget[];
    rateLimits: ApplicableRateLimit[];
    /** The resolved entry of every `downgrade` target the request may use. */
    downgrades: Record<string, ChainEntry>;
    /** `downgrade` targets this request may not use (removed by `require` or a guard), with why. */
    downgradeBlocked: Record<string, string>;
  };
  /** The plan's `audit` settings the request's audit record follows (so nobody needs the plan for it). */
  audit: { prompts: PromptAudit };
}

// ---------------------------------------------------------------------------------------------
// Execution: what the caller reports, what the machine asks for

export type ErrorClass = 'retryable' | 'retry-after' | 'non-retryable' | 'context-length' | 'timeout';

export interface AnswerOutput {
  truncated: boolean;
  empty: boolean;
  invalid: boolean;
  /** Output tokens. */
  tokens: number;
  content?: string;
  finishReason?: string;
  /** The content was longer than the activity's limit and was cut (payloads stay small). */
  contentTruncated?: boolean;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export type AttemptResult =
  | { kind: 'answered'; output: AnswerOutput; usage: Usage; ms: number; endpoint?: string }
  | {
      kind: 'error';
      errorClass: ErrorClass;
      status?: number;
      retryAfterMs?: number;
      message: string;
      ms: number;
      endpoint?: string;
    };

/** Reported after a `wait` step: how long the caller actually waited. */
export interface Waited {
  kind: 'waited';
  ms: number;
}

/**
 * Reported instead of an attempt's result when the ledger refused it: the snapshot the machine
 * admitted the attempt on is advisory, `reserve` (budgets) and `admit` (rate limits) in the store
 * decide. The machine runs that limit's `on-exceed` for the pending attempt (downgrade, wait,
 * reject; `alert` budgets never refuse). Nothing of the attempt was reserved or admitted.
 */
export type Refused = {
  kind: 'refused';
  /** The ledger as it is now (replaces the machine's counters); absent: keep the old snapshot. */
  snapshot?: GovernanceSnapshot;
  /** Until the refusing window resets, as the store counts it. */
  retryAfterMs?: number;
  /** The window of the limit that refused (to name it); default: the first limit the snapshot says is over, else the first. */
  window?: Window;
} & (
  | { budget: string; rateLimit?: undefined }
  | {
      rateLimit: string;
      budget?: undefined;
      /** This request alone is over the limit: no wait will ever admit it. */
      neverFits?: boolean;
    }
);

export interface WorstCase {
  /** input tokens × input price + output estimate × output price, each rounded up to a nano-dollar. */
  nanos: number;
  /** input tokens + output estimate. */
  tokens: number;
  /** max-tokens of the call, else the model's context minus the input, else 0. */
  outputTokens: number;
}

/** Ledger intents. Keys are `<request id>#<attempt>`: one reservation per attempt, so no retry is charged twice. */
export interface Reservation {
  budget: string;
  scopeValue: string | null;
  key: string;
  nanos: number;
  tokens: number;
  /**
   * Whether the ledger may refuse it: false for `on-exceed alert` budgets and for budgets whose
   * `downgrade` was applied (they charge but never refuse).
   */
  enforce: boolean;
}

export type Settlement =
  | {
      action: 'commit';
      budget: string;
      scopeValue: string | null;
      key: string;
      nanos: number;
      tokens: number;
    }
  | { action: 'release'; budget: string; scopeValue: string | null; key: string };

export interface RateLimitUse {
  rateLimit: string;
  scopeValue: string | null;
  requests: number;
  tokens: number;
}

export interface AttemptStep {
  step: 'attempt';
  /** 1-based over the whole request. */
  attempt: number;
  /** 1-based for this model. */
  attemptOfModel: number;
  model: string;
  id: string;
  provider: string;
  queue: string;
  role: ChainRole;
  /** Already capped to what is left of the deadline. */
  timeoutMs: number;
  maxTokens: number | null;
  /** The worst case reserved for this attempt. */
  estimate: WorstCase;
  /** Wait this long before calling (backoff or Retry-After). */
  delayBeforeMs: number;
  redact: PiiKind[];
  afterGuards: string[];
  /**
   * What must see this attempt's whole answer before any of it reaches a streaming caller: the
   * first `after` guard on it (`guard NAME`), else the first escalation rule its answer is checked
   * against (`escalate MODEL when …`); `null` when its tokens may be streamed as they come
   * (docs/language.md §6.4). See `bufferedBy` in streaming.ts.
   */
  bufferedBy: string | null;
  reserve: Reservation[];
  rateLimits: RateLimitUse[];
  settle: Settlement[];
}

export interface WaitStep {
  step: 'wait';
  limit: 'budget' | 'rate-limit';
  name: string;
  window: Window;
  /** Longest useful wait: the rate limit's `wait` duration or what is left of the deadline; `null` = until the window resets. */
  maxWaitMs: number | null;
  /**
   * Until the window resets, when the ledger said so (its snapshot or its refusal); absent: the
   * caller computes it from the calendar window (`waitLength` in windows.ts).
   */
  retryAfterMs?: number;
  settle: Settlement[];
}

export interface DoneStep {
  step: 'done';
  result: InferenceResult;
  settle: Settlement[];
}

export type Step = AttemptStep | WaitStep | DoneStep;

export interface AttemptRecord {
  attempt: number;
  model: string;
  provider: string;
  role: ChainRole;
  endpoint?: string;
  outcome: 'answered' | 'error' | 'timeout';
  error?: string;
  errorClass?: ErrorClass;
  status?: number;
  ms: number;
  delayBeforeMs: number;
  timeoutMs: number;
}

/** The result of a request (docs/running.md). */
export interface InferenceResult {
  id: string;
  status: 'served' | 'rejected' | 'failed';
  policy: string;
  plan: string;
  route: string | null;
  model: string | null;
  provider: string | null;
  output: AnswerOutput | null;
  /** Summed over every answered attempt (an escalated request pays for both answers), like `cost`. */
  usage: Usage;
  /** Decimal US dollars. */
  cost: string;
  costNanos: number;
  attempts: AttemptRecord[];
  reason: string | null;
  /** Set when an escalation was tried or skipped. */
  escalation?: {
    from: string;
    to: string;
    when: string;
    outcome: 'answered' | 'failed' | 'skipped';
    reason?: string;
  };
  /** Elapsed time as the machine accounted it: attempts' `ms`, backoff delays and waits. */
  elapsedMs: number;
  decision: Decision;
}

/** What a guard did to one attempt (for the audit record). */
export interface AttemptGuardAction {
  attempt: number;
  model: string;
  phase: 'before' | 'after';
  /** `redact`: PII replaced in what was sent; `check`: an `after` guard's schema or block check. */
  action: 'redact' | 'check';
  guard?: string;
  /** For `redact`: how many of each kind were replaced. */
  counts?: Partial<Record<PiiKind, number>>;
  check?: 'schema' | 'block';
  ok?: boolean;
  detail?: string;
}
