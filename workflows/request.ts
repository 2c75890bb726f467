/**
 * The request workflow: one inference request, executed durably (LANGUAGE.md §3.2 steps 2–4 and
 * 6–7; ARCHITECTURE.md decisions 1–4).
 *
 * 1. A local activity resolves the current plan for the request's policy and returns the decision
 *    (`decideRequest`). Its result is recorded in history, so a replay — even after the policies
 *    changed — sees the same plan and the same decision. The plan itself never enters history.
 * 2. The shared execution machine (`plan/`: `start`/`next`, the same code `switchyard test` drives
 *    with simulated results) says what to do next; this workflow only performs its steps:
 *    - `attempt`: a durable `sleep` for the step's delay (backoff, `Retry-After`); the ledger —
 *      rate limits (once per request, before the first attempt) and the attempt's budget
 *      reservations; a refusal goes back to the machine (`refused`: downgrade, wait, reject) —
 *      then one `attempt` activity on the provider's task queue (which applies the step's `before`
 *      redaction and `after` guards). Provider errors come back as classified results, and the
 *      machine decides: retry, fall over, escalate, serve or fail. The next step's `settle`
 *      commits the actual cost or releases the reservation.
 *    - `wait`: a durable `sleep` until the limit's window resets (the ledger's figure, else the
 *      UTC calendar window), capped by the rate limit's `wait` or the deadline.
 *    - `done`: the result of API.md.
 * 3. Every request — served, rejected, failed, undecided — ends with one audit record, and the
 *    workflow's search attributes (team, policy, route, model, status) say where it went.
 *
 * Temporal retries an `attempt` activity only when the attempt itself was lost (its worker died:
 * heartbeat or start-to-close timeout) or could not run (the plan is not loaded on that worker);
 * when those retries are exhausted the loss is reported to the machine as a failed attempt.
 *
 * Deterministic: imports only `@temporalio/workflow` and `plan/`; time is workflow time.
 */
import * as wf from '@temporalio/workflow';
import {
  formatDollars,
  next,
  start,
  waitLength,
  type AttemptResult,
  type AttemptStep,
  type Decision,
  type ExecState,
  type GovernanceSnapshot,
  type InferenceRequest,
  type InferenceResult,
  type Refused,
} from '../plan/index.js';
import { workflowNow } from './clock.js';
import {
  decisionQuery,
  NOT_LOCAL,
  SEARCH_ATTRIBUTES,
  statusQuery,
  type AttemptActivities,
  type AttemptGuardAction,
  type AttemptInput,
  type AttemptOutcome,
  type DecideOutput,
  type GovernanceActivities,
  type LocalActivities,
  type RequestStatus,
  type RequestWorkflowInput,
} from '../contract/index.js';

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

/** Temporal's retries of a lost attempt (its worker died, or the plan is not loaded there). */
const ATTEMPT_RETRY = {
  initialInterval: '200ms',
  backoffCoefficient: 2,
  maximumInterval: '2s',
  maximumAttempts: LOST_ATTEMPT_TRIES,
} as const;

const LEDGER_RETRY = { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s' } as const;

const local = wf.proxyLocalActivities<LocalActivities>({
  startToCloseTimeout: '10s',
  retry: { ...LEDGER_RETRY, maximumAttempts: 3 },
});
/**
 * Ledger and audit calls as local activities (the default): no round trip through the server per
 * call. Each is idempotent in the store (reserve by key, admit by request id, settle by key, audit
 * by request id), so a retried or re-run local activity never counts twice.
 */
const localGovernance = wf.proxyLocalActivities<GovernanceActivities>({
  startToCloseTimeout: '10s',
  retry: { ...LEDGER_RETRY, maximumAttempts: 5 },
});
/** The audit record is owed for every request: retried for about a minute before the workflow fails. */
const localAudit = wf.proxyLocalActivities<GovernanceActivities>({
  startToCloseTimeout: '10s',
  retry: { ...LEDGER_RETRY, maximumInterval: '5s', maximumAttempts: 15 },
});
/** The same calls as ordinary activities on the workflow task queue (a worker's `governance: 'remote'`). */
const remoteGovernance = wf.proxyActivities<GovernanceActivities>({
  startToCloseTimeout: '10s',
  retry: { ...LEDGER_RETRY, maximumAttempts: 5 },
});
const remoteAudit = wf.proxyActivities<GovernanceActivities>({
  startToCloseTimeout: '10s',
  retry: { ...LEDGER_RETRY, maximumInterval: '5s', maximumAttempts: 15 },
});

/** What one request needs while it runs, besides the machine's state. */
interface Run {
  request: InferenceRequest;
  planHash: string;
  decision: Decision;
  ledger: GovernanceActivities;
  /** Guard actions the attempts reported, for the audit record. */
  guards: AttemptGuardAction[];
  /** Provider queues whose attempts run as local activities of this workflow's worker. */
  localQueues: string[];
}

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
    const result = undecided(request, 'failed', `cannot decide: ${messageOf(err)}`, 'internal');
    await audit(localAudit, request, result, []);
    return result;
  }
  const searchable = decided.searchAttributes === true;
  const remote = decided.governance === 'remote';
  const auditor = decided.audit === false ? null : remote ? remoteAudit : localAudit;
  if (decided.decision === null || decided.planHash === null) {
    status.phase = 'done';
    const result = undecided(request, 'rejected', decided.reason ?? 'no plan for this request', 'policy');
    await audit(auditor, request, result, []);
    if (searchable) upsert({ team: request.team ?? null, policy: request.policy, status: result.status });
    return result;
  }
  const planHash = decided.planHash;
  decision = decided.decision;
  status.planHash = planHash;
  status.route = decision.route;
  // One upsert once decided, one when done (each is a visibility write on the server).
  if (searchable) upsert({ team: request.team ?? null, policy: request.policy, route: decision.route });

  const run: Run = {
    request,
    planHash,
    decision,
    ledger: remote ? remoteGovernance : localGovernance,
    guards: [],
    localQueues: decided.localQueues ?? [],
  };
  const result = await execute(run, status);
  status.phase = 'done';
  status.current = null;
  await audit(auditor, request, result, run.guards);
  if (searchable)
    upsert({ ...(result.model !== null ? { model: result.model } : {}), status: result.status });
  return result;
}

