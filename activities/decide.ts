/**
 * The request workflow's `decideRequest` local activity: its first step.
 *
 * It resolves the policy's current plan from the worker's registry and runs the pure evaluator.
 * Its result — the plan's hash and the decision, never the plan — is recorded in the workflow's
 * history, so replays are exact even after the policies changed, and history stays small. It also
 * carries facts of the worker the workflow must see the same way on replay: whether the namespace
 * has the Switchyard search attributes, how the governance activities run, and which provider
 * queues this worker serves in-process (their attempts run as local activities).
 *
 * The governance activities (ledger, rate limits, audit) are in governance.ts.
 */
import { decide } from '../plan/index.js';
import type { InferenceRequest } from '../plan/index.js';
import type { DecideActivities, DecideOutput } from '../contract/index.js';
import type { PlanLookup } from './plans.js';

export interface LocalActivityOptions {
  /** Whether the namespace has the Switchyard search attributes (asked per request: it may change). */
  searchAttributes?: () => boolean;
  /** How the workflow calls the governance activities. @default 'local' */
  governance?: 'local' | 'remote';
  /** `false`: no audit records (benchmarks measuring their cost only). @default true */
  audit?: boolean;
  /** Provider queues whose attempts this worker runs as local activities (asked per request). */
  localQueues?: () => string[];
}

export function createLocalActivities(plans: PlanLookup, options: LocalActivityOptions = {}) {
  const facts = (): Pick<DecideOutput, 'searchAttributes' | 'governance' | 'audit' | 'localQueues'> => {
    const localQueues = options.localQueues?.() ?? [];
    return {
      searchAttributes: options.searchAttributes?.() ?? false,
      governance: options.governance ?? 'local',
      ...(options.audit === false ? { audit: false } : {}),
      ...(localQueues.length > 0 ? { localQueues } : {}),
    };
  };
  return {
    async decideRequest(request: InferenceRequest): Promise<DecideOutput> {
      const loaded = plans.current(request.policy);
      if (loaded === undefined) {
        const names = plans.policyNames();
        const known = names.length === 0 ? 'none is loaded' : `loaded: ${names.join(', ')}`;
        return {
          planHash: null,
          decision: null,
          reason: `no policy named "${request.policy}" (${known})`,
          ...facts(),
        };
      }
      return { planHash: loaded.plan.hash, decision: decide(loaded.plan, request), ...facts() };
    },
  } satisfies DecideActivities;
}

export type LocalActivityImplementations = ReturnType<typeof createLocalActivities>;
