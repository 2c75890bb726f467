/**
 * The policy plan: the contract between authoring (dsl/) and execution (workflows/, activities/).
 *
 * A plan is plain JSON, validated against `plan/plan.schema.json`, canonical (same source, same
 * bytes) and identified by the sha256 of its canonical form. Everything here must stay
 * JSON-serialisable: no `undefined` inside arrays, no BigInt, no Date, no functions.
 *
 * Units, fixed for the whole plan:
 * - money: integer nano-dollars (1 $ = 1_000_000_000), as JSON numbers (safe up to ~9e6 $);
 * - durations: integer milliseconds;
 * - tokens: integers.
 */

export const PLAN_FORMAT = 'switchyard.plan/v1' as const;

export type ProviderKind = 'ollama' | 'openai' | 'embedded';
export type Mode = 'interactive' | 'batch';
export type Classification = 'public' | 'internal' | 'confidential' | 'restricted';
export const CLASSIFICATIONS: readonly Classification[] = [
  'public',
  'internal',
  'confidential',
  'restricted',
];
export const MODES: readonly Mode[] = ['interactive', 'batch'];
export type Scope = 'team' | 'app' | 'user' | 'policy';
export type Window = 'minute' | 'hour' | 'day' | 'week' | 'month';
export type PiiKind = 'email' | 'phone' | 'credit-card' | 'iban' | 'ip-address';
export type PromptAudit = 'hashed' | 'redacted' | 'full' | 'none';
/**
 * How a route's requests run (docs/language.md §4.9): `durable`, one Temporal
 * workflow per request; `direct`, the HTTP front door drives the same machine in its own process.
 */
export type ExecutionMode = 'durable' | 'direct';
export const EXECUTION_MODES: readonly ExecutionMode[] = ['durable', 'direct'];

export interface Plan {
  format: typeof PLAN_FORMAT;
  /** The policy's name. */
  name: string;
  /** The policy's `version`, integer or string; `null` when the policy has none. */
  version: number | string | null;
  /** `sha256:<hex>` of the canonical JSON of this plan with `hash` set to the empty string. */
  hash: string;
  owner: string | null;
  description: string | null;
  /** Every provider a model of this plan uses, by name. */
  providers: Record<string, ProviderPlan>;
  /** Every model the policy references (routes, downgrades, guards), by name. */
  models: Record<string, ModelPlan>;
  budgets: BudgetPlan[];
  rateLimits: RateLimitPlan[];
  guards: GuardPlan[];
  requires: RequirePlan[];
  /** In source order: the first whose `when` holds is chosen. */
  routes: RoutePlan[];
  /** Applied after every route failed to match; `null` = reject with a default message. */
  otherwise: OtherwisePlan | null;
  audit: AuditPlan;
}

export interface ProviderPlan {
  name: string;
  kind: ProviderKind;
  endpoints: string[];
  /** Task queue for this provider's activities; defaults to `provider-<name>`. */
  queue: string;
  /** Requests in flight per endpoint; default 1 for embedded, 4 otherwise. */
  concurrency: number;
  /** Default per-attempt timeout; `null` = 60 s. */
  timeoutMs: number | null;
  private: boolean;
  region: string | null;
  /** Name of the environment variable that holds the API key (never the key itself). */
  apiKeyEnv: string | null;
  /** For `embedded`: path of the GGUF file, relative to the directory of the file the plan was compiled from. */
  modelFile: string | null;
}

export interface Price {
  /** Nano-dollars per `perTokens` tokens. */
  nanos: number;
  perTokens: number;
}

export interface ModelPlan {
  name: string;
  provider: string;
  /** The provider's own model id (`name "llama3.1:8b"`); defaults to the model's name. */
  id: string;
  version: string | null;
  /** Context window in tokens; `null` when unknown. */
  context: number | null;
  capabilities: string[];
  /** `null` = free. */
  price: { input: Price; output: Price } | null;
}

/** Call options after a target; absent fields take the defaults of docs/language.md §4.6. */
export interface CallOptions {
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  maxTokens?: number;
}

export interface CallTarget extends CallOptions {
  model: string;
}

export interface SplitTarget extends CallTarget {
  /** Percent, 1..100; the targets of one split sum to 100. */
  weight: number;
}

export type Primary = { kind: 'use'; target: CallTarget } | { kind: 'split'; targets: SplitTarget[] };

export interface EscalationPlan extends CallTarget {
  when: OutputCondition;
  /** The condition as written, for traces. */
  whenText: string;
}

export interface RoutePlan {
  name: string;
  when: Condition;
  whenText: string;
  primary: Primary;
  fallbacks: CallTarget[];
  escalations: EscalationPlan[];
  deadlineMs: number | null;
  /** The route's `execution`, else its policy's, else `durable`. */
  execution: ExecutionMode;
}

export type OtherwisePlan = { kind: 'reject'; message: string | null } | { kind: 'route'; route: string };

// ---------------------------------------------------------------------------------------------
// Conditions

