/**
 * The request workflow: one inference request, executed durably (LANGUAGE.md §3.2 steps 2–4 and
 * 6–7; ARCHITECTURE.md decisions 1–4).
 *
 * 1. A local activity resolves the current plan for the request's policy and returns the decision
 *    (`decideRequest`). Its result is recorded in history, so a replay — even after the policies
 *    changed — sees the same plan and the same decision. The plan itself never enters history.
 * 2. The shared execution machine (`plan/`: `start`/`next`, the same code `switchyard test` drives
 *    with simulated results) says what to do next; this workflow only performs its steps:
 *    - `attempt`: a durable `sleep` for the step's delay (backoff, `Retry-After`), then one
 *      `attempt` activity on the provider's task queue. Provider errors come back as classified
 *      results, and the machine decides: retry, fall over, escalate, serve or fail.
 *    - `wait`: a durable `sleep` (budget and rate-limit waits; the ledger comes with governance).
 *    - `done`: the result of API.md.
 *
 * Temporal retries an `attempt` activity only when the attempt itself was lost (its worker died:
 * heartbeat or start-to-close timeout) or could not run (the plan is not loaded on that worker);
 * when those retries are exhausted the loss is reported to the machine as a failed attempt.
 *
 * Deterministic: imports only `@temporalio/workflow` and `plan/`; time is workflow time.
 */
import * as wf from '@temporalio/workflow';
import {
  WINDOW_MS,
  formatDollars,
  next,
  start,
  type AttemptResult,
  type AttemptStep,
  type Decision,
  type ExecState,
  type InferenceRequest,
  type InferenceResult,
  type WaitStep,
} from '../plan/index.js';
import { workflowNow } from './clock.js';
import {
  DECISION_QUERY,
  STATUS_QUERY,
  type AttemptActivities,
  type AttemptInput,
  type DecideOutput,
  type LocalActivities,
  type RequestStatus,
  type RequestWorkflowInput,
} from './contract.js';

/** How long past the attempt's own timeout Temporal waits before declaring the attempt lost. */
export const ATTEMPT_MARGIN_MS = 1_000;
/** Temporal's retries of one lost attempt (the first try included). */
export const LOST_ATTEMPT_TRIES = 3;
/** A request that waited this many times for budgets or rate limits gives up. */
export const MAX_WAITS = 50;

/**
 * The heartbeat timeout of an attempt: how fast a dead worker is noticed. A quarter of the
 * attempt's timeout, between 2 s and 10 s; the activity heartbeats at least three times as often.
 */
export function heartbeatTimeoutFor(timeoutMs: number): number {
  return Math.min(10_000, Math.max(2_000, Math.ceil(timeoutMs / 4)));
}

export const decisionQuery = wf.defineQuery<Decision | null>(DECISION_QUERY);
export const statusQuery = wf.defineQuery<RequestStatus>(STATUS_QUERY);

const local = wf.proxyLocalActivities<LocalActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function requestWorkflow(input: RequestWorkflowInput): Promise<InferenceResult> {
  const request = input.request;
  const status: RequestStatus = {
    phase: 'deciding',
    planHash: null,
    route: null,
    current: null,
    attempts: 0,
    elapsedMs: 0,
  };
  let decision: Decision | null = null;
  wf.setHandler(decisionQuery, () => decision);
  wf.setHandler(statusQuery, () => status);

  let decided: DecideOutput;
  try {
    decided = await local.decideRequest(request);
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    status.phase = 'done';
    return undecided(request, 'failed', `cannot decide: ${messageOf(err)}`, 'internal');
  }
  if (decided.decision === null || decided.planHash === null) {
    status.phase = 'done';
    return undecided(request, 'rejected', decided.reason ?? 'no plan for this request', 'policy');
  }
  const planHash = decided.planHash;
  decision = decided.decision;
  status.planHash = planHash;
  status.route = decision.route;

  const governed = decision.governance.budgets.length > 0 || decision.governance.rateLimits.length > 0;
  const snapshot = async () => {
    if (!governed || decision === null) return undefined;
    return (await local.governanceSnapshot(request.id, decision)) ?? undefined;
  };

  let transition = next(start(decision, (await snapshot()) ?? {}));
  let waits = 0;
  for (;;) {
    const step = transition.step;
    if (step.settle.length > 0) await local.settle(request.id, step.settle);
    if (step.step === 'done') {
      status.phase = 'done';
      status.current = null;
      return step.result;
    }
    if (step.step === 'attempt') {
      status.phase = 'attempting';
      status.current = { attempt: step.attempt, model: step.model, queue: step.queue };
      const result = await performAttempt(step, request, planHash);
      status.attempts += 1;
      transition = next(transition.state, result, await snapshot());
    } else {
      waits += 1;
      if (waits > MAX_WAITS) {
        status.phase = 'done';
        return abandoned(transition.state, `gave up after ${MAX_WAITS} waits for ${step.limit} ${step.name}`);
      }
      status.phase = 'waiting';
      status.current = null;
      const ms = waitMs(step);
      const before = workflowNow();
      await wf.sleep(ms);
      const waited = Math.max(ms, workflowNow() - before);
      transition = next(transition.state, { kind: 'waited', ms: waited }, await snapshot());
    }
    status.elapsedMs = transition.state.elapsedMs;
  }
}

