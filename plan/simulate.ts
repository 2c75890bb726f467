/**
 * The simulator behind `switchyard test` and `switchyard explain`: it drives the execution machine
 * (execution.ts) — the very code the workflow runs — with made-up provider results instead of real
 * ones, and keeps a tiny in-memory ledger instead of the real one.
 *
 * Simulated time: an answer or an HTTP error takes 0 ms; a timeout takes the attempt's whole
 * timeout; a `wait` assumes the window has just begun, so it lasts one full window (then the
 * window's counters reset) unless the step's `maxWaitMs` (what is left of the rate limit's `wait`
 * or of the deadline) is shorter, in which case nothing resets and the machine refuses the request.
 */
import { durationText } from './conditions.js';
import { decide } from './evaluator.js';
import { classifyStatus, next, start } from './execution.js';
import { WINDOW_MS } from './governance.js';
import type { BudgetUsage, GovernanceSnapshot, RateLimitUsage } from './trace.js';
import type { AttemptResult, AttemptStep, Decision, InferenceResult, Settlement, Step } from './trace.js';
import type { InferenceRequest, Plan, SimulatedAnswer } from './types.js';

/** Output tokens of a normal simulated answer (fewer when max-tokens is lower). */
export const SIMULATED_ANSWER_TOKENS = 16;

export type SimulatedError = number | 'timeout' | 'context-length' | 'connection';

/**
 * How a model fails: an HTTP status, `timeout`, `context-length` or `connection` (refused), on
 * every attempt — or, in the object form, on the first `times` attempts only (then it answers),
 * with an optional `Retry-After` for 429s.
 */
export type SimulatedFailure =
  SimulatedError | { error: SimulatedError; times?: number; retryAfterMs?: number };

/** What the simulation assumes; a superset of a test's `given` (types.ts `TestGiven`). */
export interface SimulationGiven {
  /** `given M fails CODE|timeout`. */
  failures?: Record<string, SimulatedFailure>;
  /** `given M answers truncated|empty|invalid`. */
  answers?: Record<string, SimulatedAnswer>;
  /** `given spent B $X`: nano-dollars already spent in budget B. */
  spent?: Record<string, number>;
  /** Tokens already spent in budget B. */
  spentTokens?: Record<string, number>;
  /** Counters of rate limits in their current windows. */
  rateLimits?: Record<string, RateLimitUsage>;
}

