/**
 * Two attempt runners of one process (a worker and the front door's direct runner, say) that share
 * their provider gates run at most the provider's concurrency together, not that much each.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProviderGates } from '../../activities/index.js';
import { ledgerName } from '../../activities/governance.js';
import { CALLER_GONE, createDirectRunner } from '../../frontdoor/direct.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { PlanRegistry } from '../../worker/registry.js';
import { catalog, freshKey, KEY_ENV } from '../governance/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { eventually, tempStoreUrl, uniqueName, writePolicies } from '../support/temporal.js';

let server: ProviderServer;
let store: Store;
let registry: PlanRegistry;

beforeAll(async () => {
  process.env[KEY_ENV] = freshKey();
  server = await startProviderServer();
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('gates')),
    'p.policy': `import "catalog.policy"
policy p {
  budget b per team {
    limit $1 per day
    on-exceed reject
  }
  route r when true { use small max-tokens 8 }
}`,
  });
  registry = await PlanRegistry.load(dir);
  store = await openStore(tempStoreUrl('switchyard-gates-'));
});

afterAll(async () => {
  await store?.close();
  await server?.close();
});

it('shared gates: a provider allowed one attempt at a time runs one, across two runners', async () => {
  const gates = new ProviderGates(() => 1);
  const runners = [0, 1].map(() =>
    createDirectRunner({ plans: registry, store, gates, sweepEveryMs: 0, log: () => undefined }),
  );
  server.faults.add({ model: 'small', tokenDelayMs: 40 });
  const finished: Record<string, number> = {};
  const run = (i: number) => {
    const id = uniqueName(`g${i}`);
    return runners[i]!.run({
      id,
      policy: 'p',
      capability: 'chat',
      messages: [{ role: 'user', content: `Once upon a time [${id}]` }],
    }).then((result) => {
      finished[id] = Date.now();
      return result;
    });
  };
  const results = await Promise.all([run(0), run(1)]);
  server.faults.clear();
  expect(results.map((r) => r.status)).toEqual(['served', 'served']);
  const calls = results.map((r) => server.requests.find((c) => JSON.stringify(c.messages).includes(r.id))!);
  const [first, second] = calls[0]!.at <= calls[1]!.at ? [0, 1] : [1, 0];
  // The second call reached the provider only once the first request was over.
  expect(calls[second]!.at).toBeGreaterThanOrEqual(finished[results[first]!.id]! - 5);
  for (const r of runners) r.close();
});

it('a caller that leaves while its attempt waits for the provider gets its reservation back at once', async () => {
  const gates = new ProviderGates(() => 1);
  const runner = createDirectRunner({ plans: registry, store, gates, sweepEveryMs: 0, log: () => undefined });
  const team = uniqueName('leaver');
  const ask = (id: string) => ({
    id,
    policy: 'p',
    capability: 'chat',
    team,
    inputTokens: 100,
    messages: [{ role: 'user' as const, content: `Once upon a time [${id}]` }],
  });
  server.faults.add({ model: 'small', tokenDelayMs: 60, times: 1 });
  const busyId = uniqueName('busy');
  const busy = runner.run(ask(busyId));
  await eventually(() => server.requests.some((r) => JSON.stringify(r.messages).includes(busyId)));
  // The second request reserves its budget, then waits for the one permit; its caller leaves.
  const leaver = uniqueName('leaver');
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 250);
  const left = await runner.run(ask(leaver), { signal: abort.signal });
  server.faults.clear();
  expect(left.status).toBe('failed');
  expect(left.reason).toBe(CALLER_GONE);
  expect(left.attempts).toEqual([]);
  const usage = await store.usage(ledgerName('p', 'b'), team, 'day');
  const served = await busy;
  expect(served.status).toBe('served');
  // Only the busy request's reservation was held while it ran; the leaver's went back at once.
  expect(usage.reservedNanos).toBeGreaterThan(0);
  const after = await store.usage(ledgerName('p', 'b'), team, 'day');
  expect(after.reservedNanos).toBe(0);
  expect(after.spentNanos).toBe(served.costNanos);
  expect(server.requests.some((r) => JSON.stringify(r.messages).includes(leaver))).toBe(false);
  expect(await store.getAudit(leaver)).toMatchObject({ status: 'failed', reason: CALLER_GONE, costNanos: 0 });
  runner.close();
});
