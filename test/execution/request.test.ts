/**
 * The request workflow end to end: a real Temporal dev server, workers in this process, the real
 * `ollama` and `openai` clients against the provider test server (a real GGUF model), and the
 * embedded provider. Every scenario's history is replayed at the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequest, RequestFailed, RequestRejected } from '../../client/index.js';
import { decisionQuery, statusQuery, WORKFLOW_TYPE } from '../../contract/index.js';
import { decide, type InferenceResult } from '../../plan/index.js';
import * as workflows from '../../workflows/index.js';
import {
  startProviderServer,
  type ProviderServer,
  type RecordedRequest,
} from '../support/provider-server.js';
import {
  eventually,
  fetchHistories,
  replay,
  request,
  startStack,
  uniqueName,
  writePolicies,
  type Stack,
} from '../support/temporal.js';
import { MAIN_POLICY, catalog, offlinePolicy } from './fixtures.js';

let server: ProviderServer;
let stack: Stack;
const ids: string[] = [];

function id(name: string): string {
  const value = uniqueName(`req-${name}`);
  ids.push(value);
  return value;
}

/** What the provider server received for one request (its id is in the message). */
function calls(requestId: string): RecordedRequest[] {
  return server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(requestId));
}

async function infer(requestId: string, policy: string, extra = {}): Promise<InferenceResult> {
  return stack.client.infer(request(requestId, policy, extra));
}

beforeAll(async () => {
  server = await startProviderServer();
  const prefix = uniqueName('rq');
  const dir = writePolicies({ 'catalog.policy': catalog(server.url, prefix), 'main.policy': MAIN_POLICY });
  fs.writeFileSync(path.join(dir, 'offline.policy'), offlinePolicy(dir, prefix));
  stack = await startStack({ dir, taskQueue: uniqueName('requests') });
});

afterAll(async () => {
  await stack?.close();
  await server?.close();
});

