/**
 * The activities the request workflow calls — and the front door's direct runner calls
 * in-process — with their inputs and outputs: workflows/ and the request driver (plan/driver.ts)
 * consume them, activities/ implements them (each factory is checked against these interfaces),
 * worker/ registers them. The inputs and outputs are the driver's own (plan/effects.ts: plan/
 * imports nothing outside itself); they are re-exported here so that every other room imports
 * them from one place.
 */
import type { GovernanceSnapshot, InferenceRequest } from '../plan/index.js';
import type {
  AdmitInput,
  AdmitOutput,
  AppendAuditInput,
  AppendAuditOutput,
  AttemptInput,
  AttemptOutcome,
  Decided,
  ReserveInput,
  ReserveOutput,
  SettleInput,
  SettleOutput,
  SnapshotInput,
} from '../plan/index.js';

export type {
  AdmitInput,
  AdmitOutput,
  AppendAuditInput,
  AppendAuditOutput,
  AttemptGuardAction,
  AttemptInput,
  AttemptOutcome,
  AttemptOutput,
  Decided,
  ReserveInput,
  ReserveOutput,
  SettleInput,
  SettleOutput,
  SnapshotInput,
} from '../plan/index.js';

// ---------------------------------------------------------------------------------------------
// The decision

/**
 * The result of the `decideRequest` local activity: the current plan for the request's policy
 * (by hash) and the decision it makes. `null`s when the worker has no policy of that name.
 */
export interface DecideOutput extends Decided {
  /**
   * Whether the namespace has the Switchyard search attributes (contract/workflow.ts): the
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
  /**
   * Provider task queues whose attempts the deciding worker runs itself, as local activities
   * (`localAttempt`): it serves those queues in-process. An attempt then costs no round trip
   * through the server (docs/running.md "Latency"). Recorded here so a replay makes the same
   * calls; a worker that replays the request without serving the queue answers `NotLocal` and the
   * attempt goes to the queue as an ordinary activity. Absent: none.
   */
  localQueues?: string[];
}

export interface DecideActivities {
  decideRequest(request: InferenceRequest): Promise<DecideOutput>;
}

// ---------------------------------------------------------------------------------------------
// The attempt

/** Activities on a provider's task queue. */
export interface AttemptActivities {
  attempt(input: AttemptInput): Promise<AttemptOutcome>;
}

/** The failure type of a `localAttempt` on a worker that does not serve the attempt's queue. */
export const NOT_LOCAL = 'NotLocal';

// ---------------------------------------------------------------------------------------------
// Governance

/**
 * The governance activities (docs/architecture.md decisions 5–6), each atomic and idempotent in
 * the store: `reserve` by reservation key, `admitRateLimits` by request id, `settle` by key,
 * `appendAudit` by request id — so retries (Temporal's, or a replayed local activity) are safe.
 */
export interface GovernanceActivities {
  snapshot(input: SnapshotInput): Promise<GovernanceSnapshot>;
  reserve(input: ReserveInput): Promise<ReserveOutput>;
  settle(input: SettleInput): Promise<SettleOutput>;
  admitRateLimits(input: AdmitInput): Promise<AdmitOutput>;
  appendAudit(input: AppendAuditInput): Promise<AppendAuditOutput>;
}

/**
 * Local activities, run by the worker that runs the workflow: the decision, and the governance
 * activities (also registered as ordinary activities on the workflow task queue, for workers that
 * run them `remote`).
 */
export interface LocalActivities extends GovernanceActivities, DecideActivities {
  /** The `attempt` activity run by the workflow's own worker (a queue in `localQueues`). */
  localAttempt(input: AttemptInput): Promise<AttemptOutcome>;
}
