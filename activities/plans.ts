/**
 * What activities need from the worker's plan registry (worker/registry.ts implements it): plans by
 * hash — every plan ever loaded, so running requests keep theirs — and the current plan of each
 * policy, each with the directory its paths are relative to.
 */
import type { Plan } from '../plan/types.js';

export interface LoadedPlan {
  plan: Plan;
  /** The directory of the file that declares the policy: `model-file` paths are relative to it. */
  baseDir: string;
}

export interface PlanLookup {
  /** The plan new requests for `policy` use; `undefined` when no such policy is loaded. */
  current(policy: string): LoadedPlan | undefined;
  /** Any plan loaded since the worker started, by its `sha256:…` hash. */
  byHash(hash: string): LoadedPlan | undefined;
  /** Names of the policies loaded now. */
  policyNames(): string[];
}
