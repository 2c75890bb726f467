/**
 * Every side effect of a request, implementing the activities of contract/activities.ts: the
 * decision (decide.ts, a local activity that reads the plan registry), provider calls (attempt.ts,
 * on each provider's task queue, or in-process for the direct runner), the ledger (ledger.ts) and
 * the audit log (audit.ts; both together in governance.ts).
 */
export {
  createAttemptActivities,
  MAX_CONTENT_BYTES,
  ProviderGates,
  type AttemptActivityImplementations,
  type AttemptActivityOptions,
} from './attempt.js';
export { createLocalActivities, type LocalActivityImplementations } from './decide.js';
export { createGovernanceActivities, type GovernanceOptions } from './governance.js';
export type { LoadedPlan, PlanLookup } from './plans.js';
export { closeProviders, createProvider, EmbeddedProvider } from './providers/index.js';