/**
 * One attempt: its delay, then the `attempt` activity on the provider's queue. The `ms` reported
 * to the machine is the time the attempt cost the request as the workflow saw it — queueing on the
 * provider's task queue and a lost try included — and never less than the provider's own
 * measure, so the deadline accounts for real time.
 */
async function performAttempt(
  step: AttemptStep,
  request: InferenceRequest,
  planHash: string,
): Promise<AttemptResult> {
  const began = workflowNow();
  if (step.delayBeforeMs > 0) await wf.sleep(step.delayBeforeMs);
  if (step.reserve.length > 0) await local.reserve(request.id, step.reserve);

  const activities = wf.proxyActivities<AttemptActivities>({
    taskQueue: step.queue,
    // The activity's own timer ends the call at `timeoutMs` and reports a `timeout` result; these
    // only fire when the attempt is lost or never picked up.
    startToCloseTimeout: step.timeoutMs + ATTEMPT_MARGIN_MS,
    scheduleToStartTimeout: step.timeoutMs,
    heartbeatTimeout: heartbeatTimeoutFor(step.timeoutMs),
    retry: {
      initialInterval: '200ms',
      backoffCoefficient: 2,
      maximumInterval: '2s',
      maximumAttempts: LOST_ATTEMPT_TRIES,
    },
  });
  const attemptInput: AttemptInput = {
    requestId: request.id,
    attempt: step.attempt,
    planHash,
    model: step.model,
    // Governance seam: `before` guards' redaction (step.redact) rewrites these per model.
    messages: request.messages,
    maxTokens: step.maxTokens,
    timeoutMs: step.timeoutMs,
  };
  if (request.temperature !== undefined) attemptInput.temperature = request.temperature;

  try {
    const result = await activities.attempt(attemptInput);
    const observed = workflowNow() - began - step.delayBeforeMs;
    return { ...result, ms: Math.max(result.ms, observed) };
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    const observed = Math.max(0, workflowNow() - began - step.delayBeforeMs);
    return lostAttempt(err, step, observed);
  }
}

/** A failed `attempt` activity (not a provider error: those are results) as the machine's result. */
function lostAttempt(err: unknown, step: AttemptStep, ms: number): AttemptResult {
  const cause = err instanceof wf.ActivityFailure ? err.cause : err;
  if (cause instanceof wf.TimeoutFailure) {
    const what =
      cause.timeoutType === 'SCHEDULE_TO_START'
        ? `no worker took it from queue ${step.queue} within ${step.timeoutMs} ms`
        : cause.timeoutType === 'HEARTBEAT'
          ? `its worker stopped heartbeating (lost ${LOST_ATTEMPT_TRIES} times)`
          : `its worker did not finish it within ${step.timeoutMs + ATTEMPT_MARGIN_MS} ms`;
    return { kind: 'error', errorClass: 'timeout', message: `attempt lost: ${what}`, ms };
  }
  return { kind: 'error', errorClass: 'retryable', message: `attempt lost: ${messageOf(cause)}`, ms };
}

function waitMs(step: WaitStep): number {
  const windowMs = WINDOW_MS[step.window];
  return step.maxWaitMs === null ? windowMs : Math.max(0, Math.min(windowMs, step.maxWaitMs));
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message
      ? `${err.message}: ${cause.message}`
      : err.message;
  }
  return String(err);
}

/** A result for a request that never got a decision (unknown policy, the decision failed). */
function undecided(
  request: InferenceRequest,
  statusOf: 'rejected' | 'failed',
  reason: string,
  rule: string,
): InferenceResult {
  const decision: Decision = {
    id: request.id,
    policy: request.policy,
    plan: '',
    route: null,
    matched: null,
    via: null,
    status: 'rejected',
    reason,
    rule,
    inputTokens: 0,
    requestMaxTokens: request.maxTokens ?? null,
    deadlineMs: null,
    split: null,
    chain: [],
    excluded: [],
    guards: [],
    budgets: [],
    rateLimits: [],
    governance: { budgets: [], rateLimits: [], downgrades: {}, downgradeBlocked: {} },
  };
  return {
    id: request.id,
    status: statusOf,
    policy: request.policy,
    plan: '',
    route: null,
    model: null,
    provider: null,
    output: null,
    usage: { inputTokens: 0, outputTokens: 0 },
    cost: formatDollars(0),
    costNanos: 0,
    attempts: [],
    reason,
    elapsedMs: 0,
    decision,
  };
}

/** The machine's state turned into a result when the workflow stops driving it. */
function abandoned(state: ExecState, reason: string): InferenceResult {
  const d = state.decision;
  return {
    id: d.id,
    status: state.attempts.length === 0 ? 'rejected' : 'failed',
    policy: d.policy,
    plan: d.plan,
    route: d.route,
    model: null,
    provider: null,
    output: null,
    usage: state.usage,
    cost: formatDollars(state.costNanos),
    costNanos: state.costNanos,
    attempts: state.attempts,
    reason,
    elapsedMs: state.elapsedMs,
    decision: { ...d, budgets: state.budgets, rateLimits: state.rateLimits },
  };
}
