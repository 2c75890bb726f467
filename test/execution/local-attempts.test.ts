/**
 * Local attempts (`attempts: 'local'`): the worker that runs the request workflow also serves the
 * provider queues, and runs attempts as local activities — no round trip through Temporal. The
 * plan's behaviour is the same (retries, backoff, fallback), the provider's concurrency still
 * holds, and the histories replay.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  startProviderServer,
  type ProviderServer,
  type RecordedRequest,
} from '../support/provider-server.js';
import {
  fetchHistories,
  replay,
  request,
  startStack,
  uniqueName,
  writePolicies,
  type Stack,
} from '../support/temporal.js';
import { MAIN_POLICY, catalog } from './fixtures.js';

let server: ProviderServer;
let stack: Stack;
const ids: string[] = [];

function id(name: string): string {
  const value = uniqueName(`local-${name}`);
  ids.push(value);
  return value;
}

function calls(requestId: string): RecordedRequest[] {
  return server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(requestId));
}

beforeAll(async () => {
  server = await startProviderServer();
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('la')),
    'main.policy': MAIN_POLICY,
  });
  stack = await startStack({ dir, taskQueue: uniqueName('local-attempts'), attempts: 'local' });
});

afterAll(async () => {
  await stack?.close();
  await server?.close();
});

it('serves a request with a local attempt: no activity task goes through the server', async () => {
  const rid = id('basic');
  const result = await stack.client.infer(request(rid, 'main', { tags: { case: 'basic' } }));
  expect(result).toMatchObject({ status: 'served', route: 'basic', model: 'small', provider: 'local' });
  expect(result.attempts).toHaveLength(1);
  expect(result.attempts[0]).toMatchObject({ model: 'small', outcome: 'answered', endpoint: server.url });
  expect(calls(rid)).toHaveLength(1);
  const [history] = await fetchHistories([rid]);
  const events = history!.history.events!;
  expect(events.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
  // decide, the attempt and the audit record: local activity markers.
  expect(events.filter((e) => e.markerRecordedEventAttributes).length).toBeGreaterThanOrEqual(3);
});

it('retries with backoff and falls back as the plan says, with local attempts', async () => {
  const rid = id('fallback');
  server.faults.add({ model: 'small', status: 503, times: 3 });
  const result = await stack.client.infer(request(rid, 'main', { tags: { case: 'fallback' } }));
  expect(result.status).toBe('served');
  expect(result.attempts.map((a) => [a.model, a.outcome, a.status ?? null, a.delayBeforeMs])).toEqual([
    ['small', 'error', 503, 0],
    ['small', 'error', 503, 100],
    ['small', 'error', 503, 200],
    ['big', 'answered', null, 0],
  ]);
  const seen = calls(rid);
  expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(100);
  expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(200);
});

it("keeps to the provider's concurrency: at most 4 local attempts at once", async () => {
  // `local` allows 4 attempts at once (concurrency 4 × 1 endpoint); each call takes 600 ms.
  server.faults.add({ model: 'small', delayMs: 600, times: 6 });
  const batch = Array.from({ length: 6 }, (_, i) => id(`gate-${i}`));
  const results = await Promise.all(
    batch.map((rid) => stack.client.infer(request(rid, 'main', { tags: { case: 'basic' } }))),
  );
  expect(results.map((r) => r.status)).toEqual(Array(6).fill('served'));
  const arrivals = batch.map((rid) => calls(rid)[0]!.at).sort((a, b) => a - b);
  // Four start together; the fifth and sixth wait for a free slot.
  expect(arrivals[3]! - arrivals[0]!).toBeLessThan(500);
  expect(arrivals[4]! - arrivals[0]!).toBeGreaterThanOrEqual(550);
});

it('replays every recorded history without non-determinism', async () => {
  const histories = await fetchHistories(ids);
  expect(histories).toHaveLength(ids.length);
  expect(await replay(histories)).toEqual([]);
});
