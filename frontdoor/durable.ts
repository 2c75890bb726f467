/**
 * `execution durable` (docs/language.md §4.9): the request is one Temporal workflow,
 * started through the typed contract and waited for. The caller's connection does not own it: a
 * caller that disconnects (or a front door that dies) leaves it running, charged and audited, and a
 * retry with the same `Idempotency-Key` attaches to it (docs/http.md "Idempotency").
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WORKFLOW_TYPE, type RequestWorkflow } from '../contract/workflow.js';
import type { InferenceRequest, InferenceResult } from '../plan/index.js';
import { idempotencyConflict } from './errors.js';

/** The memo field holding the body hash (docs/http.md "Idempotency"). */
export const BODY_HASH_MEMO = 'switchyardBodyHash';

export interface DurableOptions {
  client: Client;
  /** The workflow task queue. */
  taskQueue: string;
  /** Ask the server to hand new workflows to a worker in this process (needs its connection). */
  eagerStart?: boolean;
}

export class DurableRunner {
  constructor(private readonly options: DurableOptions) {}

  /**
   * Starts the request's workflow, or attaches to the one with its id when the body hash matches
   * (a 409 otherwise). `attached` says which.
   */
  async start(
    request: InferenceRequest,
    /** The body hash, for a request with an Idempotency-Key; absent for a fresh id. */
    hash: string | undefined,
  ): Promise<{ result: () => Promise<InferenceResult>; attached: boolean }> {
    const workflow = this.options.client.workflow;
    try {
      const handle = await workflow.start<RequestWorkflow>(WORKFLOW_TYPE, {
        taskQueue: this.options.taskQueue,
        workflowId: request.id,
        args: [{ request }],
        ...(hash !== undefined ? { memo: { [BODY_HASH_MEMO]: hash } } : {}),
        // The same id never runs twice: not while it runs, not after it closed.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        ...(this.options.eagerStart ? { requestEagerStart: true } : {}),
      });
      return { result: () => handle.result(), attached: false };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    const handle = workflow.getHandle<RequestWorkflow>(request.id);
    const description = await handle.describe();
    const known = description.memo?.[BODY_HASH_MEMO];
    // A workflow started by the client (no memo) under an id a key maps to is not this request.
    if (hash === undefined || known !== hash) throw idempotencyConflict();
    return { result: () => handle.result(), attached: true };
  }
}
