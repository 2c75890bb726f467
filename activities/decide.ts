/**
 * The request workflow's local activities: the decision (the workflow's first step) and the
 * governance seam.
 *
 * `decideRequest` resolves the policy's current plan from the worker's registry and runs the pure
 * evaluator. Its result — the plan's hash and the decision, never the plan — is recorded in the
 * workflow's history, so replays are exact even after the policies changed, and history stays small.
 */
import { decide } from '../plan/index.js';
import type {
  Decision,
  GovernanceSnapshot,
  InferenceRequest,
  Reservation,
  Settlement,
} from '../plan/index.js';
import type { PlanLookup } from './plans.js';

/** Mirrors `DecideOutput` of workflows/contract.ts (checked in worker/worker.ts). */
export interface DecideResult {
  planHash: string | null;
  decision: Decision | null;
  reason?: string;
}

export function createLocalActivities(plans: PlanLookup) {
  return {
    async decideRequest(request: InferenceRequest): Promise<DecideResult> {
      const loaded = plans.current(request.policy);
      if (loaded === undefined) {
        const names = plans.policyNames();
        const known = names.length === 0 ? 'none is loaded' : `loaded: ${names.join(', ')}`;
        return { planHash: null, decision: null, reason: `no policy named "${request.policy}" (${known})` };
      }
      return { planHash: loaded.plan.hash, decision: decide(loaded.plan, request) };
    },

    /**
     * GOVERNANCE SEAM — no-op: the budget ledger (store/, ARCHITECTURE.md decision 5) arrives with
     * the governance issue. Will reserve each attempt's worst case, keyed `<request id>#<attempt>`.
     */
    async reserve(_requestId: string, _reservations: Reservation[]): Promise<void> {},

    /** GOVERNANCE SEAM — no-op: will commit or release reservations (idempotent, by key). */
    async settle(_requestId: string, _settlements: Settlement[]): Promise<void> {},

    /**
     * GOVERNANCE SEAM — no-op: will read the ledger's counters for the request's scope values. `null`
     * means "no ledger": the machine keeps its own counters, starting from zero.
     */
    async governanceSnapshot(_requestId: string, _decision: Decision): Promise<GovernanceSnapshot | null> {
      return null;
    },
  };
}

export type LocalActivityImplementations = ReturnType<typeof createLocalActivities>;
