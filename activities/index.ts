/**
 * Every side effect of a request: the decision (a local activity that reads the worker's plan
 * registry), provider calls (the `attempt` activity, on each provider's task queue) and, later, the
 * ledger and the audit log (the governance seam in decide.ts).
 */
export {
  createAttemptActivities,
  MAX_CONTENT_BYTES,
  type AttemptActivityImplementations,
  type AttemptActivityOptions,
} from './attempt.js';
export { createLocalActivities, type LocalActivityImplementations } from './decide.js';
export type { LoadedPlan, PlanLookup } from './plans.js';
export { closeProviders, createProvider, EmbeddedProvider } from './providers/index.js';