/** Drives the machine to its `done` step, performing every step with the ledger. */
async function execute(run: Run, status: RequestStatus): Promise<InferenceResult> {
  const { decision } = run;
  const governed = decision.governance.budgets.length > 0 || decision.governance.rateLimits.length > 0;
  const snapshot = async (): Promise<GovernanceSnapshot | undefined> => {
    if (!governed) return undefined;
    return run.ledger.snapshot({
      policy: decision.policy,
      budgets: decision.governance.budgets,
      rateLimits: decision.governance.rateLimits,
    });
  };

  let transition;
  try {
    transition = next(start(decision, (await snapshot()) ?? {}));
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    return abandoned(start(decision), `the budget ledger is unavailable: ${messageOf(err)}`);
  }
  let waits = 0;
  for (;;) {
    const step = transition.step;
    if (step.settle.length > 0) await settle(run, step.settle);
    if (step.step === 'done') return step.result;
    if (step.step === 'attempt') {
      status.phase = 'attempting';
      status.current = { attempt: step.attempt, model: step.model, queue: step.queue };
      let outcome: AttemptOutcome | Refused;
      try {
        outcome = await performAttempt(step, run);
      } catch (err) {
        if (wf.isCancellation(err)) throw err;
        // The ledger could not be asked (the store is down): no attempt is made unbudgeted.
        return abandoned(transition.state, `the budget ledger is unavailable: ${messageOf(err)}`);
      }
      if (outcome.kind !== 'refused') status.attempts += 1;
      transition = next(transition.state, outcome);
    } else {
      waits += 1;
      if (waits > MAX_WAITS) {
        return abandoned(transition.state, `gave up after ${MAX_WAITS} waits for ${step.limit} ${step.name}`);
      }
      status.phase = 'waiting';
      status.current = null;
      const before = workflowNow();
      const ms = waitLength(step, before);
      await wf.sleep(ms);
      const waited = Math.max(ms, workflowNow() - before);
      let fresh: GovernanceSnapshot | undefined;
      try {
        fresh = await snapshot();
      } catch (err) {
        if (wf.isCancellation(err)) throw err;
        return abandoned(transition.state, `the budget ledger is unavailable: ${messageOf(err)}`);
      }
      transition = next(transition.state, { kind: 'waited', ms: waited }, fresh);
    }
    status.elapsedMs = transition.state.elapsedMs;
  }
}

/**
 * Commits and releases (idempotent by key). A settlement that cannot be made after the retries is
 * left to the ledger: an uncommitted reservation expires, so no budget stays held.
 */
async function settle(run: Run, settlements: AttemptStep['settle']): Promise<void> {
  try {
    await run.ledger.settle({ settlements });
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    wf.log.warn('settling reservations failed; they will expire', { error: messageOf(err) });
  }
}

/** Every request ends with one audit record (served, rejected, failed). */
async function audit(
  activities: GovernanceActivities | null,
  request: InferenceRequest,
  result: InferenceResult,
  guards: AttemptGuardAction[],
): Promise<void> {
  if (activities === null) return;
  await activities.appendAudit({ request, result, ...(guards.length > 0 ? { guardActions: guards } : {}) });
}

function upsert(values: Partial<Record<keyof typeof SEARCH_ATTRIBUTES, string | null>>): void {
  const pairs = [];
  for (const [field, value] of Object.entries(values) as [keyof typeof SEARCH_ATTRIBUTES, string | null][]) {
    if (value === null || value === undefined) continue;
    pairs.push({ key: { name: SEARCH_ATTRIBUTES[field], type: 'KEYWORD' as const }, value });
  }
  if (pairs.length > 0) wf.upsertSearchAttributes(pairs);
}

