/**
 * Policies change under a running worker: new requests get the new plan, a request in flight keeps
 * the plan that decided it, and a change with errors is ignored (the plans before stay current).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
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
import { MAIN_POLICY, catalog } from './fixtures.js';

let server: ProviderServer;
let stack: Stack;

beforeAll(async () => {
  server = await startProviderServer();
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('rl')),
    'main.policy': MAIN_POLICY,
  });
  stack = await startStack({ dir, taskQueue: uniqueName('reload'), watch: true });
});

afterAll(async () => {
  await stack?.close();
  await server?.close();
});

it('gives new requests the new plan; running ones keep theirs', { timeout: 60_000 }, async () => {
  const file = path.join(stack.dir, 'main.policy');
  const before = stack.registry.current('main')!.plan.hash;

  // A request in flight (its call hangs for 1.5 s) while the policy changes.
  server.faults.add({ model: 'small', delayMs: 1_500, times: 1 });
  const oldId = uniqueName('req-old-plan');
  const inFlight = await stack.client.start(request(oldId, 'main', { tags: { case: 'basic' } }));
  await eventually(() => server.requests.some((r) => JSON.stringify(r.messages ?? []).includes(oldId)));

  fs.writeFileSync(file, MAIN_POLICY.replace('use small max-tokens 16', 'use small max-tokens 5'));
  await eventually(() => stack.registry.current('main')!.plan.hash !== before, 15_000, 'the reload');
  const after = stack.registry.current('main')!.plan.hash;

  const old = await inFlight.result();
  expect(old).toMatchObject({ status: 'served', plan: before });
  expect(old.usage.outputTokens).toBe(16);

  const newId = uniqueName('req-new-plan');
  const fresh = await stack.client.infer(request(newId, 'main', { tags: { case: 'basic' } }));
  expect(fresh).toMatchObject({ status: 'served', plan: after });
  expect(fresh.usage.outputTokens).toBe(5);
  // The old plan is still known by hash (a running request may still need it).
  expect(stack.registry.byHash(before)).toBeDefined();

  // A broken change is reported and ignored.
  fs.writeFileSync(file, MAIN_POLICY.replace('use small max-tokens 16', 'use nothing-here'));
  const result = await stack.registry.reload();
  expect(result.ok).toBe(false);
  expect(result.errors.join('\n')).toMatch(/main\.policy:\d+:\d+: error \S+ .*nothing-here/);
  expect(stack.registry.current('main')!.plan.hash).toBe(after);

  expect(await replay(await fetchHistories([oldId, newId]))).toEqual([]);
});
