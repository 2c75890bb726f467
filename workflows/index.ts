/**
 * The workflows a Switchyard worker registers (its `workflowsPath`). Everything reachable from here
 * runs in Temporal's deterministic sandbox.
 */
export { requestWorkflow } from './request.js';
export { alertWorkflow } from './alert.js';
export { decisionQuery, statusQuery } from '../contract/index.js';