describe('the request workflow', () => {
  it('is served by the primary, with the result of docs/running.md', async () => {
    const rid = id('basic');
    const handle = await stack.client.start(request(rid, 'main', { tags: { case: 'basic' } }));
    expect(handle.started).toBe(true);
    const result = await handle.result();
    expect(result).toMatchObject({
      id: rid,
      status: 'served',
      policy: 'main',
      plan: stack.registry.current('main')!.plan.hash,
      route: 'basic',
      model: 'small',
      provider: 'local',
      output: { finishReason: 'length', truncated: true, empty: false, tokens: 16 },
      reason: null,
    });
    expect(result.output!.content!.length).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBe(16);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.cost).toMatch(/^0\.\d+$/);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]).toMatchObject({ model: 'small', endpoint: server.url, outcome: 'answered' });
    expect(result.attempts[0]!.ms).toBeGreaterThan(0);
    expect(result.decision).toMatchObject({ route: 'basic', excluded: [], budgets: [], guards: [] });
    // The decision and status queries.
    expect((await handle.decision())?.route).toBe('basic');
    expect(await handle.status()).toMatchObject({ phase: 'done', route: 'basic', attempts: 1 });
    // One call, through the real Ollama client.
    expect(calls(rid).map((c) => [c.path, c.model])).toEqual([['/api/chat', 'small']]);
  });

  it('retries with backoff, then falls back (503s)', async () => {
    const rid = id('fallback');
    server.faults.add({ model: 'small', status: 503, times: 3 });
    const result = await infer(rid, 'main', { tags: { case: 'fallback' } });
    expect(result.status).toBe('served');
    expect(result.model).toBe('big');
    expect(result.attempts.map((a) => [a.model, a.outcome, a.status ?? null, a.delayBeforeMs])).toEqual([
      ['small', 'error', 503, 0],
      ['small', 'error', 503, 100],
      ['small', 'error', 503, 200],
      ['big', 'answered', null, 0],
    ]);
    const seen = calls(rid);
    expect(seen.map((c) => c.path)).toEqual(['/api/chat', '/api/chat', '/api/chat', '/v1/chat/completions']);
    // The backoffs were slept (durable timers): 100 ms, then 200 ms.
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(100);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(200);
  });

  it('fails on a 400 without retrying or failing over', async () => {
    const rid = id('bad-request');
    server.faults.add({ model: 'small', status: 400, times: 1 });
    const result = await infer(rid, 'main', { tags: { case: 'fallback' } });
    expect(result.status).toBe('failed');
    expect(result.model).toBeNull();
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]).toMatchObject({
      model: 'small',
      outcome: 'error',
      status: 400,
      errorClass: 'non-retryable',
    });
    expect(result.reason).toMatch(/not retried, not failed over/);
    expect(calls(rid)).toHaveLength(1);
  });

  it('fails over on a context-length error, without retrying the model', async () => {
    const rid = id('context');
    server.faults.add({ model: 'small', contextLength: true, times: 1 });
    const result = await infer(rid, 'main', { tags: { case: 'fallback' } });
    expect(result.status).toBe('served');
    expect(result.model).toBe('big');
    expect(result.attempts.map((a) => [a.model, a.errorClass ?? a.outcome])).toEqual([
      ['small', 'context-length'],
      ['big', 'answered'],
    ]);
  });

  it('honours 429 Retry-After (OpenAI client)', async () => {
    const rid = id('retry-after');
    server.faults.add({ model: 'big', status: 429, retryAfter: 1, times: 1 });
    const result = await infer(rid, 'main', { tags: { case: 'external' } });
    expect(result.status).toBe('served');
    expect(result.model).toBe('big');
    expect(result.attempts.map((a) => [a.errorClass ?? a.outcome, a.delayBeforeMs])).toEqual([
      ['retry-after', 0],
      ['answered', 1000],
    ]);
    const seen = calls(rid);
    expect(seen).toHaveLength(2);
    // The second call came a whole second later, not after the policy's 100 ms backoff.
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(seen[1]!.at - seen[0]!.at).toBeLessThan(2500);
  });

  it('escalates on a truncated answer', async () => {
    const rid = id('escalate-truncated');
    server.faults.add({ model: 'small', truncateAt: 3, times: 1 });
    const result = await infer(rid, 'main', { tags: { case: 'escalate' } });
    expect(result.status).toBe('served');
    expect(result.model).toBe('big');
    expect(result.escalation).toMatchObject({ from: 'small', to: 'big', outcome: 'answered' });
    expect(result.attempts.map((a) => a.model)).toEqual(['small', 'big']);
    // Both answers are paid for.
    expect(result.usage.outputTokens).toBe(3 + 16);
  });

  it('escalates on an empty answer', async () => {
    const rid = id('escalate-empty');
    server.faults.add({ model: 'small', empty: true, times: 1 });
    const result = await infer(rid, 'main', { tags: { case: 'escalate' } });
    expect(result.model).toBe('big');
    expect(result.escalation).toMatchObject({ from: 'small', to: 'big', outcome: 'answered' });
    expect(result.attempts.map((a) => a.outcome)).toEqual(['answered', 'answered']);
  });

  it('does not escalate a full answer', async () => {
    const rid = id('no-escalation');
    const result = await infer(rid, 'main', { tags: { case: 'escalate' } });
    expect(result.model).toBe('small');
    expect(result.escalation).toBeUndefined();
    expect(result.attempts).toHaveLength(1);
  });

  it('stops at the deadline, with what was tried', async () => {
    const rid = id('deadline');
    server.faults.add({ model: 'small', delayMs: 5_000 });
    const started = Date.now();
    try {
      const result = await infer(rid, 'main', { tags: { case: 'deadline' } });
      const took = Date.now() - started;
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/^deadline 1s passed after \d+ attempts?/);
      expect(result.attempts.length).toBeGreaterThanOrEqual(1);
      expect(result.attempts.every((a) => a.outcome === 'timeout')).toBe(true);
      // The first attempt had its 600 ms; the next was capped by what was left of the 1 s deadline.
      expect(result.attempts[0]!.timeoutMs).toBe(600);
      if (result.attempts[1]) expect(result.attempts[1].timeoutMs).toBeLessThanOrEqual(300);
      expect(took).toBeLessThan(2_500);
      expect(result.elapsedMs).toBeGreaterThanOrEqual(600);
    } finally {
      server.faults.clear();
    }
  });

  it('keeps split picks stable: the same id always gets the same model', async () => {
    const plan = stack.registry.current('main')!.plan;
    const picks = new Map<string, string>();
    for (let i = 0; i < 8; i++) {
      const rid = id(`split-${i}`);
      const req = request(rid, 'main', { tags: { case: 'split' } });
      const expected = decide(plan, req).split!.picked!;
      const result = await stack.client.infer(req);
      expect(result.model).toBe(expected);
      picks.set(rid, result.model!);
      // The decision recorded in history names the same pick.
      expect(result.decision.split?.picked).toBe(expected);
    }
    expect(new Set(picks.values())).toEqual(new Set(['small', 'alt']));
    // Asking again with an id returns that id's run, with its model.
    const [first, model] = [...picks.entries()][0]!;
    const again = await stack.client.start(request(first, 'main', { tags: { case: 'split' } }));
    expect(again.started).toBe(false);
    expect((await again.result()).model).toBe(model);
  });

  it('applies `require` at run time: a confidential request never reaches the external provider', async () => {
    const rid = id('confidential');
    const result = await infer(rid, 'main', { tags: { case: 'external' }, classification: 'confidential' });
    expect(result.status).toBe('served');
    expect(result.model).toBe('small');
    expect(result.provider).toBe('local');
    expect(result.decision.excluded).toEqual([
      expect.objectContaining({
        model: 'big',
        rule: 'require private when classification >= confidential',
      }),
    ]);
    const seen = calls(rid);
    expect(seen.map((c) => c.api)).toEqual(['ollama']);
    expect(
      server.requests.some((r) => r.api === 'openai' && JSON.stringify(r.messages ?? []).includes(rid)),
    ).toBe(false);
    // The same request, internal: served by the external model.
    const internal = id('internal');
    expect((await infer(internal, 'main', { tags: { case: 'external' } })).model).toBe('big');
  });

  it('runs a request id once: the same id twice is one workflow and one provider call', async () => {
    const rid = id('idempotent');
    const req = request(rid, 'main', { tags: { case: 'basic' } });
    const [a, b] = await Promise.all([stack.client.start(req), stack.client.start(req)]);
    expect([a.started, b.started].sort()).toEqual([false, true]);
    const [ra, rb] = await Promise.all([a.result(), b.result()]);
    expect(rb).toEqual(ra);
    const later = await stack.client.infer(req);
    expect(later).toEqual(ra);
    expect(calls(rid)).toHaveLength(1);
  });

  it('serves from the embedded provider (the GGUF model inside the worker)', async () => {
    const rid = id('embedded');
    const result = await infer(rid, 'offline');
    expect(result).toMatchObject({ status: 'served', model: 'tiny', provider: 'on-box' });
    expect(result.output!.content!.length).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBe(12);
    expect(result.attempts[0]!.endpoint).toMatch(/^embedded:.*stories260K\.gguf$/);
    expect(calls(rid)).toHaveLength(0);
  });

  it('cancels the provider call when the request is cancelled', async () => {
    const rid = id('cancel');
    server.faults.add({ model: 'small', delayMs: 10_000, times: 1 });
    const handle = await stack.client.start(request(rid, 'main', { tags: { case: 'basic' } }));
    await eventually(() => calls(rid).length === 1, 10_000, 'the call to start');
    const started = Date.now();
    await stack.client.temporal.workflow.getHandle(rid).cancel();
    await expect(handle.result()).rejects.toThrow(/cancel/i);
    // Cancelled at once, well before the 10 s call would have ended; the attempt's activity hears
    // of it through its heartbeat and aborts the HTTP call.
    expect(Date.now() - started).toBeLessThan(5_000);
    const [history] = await fetchHistories([rid]);
    const events = history!.history.events!;
    expect(events.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
    expect(events.some((e) => e.workflowExecutionCanceledEventAttributes)).toBe(true);
    expect(events.some((e) => e.activityTaskCompletedEventAttributes)).toBe(false);
  });

  it('rejects before any attempt: no route, unknown policy', async () => {
    const none = await infer(id('no-route'), 'main', { tags: { case: 'poetry' } });
    expect(none).toMatchObject({ status: 'rejected', reason: 'no route for this case', attempts: [] });
    const unknown = await infer(id('unknown-policy'), 'nope');
    expect(unknown.status).toBe('rejected');
    expect(unknown.reason).toMatch(/no policy named "nope" \(loaded: main, offline\)/);
  });

  it('throws typed errors when asked to', async () => {
    await expect(
      stack.client.infer(request(id('throw-rejected'), 'main', { tags: { case: 'poetry' } }), {
        throwOnFailure: true,
      }),
    ).rejects.toBeInstanceOf(RequestRejected);
    server.faults.add({ model: 'small', status: 400, times: 1 });
    const failure = await stack.client
      .infer(request(id('throw-failed'), 'main', { tags: { case: 'basic' } }), { throwOnFailure: true })
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RequestFailed);
    expect((failure as RequestFailed).attempts).toHaveLength(1);
    const invalid = await stack.client
      .infer({ policy: 'main', messages: [] } as never)
      .catch((err: unknown) => err);
    expect(invalid).toBeInstanceOf(InvalidRequest);
    expect((invalid as InvalidRequest).message).toMatch(/capability|messages/);
  });

  it('gives a request without id a fresh one', async () => {
    const result = await stack.client.infer({
      policy: 'main',
      capability: 'chat',
      tags: { case: 'basic' },
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(result.id).toMatch(/^req-[0-9a-f-]{36}$/);
    ids.push(result.id);
  });

  it('starts the workflow the worker registers, by the name and queries of the contract', () => {
    // The client starts `WORKFLOW_TYPE` and queries with the contract's definitions; the worker
    // registers the functions workflows/index.ts exports, by name.
    expect(typeof (workflows as Record<string, unknown>)[WORKFLOW_TYPE]).toBe('function');
    expect(workflows.decisionQuery).toBe(decisionQuery);
    expect(workflows.statusQuery).toBe(statusQuery);
  });

  it('replays every recorded history without non-determinism', async () => {
    const histories = await fetchHistories(ids);
    expect(histories.length).toBeGreaterThanOrEqual(20);
    expect(await replay(histories)).toEqual([]);
  });
});
