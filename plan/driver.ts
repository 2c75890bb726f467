/**
 * The request driver: one inference request from its decision to its audit record
 * (docs/language.md §6 steps 2–11, §4.9). It drives the execution machine
 * (`start`/`next`) and performs each step through {@link DriverEffects}. The Temporal workflow
 * (workflows/request.ts) gives it activities and workflow timers; the front door's direct runner
 * gives it the same activity functions called in-process and real timers. Every rule of how a
 * request runs is here or in the machine, once.
 *
 * 1. `decide`: the current plan for the request's policy and its decision. No decision: the
 *    request is `rejected` (or `failed` if deciding itself failed), audited, done.
 * 2. The machine says what to do next; the driver performs it:
 *    - `attempt`: its delay (backoff, `Retry-After`); the ledger — rate limits (once per request,
 *      before the first attempt), then the attempt's budget reservations; a refusal goes back to
 *      the machine (`refused`: downgrade, wait, reject) without calling the model — then the
 *      attempt. Its outcome goes back to the machine (retry, fall over, escalate, serve, fail);
 *      the next step's `settle` commits the actual cost or releases the reservation.
 *    - `wait`: until the limit's window resets (the ledger's figure, else the calendar window),
 *      capped by the rate limit's `wait` or the deadline; at most {@link MAX_WAITS} waits.
 *    - `done`: the result.
 * 3. A ledger that cannot be asked ends the request (no attempt is made unbudgeted). A streamed
 *    attempt that fails ends it too: no fallback is spliced into a started stream (§7.2). A
 *    caller that went away (`stopped`) ends it after what was produced is charged.
 * 4. Every request ends with one audit record (unless the decision says `audit: false`,
 *    benchmarks only).
 *
 * Deterministic: no clock but `effects.now`, no timers but `effects.sleep`.
 */
import { next, start, type ExecState, type Transition } from './execution.js';
import type {
  AttemptInput,
  AttemptOutcome,
  Decided,
  RequestStatus,
  AdmitInput,
  AdmitOutput,
  AppendAuditInput,
  ReserveInput,
  ReserveOutput,
  SettleInput,
  SettleOutput,
  SnapshotInput,
  StreamTarget,
} from './effects.js';
import type { GovernanceSnapshot } from './trace.js';
import { abandonedResult, endedResult, undecidedResult } from './results.js';
import type {
  AttemptGuardAction,
  AttemptResult,
  AttemptStep,
  Decision,
  InferenceResult,
  Refused,
  Settlement,
} from './trace.js';
import type { InferenceRequest } from './types.js';
import { waitLength } from './windows.js';

/** A request that waited this many times for budgets or rate limits gives up. */
export const MAX_WAITS = 50;

/** What the driver asks of the world. Each governance call is idempotent in the store. */
export interface DriverEffects {
  decide(request: InferenceRequest): Promise<Decided>;
  snapshot(input: SnapshotInput): Promise<GovernanceSnapshot>;
  admitRateLimits(input: AdmitInput): Promise<AdmitOutput>;
  reserve(input: ReserveInput): Promise<ReserveOutput>;
  settle(input: SettleInput): Promise<SettleOutput>;
  /**
   * One attempt: provider errors are outcomes. It throws only when the attempt itself was lost
   * (see `lostAttempt`) or cancelled (see `isCancellation`).
   */
  attempt(input: AttemptInput, step: AttemptStep): Promise<AttemptOutcome>;
  /** A lost attempt (its thrown error) as the machine's result; `ms`: the time it cost. */
  lostAttempt(err: unknown, step: AttemptStep, ms: number): AttemptResult;
  appendAudit(input: AppendAuditInput): Promise<unknown>;
  sleep(ms: number): Promise<void>;
  /** Epoch milliseconds. */
  now(): number;
  /** Whether `err` is the request's own cancellation: rethrown as is, unless `stopped` says why. */
  isCancellation(err: unknown): boolean;
  /**
   * Why the request must stop now (its caller went away), or `undefined`. The driver then ends it
   * with what was done — charged, settled and audited — instead of rethrowing a cancellation.
   */
  stopped?(): string | undefined;
  /** Something went wrong that does not change the result (a settlement left to expire). */
  warn(message: string, fields: Record<string, unknown>): void;
  /** The decision step returned (before anything else happens). */
  decided?(decided: Decided): void;
  /** The result is audited (the last thing the driver does). */
  done?(result: InferenceResult, decided: Decided | undefined): void;
}

/** A fresh `status` for {@link driveRequest}. */
export function initialStatus(): RequestStatus {
  return { phase: 'deciding', planHash: null, route: null, current: null, attempts: 0, elapsedMs: 0 };
}