export type Value =
  | { kind: 'string'; value: string }
  /** Bare names: `interactive`, `confidential`. */
  | { kind: 'name'; value: string }
  | { kind: 'integer'; value: number }
  | { kind: 'tokens'; value: number }
  | { kind: 'duration'; ms: number }
  | { kind: 'money'; nanos: number };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * Request fields: `capability`, `mode`, `classification`, `team`, `app`, `user`, `region`,
 * `tag.NAME`, `input.tokens`, `max-tokens`, `latency`.
 */
export type Condition =
  | { op: 'true' }
  | { op: 'and'; args: Condition[] }
  | { op: 'or'; args: Condition[] }
  | { op: 'not'; arg: Condition }
  | { op: 'compare'; field: string; cmp: CompareOp; value: Value }
  | { op: 'in'; field: string; values: Value[] };

/** Only after `escalate … when`. */
export type OutputCondition =
  | { op: 'and'; args: OutputCondition[] }
  | { op: 'or'; args: OutputCondition[] }
  | { op: 'not'; arg: OutputCondition }
  | { op: 'output'; field: 'truncated' | 'empty' | 'invalid' }
  | { op: 'output-tokens'; cmp: CompareOp; value: number };

// ---------------------------------------------------------------------------------------------
// Governance

export interface BudgetLimit {
  kind: 'money' | 'tokens';
  /** Nano-dollars for `money`, tokens for `tokens`. */
  amount: number;
  window: Window;
}

export type BudgetExceed =
  { action: 'reject' } | { action: 'downgrade'; model: string } | { action: 'wait' } | { action: 'alert' };

export interface BudgetPlan {
  name: string;
  scope: Scope;
  limits: BudgetLimit[];
  onExceed: BudgetExceed;
}

export interface RateLimitPlan {
  /** `rate-limit NAME per …`; unnamed ones are `rate-limit-<index>` (1-based, source order). */
  name: string;
  scope: Scope;
  limits: { kind: 'requests' | 'tokens'; amount: number; window: Window }[];
  onExceed: { action: 'reject' } | { action: 'wait'; maxWaitMs: number };
}

export type GuardTarget =
  | { kind: 'all' }
  | { kind: 'external' }
  | { kind: 'route'; route: string }
  | { kind: 'model'; model: string };

export interface BlockRule {
  /** JavaScript regular expression source and flags. */
  pattern: string;
  flags: string;
  message: string | null;
}

export interface GuardPlan {
  name: string;
  phase: 'before' | 'after';
  target: GuardTarget;
  redact: PiiKind[];
  blocks: BlockRule[];
  /** `before` only: the longest input, in tokens. */
  maxInput: number | null;
  /** `after` only: the JSON Schema the answer must satisfy, embedded so workers need no file. */
  schema: { path: string; schema: unknown } | null;
}

export type RequirePlan = {
  /** The rule as written, e.g. `require private when classification >= confidential`. */
  text: string;
  when: Condition | null;
} & ({ kind: 'private' } | { kind: 'region'; region: string });

export interface AuditPlan {
  prompts: PromptAudit;
  /** `null` = keep forever. */
  retainDays: number | null;
}

// ---------------------------------------------------------------------------------------------
// Requests (plan/request.schema.json) as the evaluator sees them

export interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface InferenceRequest {
  id: string;
  policy: string;
  capability: string;
  mode?: Mode;
  classification?: Classification;
  team?: string;
  app?: string;
  user?: string;
  region?: string;
  tags?: Record<string, string>;
  messages: Message[];
  maxTokens?: number;
  /** The caller's latency budget, a duration string such as `2s`. */
  latency?: string;
  temperature?: number;
  /** Overrides the estimate from `messages` (tests use `input.tokens 40k`). */
  inputTokens?: number;
  /**
   * The caller streams the answer (docs/language.md §6.4): attempts that need not be checked
   * first write their text to the caller as it comes. `relay`: the front door's relay URL when it
   * is not in the worker's process. How the answer travels, not what was asked: not part of the
   * audit.
   */
  stream?: { relay?: string };
}

// ---------------------------------------------------------------------------------------------
// Tests (docs/language.md §7) as the simulator runs them: compiled from `test` blocks by
// dsl/compiler.

export type SimulatedAnswer = 'truncated' | 'empty' | 'invalid';

export interface TestGiven {
  /** `given M fails CODE|timeout`: every attempt on M fails with this HTTP status, or times out. */
  failures: Record<string, number | 'timeout'>;
  /** `given M answers truncated|empty|invalid`: M answers, and the answer is like this. */
  answers: Record<string, SimulatedAnswer>;
  /** `given spent B $X`: nano-dollars already spent in budget B for the request's scope value. */
  spent: Record<string, number>;
}

export type TestExpectation =
  /** `expect [route R] [model M] [attempts N]`: served; each part named is checked. */
  | { kind: 'route-model'; route?: string; model?: string; attempts?: number }
  /** `expect reject ["message"]`: refused before any attempt; the message, when given, is the reason. */
  | { kind: 'reject'; message?: string }
  /** `expect fail`: every attempt failed. */
  | { kind: 'fail' };

export interface TestCase {
  /** The test's name as written (`test "NAME" for …`). */
  name: string;
  /** The `for` policy. */
  policy: string;
  /** The file that declares the test, and the 1-based line of `test`. */
  file: string;
  line: number;
  request: InferenceRequest;
  given: TestGiven;
  expect: TestExpectation;
}
