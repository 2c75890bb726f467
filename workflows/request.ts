/**
 * The request workflow: one inference request, executed durably (docs/language.md §6;
 * docs/architecture.md decisions 1–4).
 *
 * The request is driven by the shared driver (plan/driver.ts: decide, then the execution
 * machine's steps with the ledger, attempts, waits and the audit record) — the same code the front
 * door's direct runner drives in-process. This workflow only says how each effect is performed
 * durably:
 * - the decision and the ledger and audit calls are local activities of this worker (or ordinary
 *   activities on the workflow task queue when the worker says `governance: 'remote'`); the
 *   decision's result is recorded in history, so a replay — even after the policies changed —
 *   sees the same plan and the same decision. The plan itself never enters history;
 * - each attempt is an activity on the provider's task queue (or a local activity when this
 *   worker serves that queue and runs attempts locally);
 * - delays and waits are durable timers; time is workflow time.
 * It also answers the `decision` and `status` queries and sets the search attributes (team,
 * policy, route, model, status) that say where each request went.
 *
 * Temporal retries an `attempt` activity only when the attempt itself was lost (its worker died:
 * heartbeat or start-to-close timeout) or could not run (the plan is not loaded on that worker);
 * when those retries are exhausted the loss is reported to the machine as a failed attempt.
 *
 * Deterministic: imports only `@temporalio/workflow`, `plan/` and the contract.
 */
import * as wf from '@temporalio/workflow';
import {
  driveRequest,
  initialStatus,
  messageOf,
  type AttemptResult,
  type AttemptStep,
  type Decision,
  type DriverEffects,
  type InferenceResult,
} from '../plan/index.js';
import { workflowNow } from './clock.js';
import {
  decisionQuery,
  NOT_LOCAL,
  SEARCH_ATTRIBUTES,
  statusQuery,
  type AttemptActivities,
  type AttemptInput,
  type AttemptOutcome,
  type DecideOutput,
  type GovernanceActivities,
  type LocalActivities,
  type RequestWorkflow,
  type RequestWorkflowInput,
} from '../contract/index.js';

export { MAX_WAITS } from '../plan/index.js';

/** How long past the attempt's own timeout Temporal waits before declaring the attempt lost. */
export const ATTEMPT_MARGIN_MS = 1_000;
/** Temporal's retries of one lost attempt (the first try included). */
export const LOST_ATTEMPT_TRIES = 3;

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

export async function requestWorkflow(input: RequestWorkflowInput): Promise<InferenceResult> {
  const request = input.request;
  const status = initialStatus();
  let decision: Decision | null = null;
  wf.setHandler(decisionQuery, () => decision);
  wf.setHandler(statusQuery, () => status);

  // What the deciding worker said about how to run this request (recorded with the decision).
  let facts: DecideOutput | undefined;
  const ledger = (): GovernanceActivities =>
    facts?.governance === 'remote' ? remoteGovernance : localGovernance;
  const auditor = (): GovernanceActivities => (facts?.governance === 'remote' ? remoteAudit : localAudit);
  const searchable = () => facts?.searchAttributes === true;

  const effects: DriverEffects = {
    decide: async (request) => (facts = await local.decideRequest(request)),
    snapshot: (input) => ledger().snapshot(input),
    admitRateLimits: (input) => ledger().admitRateLimits(input),
    reserve: (input) => ledger().reserve(input),
    settle: (input) => ledger().settle(input),
    attempt: (input, step) => attemptOn(step, input, facts?.localQueues ?? []),
    lostAttempt,
    appendAudit: (input) => auditor().appendAudit(input),
    sleep: (ms) => wf.sleep(ms),
    now: workflowNow,
    isCancellation: (err) => wf.isCancellation(err),
    warn: (message, fields) => wf.log.warn(message, fields),
    decided: (decided) => {
      decision = decided.decision;
      // One upsert once decided, one when done (each is a visibility write on the server).
      if (searchable() && decided.decision !== null && decided.planHash !== null) {
        upsert({ team: request.team ?? null, policy: request.policy, route: decided.decision.route });
      }
    },
    done: (result, decided) => {
      if (decided === undefined || !searchable()) return;
      if (decided.decision === null || decided.planHash === null) {
        upsert({ team: request.team ?? null, policy: request.policy, status: result.status });
      } else {
        upsert({ ...(result.model !== null ? { model: result.model } : {}), status: result.status });
      }
    },
  };
  return driveRequest(request, effects, status);
}

/** The workflow's signature is the contract's (what the client starts). */
requestWorkflow satisfies RequestWorkflow;

/**
 * The attempt as a local activity when this workflow's worker serves the step's queue itself (no
 * round trip through the server: ~3 ms instead of ~15–50 ms on a dev server), else as an ordinary
 * activity on the queue. A worker that replays the request but does not serve the queue answers
 * `NotLocal` (recorded like any result), and the attempt goes to the queue.
 */
async function attemptOn(
  step: AttemptStep,
  input: AttemptInput,
  localQueues: string[],
): Promise<AttemptOutcome> {
  const remote = wf.proxyActivities<AttemptActivities>({
    taskQueue: step.queue,
    // The activity's own timer ends the call at `timeoutMs` and reports a `timeout` result; these
    // only fire when the attempt is lost or never picked up.
    startToCloseTimeout: step.timeoutMs + ATTEMPT_MARGIN_MS,
    scheduleToStartTimeout: step.timeoutMs,
    heartbeatTimeout: heartbeatTimeoutFor(step.timeoutMs),
    retry: ATTEMPT_RETRY,
  });
  if (!localQueues.includes(step.queue)) return remote.attempt(input);
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

function upsert(values: Partial<Record<keyof typeof SEARCH_ATTRIBUTES, string | null>>): void {
  const pairs = [];
  for (const [field, value] of Object.entries(values) as [keyof typeof SEARCH_ATTRIBUTES, string | null][]) {
    if (value === null || value === undefined) continue;
    pairs.push({ key: { name: SEARCH_ATTRIBUTES[field], type: 'KEYWORD' as const }, value });
  }
  if (pairs.length > 0) wf.upsertSearchAttributes(pairs);
}