/** Drives `request` to its result and its audit record. `status` is kept up to date as it runs. */
export async function driveRequest(
  request: InferenceRequest,
  effects: DriverEffects,
  status: RequestStatus = initialStatus(),
): Promise<InferenceResult> {
  // For the metrics' whole-request time (recorded by the audit activity, never here).
  const startedAtMs = effects.now();
  let decided: Decided;
  try {
    decided = await effects.decide(request);
  } catch (err) {
    if (effects.isCancellation(err) && effects.stopped?.() === undefined) throw err;
    status.phase = 'done';
    const result = undecidedResult(request, 'failed', `cannot decide: ${messageOf(err)}`, 'internal');
    await effects.appendAudit({ request, result, startedAtMs });
    effects.done?.(result, undefined);
    return result;
  }
  effects.decided?.(decided);
  const audited = decided.audit !== false;
  if (decided.decision === null || decided.planHash === null) {
    status.phase = 'done';
    const result = undecidedResult(
      request,
      'rejected',
      decided.reason ?? 'no plan for this request',
      'policy',
    );
    if (audited) await effects.appendAudit({ request, result, startedAtMs });
    effects.done?.(result, decided);
    return result;
  }
  status.planHash = decided.planHash;
  status.route = decided.decision.route;

  const run: Run = { request, planHash: decided.planHash, decision: decided.decision, effects, guards: [] };
  const result = await execute(run, status);
  status.phase = 'done';
  status.current = null;
  if (audited) {
    await effects.appendAudit({
      request,
      result,
      startedAtMs,
      ...(run.guards.length > 0 ? { guardActions: run.guards } : {}),
    });
  }
  effects.done?.(result, decided);
  return result;
}

/** What one request needs while it runs, besides the machine's state. */
interface Run {
  request: InferenceRequest;
  planHash: string;
  decision: Decision;
  effects: DriverEffects;
  /** Guard actions the attempts reported, for the audit record. */
  guards: AttemptGuardAction[];
}

/** Drives the machine to its `done` step (or ends the request early), performing every step. */
async function execute(run: Run, status: RequestStatus): Promise<InferenceResult> {
  const { decision, effects } = run;
  const governed = decision.governance.budgets.length > 0 || decision.governance.rateLimits.length > 0;
  const snapshot = async (): Promise<GovernanceSnapshot | undefined> => {
    if (!governed) return undefined;
    return effects.snapshot({
      policy: decision.policy,
      budgets: decision.governance.budgets,
      rateLimits: decision.governance.rateLimits,
    });
  };
  /** The cancellation of the request is rethrown, unless its caller went away: then, why. */
  const stoppedBy = (err: unknown): string | undefined => {
    if (!effects.isCancellation(err)) return undefined;
    const why = effects.stopped?.();
    if (why === undefined) throw err;
    return why;
  };
  const unavailable = (err: unknown) => `the budget ledger is unavailable: ${messageOf(err)}`;

  let transition: Transition;
  try {
    transition = next(start(decision, (await snapshot()) ?? {}));
  } catch (err) {
    const why = stoppedBy(err);
    return abandonedResult(start(decision), why ?? unavailable(err));
  }
  let waits = 0;
  /** Set when the last attempt ends the request, once its settlements are made. */
  let ending: ((state: ExecState) => InferenceResult) | undefined;
  for (;;) {
    const step = transition.step;
    if (step.settle.length > 0) await settle(run, step.settle);
    if (ending !== undefined) {
      if (step.step === 'done' && step.result.status === 'failed') return step.result;
      return ending(transition.state);
    }
    if (step.step === 'done') return step.result;
    const why = effects.stopped?.();
    if (why !== undefined) return endedResult(transition.state, why);
    if (step.step === 'attempt') {
      status.phase = 'attempting';
      status.current = { attempt: step.attempt, model: step.model, queue: step.queue };
      let outcome: AttemptResult | Refused;
      try {
        const performed = await performAttempt(step, run);
        if (performed.kind === 'refused') outcome = performed;
        else {
          ending = endingAfter(performed, step, effects);
          outcome = stripped(performed);
        }
      } catch (err) {
        const stopped = stoppedBy(err);
        if (stopped !== undefined) {
          // Stopped before the model answered (waiting for its provider, say): whatever this
          // attempt reserved goes back now rather than when it expires (a no-op if nothing was).
          const release = step.reserve.map((r): Settlement => ({
            action: 'release',
            budget: r.budget,
            scopeValue: r.scopeValue,
            key: r.key,
          }));
          if (release.length > 0) await settle(run, release);
          return endedResult(transition.state, stopped);
        }
        // The ledger could not be asked (the store is down): no attempt is made unbudgeted.
        return abandonedResult(transition.state, unavailable(err));
      }
      if (outcome.kind !== 'refused') status.attempts += 1;
      transition = next(transition.state, outcome);
    } else {
      waits += 1;
      if (waits > MAX_WAITS) {
        return abandonedResult(
          transition.state,
          `gave up after ${MAX_WAITS} waits for ${step.limit} ${step.name}`,
        );
      }
      status.phase = 'waiting';
      status.current = null;
      const before = effects.now();
      const ms = waitLength(step, before);
      let fresh: GovernanceSnapshot | undefined;
      try {
        await effects.sleep(ms);
      } catch (err) {
        const stopped = stoppedBy(err);
        return endedResult(transition.state, stopped ?? messageOf(err));
      }
      const waited = Math.max(ms, effects.now() - before);
      try {
        fresh = await snapshot();
      } catch (err) {
        const stopped = stoppedBy(err);
        return abandonedResult(transition.state, stopped ?? unavailable(err));
      }
      transition = next(transition.state, { kind: 'waited', ms: waited }, fresh);
    }
    status.elapsedMs = transition.state.elapsedMs;
  }
}

