/**
 * What services import: send inference requests through Temporal and get results (docs/running.md).
 *
 * ```ts
 * const switchyard = await SwitchyardClient.connect({ address: '127.0.0.1:7233' });
 * const result = await switchyard.infer({ policy: 'support', capability: 'chat', messages });
 * if (result.status === 'served') console.log(result.output?.content);
 * ```
 *
 * - Requests are validated against plan/request.schema.json (`InvalidRequest` names the field)
 *   before anything is sent.
 * - `id` is the idempotency key and the workflow id: a request whose id already ran (or runs)
 *   attaches to that workflow and returns its result instead of running again. A request without
 *   `id` gets a fresh one (`req-<uuid>`): pass your own id to make retries of your own calls safe,
 *   and to keep a `split` pick stable across them.
 * - The client never chooses a plan: the workflow's first step resolves the current plan of the
 *   request's policy on the worker.
 * - `infer` returns the result whatever its status (`served`, `rejected`, `failed`); with
 *   `{ throwOnFailure: true }` it throws `RequestRejected` or `RequestFailed` (with every attempt)
 *   instead, so a caller can treat anything but an answer as an exception.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  decisionQuery,
  statusQuery,
  WORKFLOW_TYPE,
  type RequestStatus,
  type RequestWorkflow,
} from '../contract/index.js';
import type { AttemptRecord, Decision, InferenceRequest, InferenceResult } from '../plan/index.js';
import { InvalidRequest, validateRequest } from './validate-request.js';

export { InvalidRequest } from './validate-request.js';
export type { AttemptRecord, Decision, InferenceRequest, InferenceResult, Message } from '../plan/index.js';

export type { RequestStatus } from '../contract/index.js';
export const DEFAULT_TASK_QUEUE = 'switchyard';
/**
 * The largest request accepted, as JSON. The request travels in workflow history (its input and
 * each attempt's input): this keeps it under Temporal's 256 KB payload warning.
 */
export const MAX_REQUEST_BYTES = 240 * 1024;

/** A request as a service writes it: `id` is optional (one is generated). */
export type RequestInput = Omit<InferenceRequest, 'id'> & { id?: string };

/** Refused before any attempt (no route, a `require` rule, a guard, an unknown policy …). */
export class RequestRejected extends Error {
  readonly code = 'E-REQUEST-REJECTED';
  constructor(readonly result: InferenceResult) {
    super(`request ${result.id} rejected: ${result.reason ?? 'no reason given'}`);
    this.name = 'RequestRejected';
  }
}

/** Every attempt failed (or the deadline passed); `attempts` lists them. */
export class RequestFailed extends Error {
  readonly code = 'E-REQUEST-FAILED';
  readonly attempts: AttemptRecord[];
  constructor(readonly result: InferenceResult) {
    super(`request ${result.id} failed: ${result.reason ?? 'no reason given'}`);
    this.name = 'RequestFailed';
    this.attempts = result.attempts;
  }
}

export interface RequestHandle {
  id: string;
  /** `false` when a workflow with this id already existed and this handle attached to it. */
  started: boolean;
  result(): Promise<InferenceResult>;
  /** The decision, once made (`null` before). */
  decision(): Promise<Decision | null>;
  status(): Promise<RequestStatus>;
}

export interface SwitchyardClientOptions {
  /** @default process.env.SWITCHYARD_ADDRESS ?? '127.0.0.1:7233' */
  address?: string;
  /** @default process.env.SWITCHYARD_NAMESPACE ?? 'default' */
  namespace?: string;
  /** The workflow task queue. @default process.env.SWITCHYARD_TASK_QUEUE ?? 'switchyard' */
  taskQueue?: string;
  /** TLS for Temporal Cloud or a secured cluster (`true`, or certificates). */
  tls?: NonNullable<Parameters<typeof Connection.connect>[0]>['tls'];
  /** A Temporal Cloud API key (the value; read it from your secret store or environment). */
  apiKey?: string;
  /** Use this connection instead of opening one (it is not closed by `close()`). */
  connection?: Connection;
  /** Ask the server to hand new workflows straight to a worker in this process (eager start). */
  eagerStart?: boolean;
}

