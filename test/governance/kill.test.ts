/**
 * A worker killed (-9) between a reservation and its commit: `switchyard worker` runs as a child
 * process with the store of the backend under test; its attempt hangs on a slow provider, so the
 * reservation is made and not yet committed; the worker is killed and a new one starts. Temporal
 * re-runs the lost attempt on the new worker; the request is served and charged exactly once, and
 * nothing stays reserved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerName } from '../../activities/governance.js';
import { SwitchyardClient } from '../../client/index.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { backends, type Backend } from '../store/backends.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import {
  eventually,
  spawnCli,
  temporalAddress,
  uniqueName,
  writePolicies,
  type CliProcess,
} from '../support/temporal.js';
import { catalog, govRequest, SMALL_NANOS } from './fixtures.js';

const BACKENDS = await backends();
let server: ProviderServer;
let client: SwitchyardClient;
let dir: string;
const children: CliProcess[] = [];

const POLICY = `
import "catalog.policy"

policy killed {
  budget b per team {
    limit $1 per day
    on-exceed reject
  }
  route r when true { use small max-tokens 4 }
}
`;

beforeAll(async () => {
  server = await startProviderServer();
  dir = writePolicies({ 'catalog.policy': catalog(server.url, uniqueName('gk')), 'killed.policy': POLICY });
});

afterAll(async () => {
  for (const child of children) child.child.kill('SIGKILL');
  await client?.close();
  await server?.close();
  for (const backend of BACKENDS) await backend.cleanup();
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s store', (name, backend: Backend) => {
  if (backend.broken !== undefined) {
    it('PostgreSQL is usable', () => {
      throw new Error(backend.broken);
    });
    return;
  }
  if (backend.unavailable !== null) {
    it.skip(`skipped: ${backend.unavailable}`, () => undefined);
    return;
  }

  let store: Store;
  let url: string;
  const taskQueue = uniqueName(`gkill-${name}`);

  beforeAll(async () => {
    url = backend.freshUrl();
    store = await openStore(url);
    client ??= await SwitchyardClient.connect({ address: temporalAddress() });
  });

  afterAll(async () => {
    await store?.close();
  });

  function startWorker(): CliProcess {
    const child = spawnCli(
      ['worker', '--policies', dir, '--address', temporalAddress(), '--task-queue', taskQueue, '--no-watch'],
      { env: { SWITCHYARD_STORE: url } },
    );
    children.push(child);
    return child;
  }

  it(
    'a worker killed between reserve and commit: served after a restart, charged once',
    { timeout: 90_000 },
    async () => {
      const first = startWorker();
      await first.waitFor(/switchyard worker ready/);
      const team = uniqueName('killed');
      const rid = uniqueName('req-gkill');
      const calls = () => server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(rid));
      // The first call hangs (until its worker dies: the server stops waiting when the caller goes).
      server.faults.add({ model: 'small', delayMs: 30_000, times: 1 });
      const switchyard = new SwitchyardClient(client.temporal, { taskQueue });
      const handle = await switchyard.start(govRequest(rid, 'killed', team));
      await eventually(() => calls().length === 1, 20_000, 'the first call to reach the provider');

      // Reserved, not committed.
      const budget = ledgerName('killed', 'b');
      const before = await store.usage(budget, team, 'day');
      expect(before).toMatchObject({ reservedNanos: SMALL_NANOS, spentNanos: 0 });
      // The replacement is up before the kill (as a supervisor's standby would be), so the
      // attempt's timeouts measure Temporal noticing the loss, not a worker booting on a busy machine.
      const second = startWorker();
      await second.waitFor(/switchyard worker ready/);
      first.child.kill('SIGKILL');
      await first.exited;

      const result = await handle.result();
      expect(result).toMatchObject({ status: 'served', model: 'small' });
      expect(result.attempts).toHaveLength(1);
      expect(calls()).toHaveLength(2);

      const after = await store.usage(budget, team, 'day');
      expect(after).toMatchObject({ spentNanos: result.costNanos, reservedNanos: 0 });
      expect(result.costNanos).toBeGreaterThan(0);
      const records = await store.queryAudit({ team });
      expect(records.map((r) => [r.id, r.status, r.costNanos])).toEqual([[rid, 'served', result.costNanos]]);
      expect(await store.verifyAudit()).toMatchObject({ ok: true });

      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    },
  );
});