/**
 * Whether this attempt ends the request whatever the machine would do next: its caller went away
 * (what it produced is charged, then the request ends), or it failed after some of its text
 * reached the caller (docs/language.md §6.4: no fallback into a started stream).
 */
function endingAfter(
  outcome: AttemptOutcome,
  step: AttemptStep,
  effects: DriverEffects,
): ((state: ExecState) => InferenceResult) | undefined {
  if (outcome.cancelled === true) {
    const why = effects.stopped?.() ?? 'the attempt was cancelled';
    if (outcome.kind === 'answered') {
      const error = `cancelled after ${outcome.usage.outputTokens} output tokens: ${why}`;
      return (state) => endedResult(state, why, { outcome: 'error', error });
    }
    return (state) => endedResult(state, why);
  }
  if (outcome.streamed === true && outcome.kind === 'error') {
    const why =
      `${step.model} failed after its answer began to stream: ${outcome.message} ` +
      `(no fallback follows a started stream)`;
    return (state) => endedResult(state, why);
  }
  return undefined;
}

/** The machine's result of an outcome (what is only for the driver or the audit removed). */
function stripped(outcome: AttemptOutcome): AttemptResult {
  const { guards: _guards, streamed: _streamed, cancelled: _cancelled, ...result } = outcome;
  return result as AttemptResult;
}

/**
 * Commits and releases (idempotent by key). A settlement that cannot be made after the retries is
 * left to the ledger: an uncommitted reservation expires, so no budget stays held.
 */
async function settle(run: Run, settlements: Settlement[]): Promise<void> {
  try {
    await run.effects.settle({ settlements });
  } catch (err) {
    if (run.effects.isCancellation(err) && run.effects.stopped?.() === undefined) throw err;
    run.effects.warn('settling reservations failed; they will expire', { error: messageOf(err) });
  }
}

/**
 * One attempt: its delay, the ledger (rate limits once per request, then the attempt's
 * reservations — a refusal goes back to the machine without calling the model), then the attempt.
 * The `ms` reported to the machine is the time the attempt cost the request as the driver saw it
 * — queueing and a lost try included — and never less than the provider's own measure, so the
 * deadline accounts for real time.
 */
async function performAttempt(step: AttemptStep, run: Run): Promise<AttemptOutcome | Refused> {
  const { request, decision, planHash, effects } = run;
  const began = effects.now();
  if (step.delayBeforeMs > 0) await effects.sleep(step.delayBeforeMs);

  if (step.rateLimits.length > 0) {
    const admitted = await effects.admitRateLimits({
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
    const reserved = await effects.reserve({
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

  const input: AttemptInput = {
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
  if (request.temperature !== undefined) input.temperature = request.temperature;
  const stream = streamTarget(request, step);
  if (stream !== undefined) input.stream = stream;

  try {
    const outcome = await effects.attempt(input, step);
    if (outcome.guards !== undefined) run.guards.push(...outcome.guards);
    const observed = effects.now() - began - step.delayBeforeMs;
    return { ...outcome, ms: Math.max(outcome.ms, observed) };
  } catch (err) {
    if (effects.isCancellation(err)) throw err;
    const observed = Math.max(0, effects.now() - began - step.delayBeforeMs);
    return effects.lostAttempt(err, step, observed);
  }
}

/**
 * Where the attempt's text goes while the model produces it: to the caller, when the caller
 * streams and the attempt's answer need not be checked first (an `after` guard or an `escalate …
 * when output.*` rule buffers it: `bufferedBy`, docs/language.md §6.4).
 */
function streamTarget(request: InferenceRequest, step: AttemptStep): StreamTarget | undefined {
  if (request.stream === undefined) return undefined;
  // A plan step without the field (older callers) is not buffered.
  if ((step.bufferedBy ?? null) !== null) return undefined;
  return {
    requestId: request.id,
    ...(request.stream.relay !== undefined ? { relay: request.stream.relay } : {}),
  };
}

/** An error's message, with its cause's when that says more. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message
      ? `${err.message}: ${cause.message}`
      : err.message;
  }
  return String(err);
}
