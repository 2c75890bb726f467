/**
 * `POST /v1/chat/completions` (docs/http.md): the caller from its key, the request from the body
 * and headers, the decision first (the same plan machine as everywhere: it says which route, and
 * so which execution mode), then the request runs `durable` (a workflow) or `direct` (in this
 * process), answering JSON or a stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeltaSink } from '../contract/index.js';
import { decide } from '../plan/evaluator.js';
import type { Decided, Decision, InferenceRequest, InferenceResult } from '../plan/index.js';
import type { LoadedPlan } from '../activities/plans.js';
import { checkPolicyAllowed, type Caller } from './auth.js';
import { badRequest, HttpError, modelNotFound, resultError } from './errors.js';
import { bodyHash, DirectMemory, requestIdFor } from './idempotency.js';
import { capabilitiesOf } from './models.js';
import { completeRequest, completion, mapChatBody, parseBody } from './openai.js';
import type { FrontDoorRelay } from './relay.js';
import { AnswerStream } from './stream.js';
import type { DurableRunner } from './durable.js';

export type Execution = 'durable' | 'direct';

/** What the front door needs of the direct runner (frontdoor/direct.ts). */
export interface DirectRunnerLike {
  run(
    request: InferenceRequest,
    options: {
      signal?: AbortSignal;
      sink?: (attempt: number, model: string) => DeltaSink | undefined;
      decided?: Decided;
    },
  ): Promise<InferenceResult>;
}

export interface ChatContext {
  plans: { current(policy: string): LoadedPlan | undefined; policyNames(): string[] };
  durable: DurableRunner | undefined;
  direct: DirectRunnerLike | undefined;
  relay: FrontDoorRelay;
  directMemory: DirectMemory;
}

/**
 * The route's execution mode (docs/language.md §4.9). A request no route takes is refused before
 * any attempt, through a workflow like the policy's durable requests when Temporal is here, else
 * in this process; either way it has its audit record.
 */
export function executionOf(decision: Decision, durableHere: boolean): Execution {
  return decision.execution ?? (durableHere ? 'durable' : 'direct');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The Switchyard response headers (docs/http.md "Response headers"). */
export function switchyardHeaders(
  id: string,
  execution: Execution,
  decision: Decision | undefined,
  result?: InferenceResult,
): Record<string, string> {
  const h: Record<string, string> = { 'x-switchyard-request-id': id, 'x-switchyard-execution': execution };
  const route = result?.route ?? decision?.route;
  if (route) h['x-switchyard-route'] = route;
  const plan = result?.plan || decision?.plan;
  if (plan) h['x-switchyard-plan'] = plan;
  if (result) {
    if (result.model) h['x-switchyard-model'] = result.model;
    h['x-switchyard-cost'] = result.cost;
    h['x-switchyard-attempts'] = String(result.attempts.length);
  }
  return h;
}

export async function handleChat(
  ctx: ChatContext,
  caller: Caller,
  req: IncomingMessage,
  res: ServerResponse,
  bodyText: string,
): Promise<void> {
  const mapped = mapChatBody(parseBody(bodyText), req.headers);
  const policy = mapped.policy ?? caller.key.policy ?? onlyPolicy(ctx);
  checkPolicyAllowed(caller, policy);
  const loaded = ctx.plans.current(policy);
  if (loaded === undefined) {
    throw modelNotFound(
      `no policy named "${policy}" (loaded: ${ctx.plans.policyNames().join(', ') || 'none'}); name it as "POLICY/CAPABILITY" in 'model' or in X-Switchyard-Policy`,
    );
  }
  const idempotencyKey = header(req, 'idempotency-key');
  const idempotent = idempotencyKey !== undefined;
  const id = requestIdFor(caller.key.team, idempotencyKey);
  const request = completeRequest({
    ...mapped.request,
    id,
    policy,
    team: caller.key.team,
    ...(caller.key.app !== null ? { app: caller.key.app } : {}),
  });
  const decision = decide(loaded.plan, request);
  let execution = executionOf(decision, ctx.durable !== undefined);
  if (execution === 'direct' && ctx.direct === undefined) execution = 'durable';
  if (execution === 'durable' && ctx.durable === undefined) {
    throw new HttpError(
      503,
      'api_error',
      'durable_unavailable',
      `route ${decision.route ?? '(none)'} runs durable, and this front door has no Temporal connection`,
    );
  }
  // Only an Idempotency-Key can meet an earlier request: a fresh id needs no hash (8 MB is 20 ms).
  const hash = idempotent ? bodyHash(request) : undefined;
  const created = Math.floor(Date.now() / 1000);
  const capabilities = capabilitiesOf(loaded.plan);
  const stream = mapped.options.stream
    ? new AnswerStream(res, {
        id,
        created,
        includeUsage: mapped.options.includeUsage,
        headers: switchyardHeaders(id, execution, decision),
      })
    : undefined;

  // A caller that leaves: a direct request stops its provider call (it is charged for what was
  // produced); a durable one runs on (docs/http.md "Execution modes").
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });

  let unregister: (() => void) | undefined;
  let result: InferenceResult;
  let replayed = false;
  try {
    if (execution === 'direct') {
      const direct = ctx.direct!;
      const runDirect = () =>
        direct.run(stream ? { ...request, stream: {} } : request, {
          signal: abort.signal,
          // Decided above with the plan of this policy: not decided twice.
          decided: { planHash: loaded.plan.hash, decision },
          ...(stream ? { sink: (attempt: number, model: string) => stream.open(attempt, model) } : {}),
        });
      // Only a request with an Idempotency-Key is remembered (docs/http.md "Idempotency").
      const run = idempotent
        ? ctx.directMemory.run(id, hash!, runDirect)
        : { result: runDirect(), attached: false };
      replayed = run.attached;
      result = await run.result;
      // A run cut short by its caller leaving is not an answer to give a retry: the retry runs.
      if (idempotent && !replayed && abort.signal.aborted) ctx.directMemory.forget(id);
    } else {
      let durableRequest: InferenceRequest = request;
      if (stream) {
        unregister = ctx.relay.register(id, (attempt, model) => stream.open(attempt, model));
        const relay = ctx.relay.urlFor(id);
        durableRequest = { ...request, stream: relay ? { relay } : {} };
      }
      const run = await ctx.durable!.start(durableRequest, hash);
      replayed = run.attached;
      result = await run.result();
    }
  } finally {
    unregister?.();
  }

  const headers = switchyardHeaders(id, execution, decision, result);
  if (replayed) headers['x-switchyard-idempotent-replay'] = 'true';
  if (result.status !== 'served') {
    const error = resultError(result, capabilities, request.capability);
    if (stream?.fail(error)) return;
    error.headers = headers;
    throw error;
  }
  if (stream) {
    stream.finish(result, headers);
    return;
  }
  const body = JSON.stringify(completion(result, created));
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function onlyPolicy(ctx: ChatContext): string {
  const names = ctx.plans.policyNames();
  if (names.length === 1) return names[0]!;
  throw badRequest(
    'missing_policy',
    `this key has no default policy: name one as "POLICY/CAPABILITY" in 'model' or with X-Switchyard-Policy (loaded: ${names.join(', ')})`,
    'model',
  );
}