/**
 * One attempt: its delay, the ledger (rate limits once per request, then the attempt's
 * reservations — a refusal goes back to the machine without calling the model), then the `attempt`
 * activity on the provider's queue. The `ms` reported to the machine is the time the attempt cost
 * the request as the workflow saw it — queueing on the provider's task queue and a lost try
 * included — and never less than the provider's own measure, so the deadline accounts for real time.
 */
async function performAttempt(step: AttemptStep, run: Run): Promise<AttemptOutcome | Refused> {
  const { request, decision, planHash } = run;
  const began = workflowNow();
  if (step.delayBeforeMs > 0) await wf.sleep(step.delayBeforeMs);

  if (step.rateLimits.length > 0) {
    const admitted = await run.ledger.admitRateLimits({
      policy: decision.policy,
      requestId: request.id,
      uses: step.rateLimits,
      rateLimits: decision.governance.rateLimits,
    });
    if (!admitted.ok) {
      return {
        kind: 'refused',
        rateLimit: admitted.rateLimit,
        retryAfterMs: admitted.retryAfterMs,
        neverFits: admitted.neverFits,
        window: admitted.window,
      };
    }
  }
  if (step.reserve.length > 0) {
    const reserved = await run.ledger.reserve({
      policy: decision.policy,
      reservations: step.reserve,
      budgets: decision.governance.budgets,
      timeoutMs: step.timeoutMs,
      delayBeforeMs: 0,
    });
    if (!reserved.ok) {
      return {
        kind: 'refused',
        budget: reserved.budget,
        snapshot: reserved.snapshot,
        retryAfterMs: reserved.retryAfterMs,
        window: reserved.window,
      };
    }
  }

  const remote = wf.proxyActivities<AttemptActivities>({
    taskQueue: step.queue,
    // The activity's own timer ends the call at `timeoutMs` and reports a `timeout` result; these
    // only fire when the attempt is lost or never picked up.
    startToCloseTimeout: step.timeoutMs + ATTEMPT_MARGIN_MS,
    scheduleToStartTimeout: step.timeoutMs,
    heartbeatTimeout: heartbeatTimeoutFor(step.timeoutMs),
    retry: ATTEMPT_RETRY,
  });
  const attemptInput: AttemptInput = {
    requestId: request.id,
    attempt: step.attempt,
    planHash,
    model: step.model,
    // The activity applies the `before` guards' redaction (`redact`) for this model only.
    messages: request.messages,
    maxTokens: step.maxTokens,
    timeoutMs: step.timeoutMs,
    redact: step.redact,
    afterGuards: step.afterGuards,
  };
  if (request.temperature !== undefined) attemptInput.temperature = request.temperature;

  try {
    const result = await attemptOn(step, run, attemptInput, remote);
    if (result.guards !== undefined) run.guards.push(...result.guards);
    const { guards: _guards, ...outcome } = result;
    const observed = workflowNow() - began - step.delayBeforeMs;
    return { ...outcome, ms: Math.max(outcome.ms, observed) } as AttemptResult;
  } catch (err) {
    if (wf.isCancellation(err)) throw err;
    const observed = Math.max(0, workflowNow() - began - step.delayBeforeMs);
    return lostAttempt(err, step, observed);
  }
}

/**
 * The attempt as a local activity when this workflow's worker serves the step's queue itself (no
 * round trip through the server: ~3 ms instead of ~15–50 ms on a dev server), else as an ordinary
 * activity on the queue. A worker that replays the request but does not serve the queue answers
 * `NotLocal` (recorded like any result), and the attempt goes to the queue.
 */
async function attemptOn(
  step: AttemptStep,
  run: Run,
  input: AttemptInput,
  remote: AttemptActivities,
): Promise<AttemptOutcome> {
  if (!run.localQueues.includes(step.queue)) return remote.attempt(input);
  const local = wf.proxyLocalActivities<LocalActivities>({
    // A local attempt is lost with its worker: the workflow task then times out, and the worker
    // that replays the request runs the attempt again (here, or through the queue: NotLocal).
    startToCloseTimeout: step.timeoutMs + ATTEMPT_MARGIN_MS,
    retry: { ...ATTEMPT_RETRY, nonRetryableErrorTypes: [NOT_LOCAL] },
  });
  try {
    return await local.localAttempt(input);
  } catch (err) {
    if (hasFailureType(err, NOT_LOCAL)) return remote.attempt(input);
    throw err;
  }
}

/** Whether `err` or one of its causes is an application failure of `type`. */
function hasFailureType(err: unknown, type: string): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof wf.ApplicationFailure && e.type === type) return true;
  }
  return false;
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
    audit: { prompts: 'hashed' },
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