export interface InferOptions {
  /** Throw `RequestRejected` / `RequestFailed` instead of returning such results. @default false */
  throwOnFailure?: boolean;
}

export class SwitchyardClient {
  readonly taskQueue: string;
  private readonly eagerStart: boolean;

  constructor(
    readonly temporal: Client,
    options: { taskQueue?: string; eagerStart?: boolean } = {},
    private readonly ownConnection?: Connection,
  ) {
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.eagerStart = options.eagerStart ?? false;
  }

  /** Connects to Temporal; environment variables fill what `options` leave out (docs/cli.md). */
  static async connect(options: SwitchyardClientOptions = {}): Promise<SwitchyardClient> {
    const env = process.env;
    const connection =
      options.connection ??
      (await Connection.connect({
        address: options.address ?? (env.SWITCHYARD_ADDRESS || '127.0.0.1:7233'),
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
      }));
    const client = new Client({
      connection,
      namespace: options.namespace ?? (env.SWITCHYARD_NAMESPACE || 'default'),
    });
    return new SwitchyardClient(
      client,
      {
        taskQueue: options.taskQueue ?? (env.SWITCHYARD_TASK_QUEUE || DEFAULT_TASK_QUEUE),
        ...(options.eagerStart !== undefined ? { eagerStart: options.eagerStart } : {}),
      },
      options.connection ? undefined : connection,
    );
  }

  /**
   * Starts a request (or attaches to the one with the same id) and returns at once. Throws
   * `InvalidRequest` for a request that does not fit plan/request.schema.json.
   */
  async start(request: RequestInput | InferenceRequest): Promise<RequestHandle> {
    const checked = prepare(request);
    let started = true;
    try {
      await this.temporal.workflow.start<RequestWorkflow>(WORKFLOW_TYPE, {
        taskQueue: this.taskQueue,
        workflowId: checked.id,
        args: [{ request: checked }],
        // The same id never runs twice: not while it runs, not after it closed (within the
        // namespace's retention).
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        ...(this.eagerStart ? { requestEagerStart: true } : {}),
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      started = false;
    }
    return this.handle(checked.id, started);
  }

  /** A handle on an existing request by id (its workflow). */
  handle(id: string, started = false): RequestHandle {
    const workflow = this.temporal.workflow.getHandle<RequestWorkflow>(id);
    return {
      id,
      started,
      result: () => workflow.result(),
      decision: () => workflow.query(decisionQuery),
      status: () => workflow.query(statusQuery),
    };
  }

  /** Sends a request and waits for its result (see the module's notes for errors). */
  async infer(
    request: RequestInput | InferenceRequest,
    options: InferOptions = {},
  ): Promise<InferenceResult> {
    const handle = await this.start(request);
    const result = await handle.result();
    if (options.throwOnFailure) {
      if (result.status === 'rejected') throw new RequestRejected(result);
      if (result.status === 'failed') throw new RequestFailed(result);
    }
    return result;
  }

  /** Closes the connection this client opened (not one it was given). */
  async close(): Promise<void> {
    await this.ownConnection?.close();
  }
}

/** Validates `request`, gives it an id when it has none, and checks its size. */
export function prepare(request: RequestInput | InferenceRequest): InferenceRequest {
  const checked = validateRequest(request);
  const withId: InferenceRequest = checked.id ? checked : { ...checked, id: `req-${randomUUID()}` };
  const bytes = Buffer.byteLength(JSON.stringify(withId), 'utf8');
  if (bytes > MAX_REQUEST_BYTES) {
    throw new InvalidRequest(
      'messages',
      `the request is ${Math.ceil(bytes / 1024)} KB; at most ${MAX_REQUEST_BYTES / 1024} KB can be sent`,
      withId.id,
    );
  }
  return withId;
}
