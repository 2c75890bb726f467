/**
 * The store's side of `switchyard replay` (docs/what-if.md, "Replay"): records keep their routing
 * facts in the replay columns, `verify` checks those columns against the hashed body (and records
 * from before still verify), and `replayRows` streams records oldest first in pages, filtered by
 * team and time — on SQLite and PostgreSQL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditInput, AuditReplayRow, Store } from '../../store/types.js';
import { backends, freshStore, type Backend } from '../store/backends.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const BACKENDS = await backends();

afterAll(async () => {
  for (const backend of BACKENDS) await backend.cleanup();
});

/** A served record as a request leaves it (test/store's shape, without routing facts). */
function auditInput(id: string, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    id,
    caller: { team: 'support', app: 'helpdesk', user: 'u-42' },
    capability: 'chat',
    classification: 'internal',
    mode: 'interactive',
    policy: 'support',
    plan: 'sha256:abc',
    route: 'interactive',
    model: 'llama-8b',
    provider: 'gpu-east',
    status: 'served',
    reason: null,
    attempts: [
      {
        attempt: 1,
        model: 'llama-8b',
        provider: 'gpu-east',
        endpoint: 'http://gpu-east-1:11434',
        outcome: 'answered',
        errorClass: null,
        error: null,
        status: null,
        ms: 812,
      },
    ],
    usage: { inputTokens: 31, outputTokens: 54 },
    costNanos: 13_900,
    cost: '0.0000139',
    guards: [],
    budgets: [],
    rateLimits: [],
    prompts: { mode: 'none', messages: [], answer: null },
    ...overrides,
  };
}

function routed(id: string, team: string, at: number, overrides: Partial<AuditInput> = {}): AuditInput {
  return auditInput(id, {
    time: new Date(at).toISOString(),
    caller: { team, app: 'helpdesk', user: 'u-42' },
    routing: {
      capability: 'chat',
      mode: 'interactive',
      classification: null,
      team,
      app: 'helpdesk',
      user: 'u-42',
      region: 'eu',
      tags: { tier: 'gold' },
      inputTokens: 31,
      maxTokens: 200,
      latency: null,
    },
    extra: { rule: null },
    ...overrides,
  });
}

async function collect(store: Store, query: Parameters<Store['replayRows']>[0], page?: number) {
  const pages: AuditReplayRow[][] = [];
  for await (const rows of store.replayRows(query, page)) pages.push(rows);
  return pages;
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s', (_name, backend: Backend) => {
  if (backend.broken !== undefined) {
    it('reaches the PostgreSQL server it was given', () => {
      throw new Error(backend.broken);
    });
    return;
  }
  if (backend.unavailable !== null) {
    it.skip(`skipped: ${backend.unavailable}`, () => undefined);
    return;
  }

  it('replay columns copy the routing facts; old records have none and still verify', async () => {
    const { url, store } = await freshStore(backend);
    try {
      await store.appendAudit(auditInput('old-1', { time: new Date(NOW).toISOString() }));
      await store.appendAudit(routed('new-1', 'support', NOW + 1000));
      await store.appendAudit(
        routed('new-2', 'search', NOW + 2000, {
          status: 'rejected',
          route: null,
          model: null,
          attempts: [],
          usage: { inputTokens: 0, outputTokens: 0 },
          costNanos: 0,
          extra: { rule: 'otherwise' },
        }),
      );
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 3 });

      const [rows] = await collect(store, {});
      expect(rows).toEqual([
        {
          seq: 1,
          id: 'old-1',
          timeMs: NOW,
          policy: 'support',
          model: 'llama-8b',
          models: ' llama-8b ',
          status: 'served',
          team: 'support',
          app: 'helpdesk',
          user: 'u-42',
          routing: null,
          inputTokens: null,
          route: null,
          rule: null,
          usageInput: null,
          usageOutput: null,
          costNanos: null,
        },
        {
          seq: 2,
          id: 'new-1',
          timeMs: NOW + 1000,
          policy: 'support',
          model: 'llama-8b',
          models: ' llama-8b ',
          status: 'served',
          team: 'support',
          app: 'helpdesk',
          user: 'u-42',
          routing:
            '{"capability":"chat","classification":null,"latency":null,"maxTokens":200,"mode":"interactive","prompts":"none","region":"eu","tags":{"tier":"gold"}}',
          inputTokens: 31,
          route: 'interactive',
          rule: null,
          usageInput: 31,
          usageOutput: 54,
          costNanos: 13_900,
        },
        expect.objectContaining({
          id: 'new-2',
          status: 'rejected',
          route: null,
          rule: 'otherwise',
          costNanos: 0,
        }),
      ]);

      // A replay column changed behind the chain's back shows, named.
      const raw = await backend.raw(url);
      try {
        await raw.query("UPDATE audit_records SET route = 'batch' WHERE id = 'new-1'");
      } finally {
        await raw.close();
      }
      expect(await store.verifyAudit()).toMatchObject({
        ok: false,
        broken: {
          seq: 2,
          id: 'new-1',
          reason: 'its route column (batch) differs from the hashed record',
        },
      });
    } finally {
      await store.close();
    }
  });

  it('streams in pages, oldest first, by team and time; stopping early leaves the store usable', async () => {
    const { store } = await freshStore(backend);
    try {
      for (let i = 0; i < 25; i++) {
        await store.appendAudit(routed(`r-${i}`, i % 2 === 0 ? 'support' : 'search', NOW + i * 60_000));
      }
      const pages = await collect(store, {}, 10);
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pages.flat().map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));

      const search = (await collect(store, { team: 'search', since: NOW + 10 * 60_000 }, 4)).flat();
      expect(search.map((r) => r.id)).toEqual(['r-11', 'r-13', 'r-15', 'r-17', 'r-19', 'r-21', 'r-23']);
      const until = (await collect(store, { until: NOW + 2 * 60_000 })).flat();
      expect(until.map((r) => r.id)).toEqual(['r-0', 'r-1']);

      // The body comes only with a prompt kept in full.
      await store.appendAudit(
        routed('full', 'support', NOW + 40 * 60_000, {
          prompts: { mode: 'full', messages: [{ role: 'user', content: 'hello' }], answer: null },
        }),
      );
      const withBody = (await collect(store, { since: NOW + 24 * 60_000, withBody: true })).flat();
      expect(withBody.map((r) => [r.id, r.body === undefined ? null : JSON.parse(r.body).prompts])).toEqual([
        ['r-24', null],
        ['full', { mode: 'full', messages: [{ role: 'user', content: 'hello' }], answer: null }],
      ]);

      // A consumer that breaks off: the stream ends its read, the store goes on.
      for await (const rows of store.replayRows({}, 3)) {
        expect(rows).toHaveLength(3);
        break;
      }
      await store.appendAudit(routed('after', 'support', NOW + 30 * 60_000));
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 27 });
    } finally {
      await store.close();
    }
  });
});