export interface Simulation {
  result: InferenceResult;
  decision: Decision;
  /** Every step the machine asked for, in order (the last is `done`). */
  steps: Step[];
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Decides and runs `request` against `plan` with simulated providers. */
export function simulate(plan: Plan, request: InferenceRequest, given: SimulationGiven = {}): Simulation {
  return simulateDecision(decide(plan, request), given);
}

/** Runs an existing decision with simulated providers. */
export function simulateDecision(decision: Decision, given: SimulationGiven = {}): Simulation {
  const ledger = initialSnapshot(given);
  const attemptsByModel = new Map<string, number>();
  const steps: Step[] = [];
  let transition = next(start(decision, copyLedger(ledger)));
  for (let guard = 0; ; guard++) {
    const step = transition.step;
    steps.push(step);
    settle(ledger, step.settle);
    if (step.step === 'done') return { result: step.result, decision: step.result.decision, steps };
    if (guard > 100_000) throw new Error('simulate: the machine did not finish');
    if (step.step === 'attempt') {
      for (const use of step.rateLimits) {
        const counters = (ledger.rateLimits[use.rateLimit] ??= {});
        counters.requests = (counters.requests ?? 0) + use.requests;
        counters.tokens = (counters.tokens ?? 0) + use.tokens;
      }
      const n = (attemptsByModel.get(step.model) ?? 0) + 1;
      attemptsByModel.set(step.model, n);
      transition = next(transition.state, simulatedResult(step, decision, given, n), copyLedger(ledger));
    } else {
      const windowMs = WINDOW_MS[step.window];
      const waited = step.maxWaitMs === null ? windowMs : Math.min(windowMs, step.maxWaitMs);
      if (waited >= windowMs) {
        if (step.limit === 'budget') ledger.budgets[step.name] = {};
        else ledger.rateLimits[step.name] = {};
      }
      transition = next(transition.state, { kind: 'waited', ms: waited }, copyLedger(ledger));
    }
  }
}

/** The simulated outcome of attempt `n` (1-based) on the step's model. */
export function simulatedResult(
  step: AttemptStep,
  decision: Decision,
  given: SimulationGiven,
  n: number,
): AttemptResult {
  const failure = given.failures?.[step.model];
  if (failure !== undefined) {
    const spec = typeof failure === 'object' ? failure : { error: failure };
    if (spec.times === undefined || n <= spec.times)
      return simulatedError(step, spec.error, spec.retryAfterMs);
  }
  // A model with neither max-tokens nor context reserves 0 output tokens, but a simulated answer
  // still says something: only `given M answers empty` makes it empty.
  const cap = step.maxTokens ?? (step.estimate.outputTokens || SIMULATED_ANSWER_TOKENS);
  const normal = Math.min(cap, SIMULATED_ANSWER_TOKENS);
  const kind = given.answers?.[step.model];
  const tokens = kind === 'truncated' ? cap : kind === 'empty' ? 0 : normal;
  return {
    kind: 'answered',
    output: {
      truncated: kind === 'truncated',
      empty: kind === 'empty' || tokens === 0,
      invalid: kind === 'invalid',
      tokens,
      content: kind === 'empty' ? '' : `(simulated answer of ${step.model})`,
      finishReason: kind === 'truncated' ? 'length' : 'stop',
    },
    usage: { inputTokens: decision.inputTokens, outputTokens: tokens },
    ms: 0,
  };
}

function simulatedError(
  step: AttemptStep,
  error: SimulatedError,
  retryAfterMs: number | undefined,
): AttemptResult {
  switch (error) {
    case 'timeout':
      return {
        kind: 'error',
        errorClass: 'timeout',
        message: `timed out after ${durationText(step.timeoutMs)}`,
        ms: step.timeoutMs,
      };
    case 'context-length':
      return { kind: 'error', errorClass: 'context-length', message: 'context length exceeded', ms: 0 };
    case 'connection':
      return { kind: 'error', errorClass: 'retryable', message: 'connection refused', ms: 0 };
  }
  const result: AttemptResult = {
    kind: 'error',
    errorClass: classifyStatus(error),
    status: error,
    message: `${error} ${STATUS_TEXT[error] ?? ''}`.trim(),
    ms: 0,
  };
  if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
  return result;
}

interface Ledger {
  budgets: Record<string, BudgetUsage>;
  rateLimits: Record<string, RateLimitUsage>;
}

function initialSnapshot(given: SimulationGiven): Ledger {
  const budgets: Record<string, BudgetUsage> = {};
  for (const [name, nanos] of Object.entries(given.spent ?? {})) budgets[name] = { spentNanos: nanos };
  for (const [name, tokens] of Object.entries(given.spentTokens ?? {})) {
    budgets[name] = { ...budgets[name], spentTokens: tokens };
  }
  const rateLimits: Record<string, RateLimitUsage> = {};
  for (const [name, usage] of Object.entries(given.rateLimits ?? {})) rateLimits[name] = { ...usage };
  return { budgets, rateLimits };
}

/** The simulated ledger: commits add to what was spent; reservations live only inside the machine. */
function settle(ledger: Ledger, settlements: readonly Settlement[]): void {
  for (const s of settlements) {
    if (s.action !== 'commit') continue;
    const usage = (ledger.budgets[s.budget] ??= {});
    usage.spentNanos = (usage.spentNanos ?? 0) + s.nanos;
    usage.spentTokens = (usage.spentTokens ?? 0) + s.tokens;
  }
}

/** The machine gets its own copy: a snapshot is a value, later ledger changes must not reach old states. */
function copyLedger(ledger: Ledger): GovernanceSnapshot {
  const budgets: Record<string, BudgetUsage> = {};
  for (const [name, usage] of Object.entries(ledger.budgets)) budgets[name] = { ...usage };
  const rateLimits: Record<string, RateLimitUsage> = {};
  for (const [name, usage] of Object.entries(ledger.rateLimits)) rateLimits[name] = { ...usage };
  return { budgets, rateLimits };
}
