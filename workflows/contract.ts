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
  AttemptResult,
  Decision,
  GovernanceSnapshot,
  InferenceRequest,
  Message,
  Reservation,
  Settlement,
} from '../plan/index.js';

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
  messages: Message[];
  maxTokens: number | null;
  temperature?: number;
  /** The attempt's timeout, already capped by what is left of the deadline. */
  timeoutMs: number;
}

/**
 * What an attempt reports: the machine's {@link AttemptResult}. Provider errors are results, not
 * failures: the activity classifies them once and returns them, so that retries, fallbacks and
 * escalations follow the plan (LANGUAGE.md §3.2) in the shared machine. The activity fails only
 * when something is wrong with the attempt itself (the worker died, the plan is not loaded).
 */
export type AttemptOutcome = AttemptResult;

/** Activities on a provider's task queue. */
export interface AttemptActivities {
  attempt(input: AttemptInput): Promise<AttemptOutcome>;
}

/**
 * Local activities, run by the worker that runs the workflow.
 *
 * `reserve`, `settle` and `governanceSnapshot` are the governance seam: they are called with the
 * machine's ledger intents and are no-ops until the ledger (store/) exists.
 */
export interface LocalActivities {
  decideRequest(request: InferenceRequest): Promise<DecideOutput>;
  reserve(requestId: string, reservations: Reservation[]): Promise<void>;
  settle(requestId: string, settlements: Settlement[]): Promise<void>;
  governanceSnapshot(requestId: string, decision: Decision): Promise<GovernanceSnapshot | null>;
}

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
