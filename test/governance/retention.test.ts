/**
 * Audit retention through the real request workflow: a real Temporal dev server, workers in this
 * process, the real store (SQLite, and PostgreSQL when `SWITCHYARD_TEST_POSTGRES` names one or
 * scripts/start-postgres.sh can start one), the provider test server.
 *
 * A policy with `audit { retain 1 day }` and one without; the workers' governance clock is the
 * real one plus an offset the tests move by days. Workers prune at start and then every
 * `pruneEveryMs` (an hour by default; shorter here).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../store/types.js';
import { backends, type Backend } from '../store/backends.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { eventually, startStack, uniqueName, writePolicies, type Stack } from '../support/temporal.js';
import { catalog, govRequest } from './fixtures.js';

const DAY = 86_400_000;
const BACKENDS = await backends();
let server: ProviderServer;
let dir: string;
/** Added to the governance activities' clock (and so to the records' times and the pruning's now). */
let offset = 0;
const clock = () => Date.now() + offset;

const POLICIES = `
import "catalog.policy"

policy shortlived {
  budget b per team {
    limit $1 per day
    on-exceed reject
  }
  audit {
    retain 1 day
  }
  route r when true { use small max-tokens 4 }
}

policy forever {
  route r when true { use small max-tokens 4 }
}
`;

beforeAll(async () => {
  server = await startProviderServer();
  dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('gr')),
    'retention.policy': POLICIES,
  });
});

afterAll(async () => {
  await server?.close();
  for (const backend of BACKENDS) await backend.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
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

  const stacks: Stack[] = [];
  async function stack(url: string, more: Partial<Parameters<typeof startStack>[0]> = {}): Promise<Stack> {
    const started = await startStack({
      dir,
      taskQueue: uniqueName(`gret-${name}`),
      storeUrl: url,
      clock,
      ...more,
    });
    stacks.push(started);
    return started;
  }
  afterAll(async () => {
    offset = 0;
    for (const s of stacks) await s.close().catch(() => undefined);
  });

  async function serve(s: Stack, policy: string, team: string): Promise<string> {
    const id = uniqueName(`${policy}-${name}`);
    const result = await s.client.infer(govRequest(id, policy, team));
    expect(result.status).toBe('served');
    return id;
  }
  const ids = async (store: Store) => (await store.tailAudit(100)).map((r) => r.id);

  it(
    "records expire after their policy's `retain 1 day`; a restarted worker prunes them, up to the first record kept forever",
    { timeout: 90_000 },
    async () => {
      offset = 0;
      const url = backend.freshUrl();
      const team = uniqueName('team');
      const first = await stack(url);
      const a = await serve(first, 'shortlived', team);
      const b = await serve(first, 'shortlived', team);
      const c = await serve(first, 'forever', team);
      const d = await serve(first, 'shortlived', team);
      const raw = await backend.raw(url);
      const rows = await raw.query('SELECT id, time_ms, expires_ms FROM audit_records ORDER BY seq');
      await raw.close();
      expect(
        rows.map((r) => [r.id, r.expires_ms === null ? null : Number(r.expires_ms) - Number(r.time_ms)]),
      ).toEqual([
        [a, DAY],
        [b, DAY],
        [c, null],
        [d, DAY],
      ]);
      // Nothing has expired yet: the workers' pruning at start and on their timer deleted nothing.
      expect(await ids(first.store)).toEqual([a, b, c, d]);
      await first.close();

      // Two days later a new worker starts: a and b are past their retention; c is kept forever,
      // so d (expired too) stays behind it.
      offset = 2 * DAY;
      const lines: string[] = [];
      const second = await stack(url, { log: (line) => lines.push(line) });
      await eventually(
        async () => (await ids(second.store)).length === 2,
        20_000,
        'the expired records to go',
      );
      expect(await ids(second.store)).toEqual([c, d]);
      expect(await second.store.verifyAudit()).toMatchObject({ ok: true, count: 2, pruned: 2 });
      expect(lines).toContain(
        'switchyard worker: pruned 2 expired audit records; the chain now starts after #2',
      );
    },
  );

  it(
    'a running worker prunes on its timer: expired audit records and week-old ledger reservations go',
    { timeout: 90_000 },
    async () => {
      offset = 0;
      const url = backend.freshUrl();
      const s = await stack(url, { pruneEveryMs: 250 });
      const team = uniqueName('team');
      const x = await serve(s, 'shortlived', team);
      const y = await serve(s, 'shortlived', team);
      const raw = await backend.raw(url);
      const reservations = async () =>
        Number((await raw.query('SELECT COUNT(*) AS n FROM ledger_reservations'))[0]!.n);
      try {
        expect(await reservations()).toBe(2);
        // Several ticks pass; nothing is due yet.
        await new Promise((r) => setTimeout(r, 1_000));
        expect(await ids(s.store)).toEqual([x, y]);
        // 8 days on (no restart): the audit records are past their day, the settled reservations
        // past the ledger's 7 days.
        offset = 8 * DAY;
        await eventually(
          async () => (await ids(s.store)).length === 0 && (await reservations()) === 0,
          20_000,
          'the timer to prune',
        );
        expect(await s.store.verifyAudit()).toMatchObject({ ok: true, count: 0, pruned: 2 });
        // Later requests continue the chain after the floor.
        const z = await serve(s, 'shortlived', team);
        expect(await s.store.getAudit(z)).toMatchObject({ seq: 3 });
        expect(await s.store.verifyAudit()).toMatchObject({ ok: true, count: 1, pruned: 2 });
      } finally {
        await raw.close();
      }
    },
  );

  it('a failing prune is logged and never stops the worker', { timeout: 60_000 }, async () => {
    offset = 0;
    const lines: string[] = [];
    const s = await stack(backend.freshUrl(), {
      pruneEveryMs: 200,
      log: (line) => lines.push(line),
      wrapStore: (store) =>
        new Proxy(store, {
          get(target, key, receiver) {
            if (key === 'pruneAudit') return () => Promise.reject(new Error('disk on fire'));
            if (key === 'prune') return () => Promise.reject(new Error('ledger on fire'));
            const value = Reflect.get(target, key, receiver) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    await eventually(() => lines.length >= 4, 10_000, 'two failed rounds to be logged');
    expect(lines).toContain('switchyard worker: cannot prune the audit trail: disk on fire');
    expect(lines).toContain('switchyard worker: cannot prune the ledger: ledger on fire');
    await serve(s, 'shortlived', uniqueName('team'));
  });
});
