/**
 * The request workflow as its callers see it: its type name, its input and result, its queries and
 * the search attributes it sets. The workflow (workflows/request.ts) implements it, the client
 * (client/) starts and queries it through these typed definitions, the worker registers it.
 *
 * Query definitions are plain values of `@temporalio/common`'s `QueryDefinition` type (what
 * `defineQuery` of `@temporalio/workflow` returns), so the client can use them without importing
 * workflow code.
 */
import type { QueryDefinition } from '@temporalio/common';
import type { Decision, InferenceRequest, InferenceResult, RequestStatus } from '../plan/index.js';

export type { RequestStatus } from '../plan/index.js';

/** The workflow's input: the request (with its id), never the plan. */
export interface RequestWorkflowInput {
  request: InferenceRequest;
}

/** The request workflow's signature: `client.workflow.start<RequestWorkflow>(WORKFLOW_TYPE, …)`. */
export type RequestWorkflow = (input: RequestWorkflowInput) => Promise<InferenceResult>;

/** The workflow's type name (the exported function's name in workflows/). */
export const WORKFLOW_TYPE = 'requestWorkflow';
export const DECISION_QUERY = 'decision';
export const STATUS_QUERY = 'status';

function query<Ret>(name: string): QueryDefinition<Ret> {
  return { type: 'query', name } as QueryDefinition<Ret>;
}

/** The decision, once made (`null` before). */
export const decisionQuery = query<Decision | null>(DECISION_QUERY);
/** Where the request is. */
export const statusQuery = query<RequestStatus>(STATUS_QUERY);

/**
 * Search attributes every request workflow sets (Keyword): `temporal workflow list --query
 * 'SwitchyardTeam="support" and SwitchyardStatus="failed"'`. The namespace must have them:
 * `switchyard dev` registers them (`--search-attribute NAME=Keyword`), workers add them when they
 * may (the operator API), and skip them when the namespace lacks them.
 */
export const SEARCH_ATTRIBUTES = {
  team: 'SwitchyardTeam',
  policy: 'SwitchyardPolicy',
  route: 'SwitchyardRoute',
  model: 'SwitchyardModel',
  status: 'SwitchyardStatus',
} as const;
