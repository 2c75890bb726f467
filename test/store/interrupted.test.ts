/**
 * Interrupted direct-mode requests (docs/store.md "Interrupted requests"), on SQLite and
 * PostgreSQL: a request tracked in flight ends in exactly one audit record — its own, or, when its
 * front door stopped, an `interrupted` one written by the sweep, which releases what it still
 * reserved and never charges anything twice, even with several sweepers in several processes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditInput, Store, SweepOutcome, TrackedRequest } from '../../store/types.js';
import { backends, freshStore, spawnWorkers, type Backend } from './backends.js';

const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);
const MINUTE = 60_000;
const BUDGET = 'support/monthly';
const LIMITS = {
  [BUDGET]: { limits: [{ kind: 'money' as const, amount: 1_000_000_000, window: 'month' as const }] },
};

function tracked(requestId: string, overrides: Partial<TrackedRequest> = {}): TrackedRequest {
  return {
    requestId,
    policy: 'support',
    planHash: 'sha256:plan',
    route: 'interactive',
    team: 'support',
    app: 'helpdesk',
    user: 'ana',
    capability: 'chat',
    startedAt: NOW,
    expiresAt: NOW + 5 * MINUTE,
    ...overrides,
  };
}

/** A served request's record, as the request itself appends it. */
function served(id: string): AuditInput {
  return {
    id,
    caller: { team: 'support', app: 'helpdesk', user: 'ana' },
    capability: 'chat',
    classification: null,
    mode: null,
    policy: 'support',
    plan: 'sha256:plan',
    route: 'interactive',
    model: 'llama-8b',
    provider: 'gpu-east',
    status: 'served',
    reason: null,
    attempts: [],
    usage: { inputTokens: 10, outputTokens: 5 },
    costNanos: 1300,
    cost: '0.0000013',
    guards: [],
    budgets: [],
    rateLimits: [],
    prompts: { mode: 'none', messages: [], answer: null },
  };
}

const reservation = (key: string, nanos: number, budget = BUDGET) => ({
  key,
  budget,
  scopeValue: 'support',
  nanos,
  tokens: 100,
});

const BACKENDS = await backends();

afterAll(async () => {
  for (const backend of BACKENDS) await backend.cleanup();
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))(
  '%s store: interrupted requests',
  (_name, backend: Backend) => {
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

    const stores: Store[] = [];
    async function open(): Promise<{ url: string; store: Store }> {
      const opened = await freshStore(backend);
      stores.push(opened.store);
      return opened;
    }
    afterAll(async () => {
      for (const store of stores) await store.close().catch(() => undefined);
    });

    async function inflight(url: string): Promise<string[]> {
      const raw = await backend.raw(url);
      try {
        const rows = await raw.query('SELECT request_id FROM inflight_requests ORDER BY request_id');
        return rows.map((r) => String(r.request_id));
      } finally {
        await raw.close();
      }
    }

    it("a request's own audit record forgets it; the sweep then has nothing to do", async () => {
      const { url, store } = await open();
      await store.trackRequest(tracked('done-1'));
      await store.trackRequest(tracked('done-1')); // idempotent
      expect(await inflight(url)).toEqual(['done-1']);
      await store.appendAudit(served('done-1'));
      expect(await inflight(url)).toEqual([]);
      // Tracking a request already audited (a retried call) does not revive it.
      await store.trackRequest(tracked('done-1'));
      expect(await inflight(url)).toEqual([]);
      expect(await store.sweepInterrupted(NOW + 60 * MINUTE)).toEqual({
        interrupted: [],
        released: 0,
        finished: 0,
      });
      expect((await store.getAudit('done-1'))?.status).toBe('served');
    });

    it('a stopped request: its held reservation is released, its committed attempt stays charged, one interrupted record', async () => {
      const { url, store } = await open();
      await store.trackRequest(tracked('req-7', { retainDays: 30 }));
      // Attempt 1 failed and was released, attempt 2 answered and was committed, attempt 3 was in
      // flight (against two budgets) when the front door died.
      await store.reserve([reservation('req-7#1', 50_000)], LIMITS, NOW);
      await store.release('req-7#1', NOW + 1);
      await store.reserve([reservation('req-7#2', 50_000)], LIMITS, NOW + 2);
      await store.commit('req-7#2', 13_900, 85, NOW + 3);
      const third = [reservation('req-7#3', 70_000), reservation('req-7#3', 70_000, 'support/daily')];
      await store.reserve(third, { ...LIMITS, 'support/daily': LIMITS[BUDGET] }, NOW + 4);
      // Another request whose id matches `req-7#…` only as a pattern (`_` is a LIKE wildcard).
      await store.trackRequest(tracked('req_7', { retainDays: 30 }));
      await store.reserve([reservation('reqX7#1', 10_000)], LIMITS, NOW);

      // Not yet due: nothing happens.
      expect(await store.sweepInterrupted(NOW + 4 * MINUTE)).toEqual({
        interrupted: [],
        released: 0,
        finished: 0,
      });
      expect((await store.usage(BUDGET, 'support', 'month', NOW + 4 * MINUTE)).reservedNanos).toBe(80_000);

      const at = NOW + 6 * MINUTE;
      const swept = await store.sweepInterrupted(at);
      expect({ ...swept, interrupted: swept.interrupted.sort() }).toEqual({
        interrupted: ['req-7', 'req_7'],
        released: 2,
        finished: 0,
      });
      const usage = await store.usage(BUDGET, 'support', 'month', at);
      expect(usage.spentNanos).toBe(13_900);
      // reqX7's reservation (not one of req_7's) still holds its budget until its own expiry.
      expect(usage.reservedNanos).toBe(10_000);
      expect((await store.usage('support/daily', 'support', 'month', at)).reservedNanos).toBe(0);

      const record = await store.getAudit('req-7');
      expect(record).toMatchObject({
        id: 'req-7',
        status: 'interrupted',
        reason: 'the front door stopped before the request finished',
        caller: { team: 'support', app: 'helpdesk', user: 'ana' },
        capability: 'chat',
        policy: 'support',
        plan: 'sha256:plan',
        route: 'interactive',
        model: null,
        costNanos: 13_900,
        cost: '0.0000139',
        time: new Date(at).toISOString(),
        extra: { chargedTokens: 85 },
      });
      expect(record!.budgets).toEqual([
        {
          budget: BUDGET,
          scopeValue: 'support',
          attempt: 1,
          outcome: 'released',
          nanos: 50_000,
          tokens: 100,
        },
        {
          budget: BUDGET,
          scopeValue: 'support',
          attempt: 2,
          outcome: 'committed',
          nanos: 13_900,
          tokens: 85,
        },
        {
          budget: 'support/daily',
          scopeValue: 'support',
          attempt: 3,
          outcome: 'released',
          nanos: 70_000,
          tokens: 100,
        },
        {
          budget: BUDGET,
          scopeValue: 'support',
          attempt: 3,
          outcome: 'released',
          nanos: 70_000,
          tokens: 100,
        },
      ]);
      expect((await store.getAudit('req_7'))?.budgets).toEqual([]);
      expect(await inflight(url)).toEqual([]);

      // Sweeping again changes nothing; the chain verifies; the query finds them by status.
      expect(await store.sweepInterrupted(at + MINUTE)).toEqual({
        interrupted: [],
        released: 0,
        finished: 0,
      });
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 2 });
      expect((await store.queryAudit({ status: 'interrupted' })).map((r) => r.id).sort()).toEqual([
        'req-7',
        'req_7',
      ]);
      // The policy's retention applies to the interrupted record too.
      expect(await store.pruneAudit(at + 31 * 24 * 60 * MINUTE)).toMatchObject({ deleted: 2 });

      // A late commit of the interrupted attempt (its provider answered after all) still charges once.
      await store.commit('req-7#3', 20_000, 10, at + 2);
      await store.commit('req-7#3', 20_000, 10, at + 3);
      expect((await store.usage(BUDGET, 'support', 'month', at)).spentNanos).toBe(33_900);
    });

    it('tracking again only moves the expiry later', async () => {
      const { store } = await open();
      await store.trackRequest(tracked('long', { expiresAt: NOW + 10 * MINUTE }));
      await store.trackRequest(tracked('long', { expiresAt: NOW + 2 * MINUTE }));
      expect((await store.sweepInterrupted(NOW + 5 * MINUTE)).interrupted).toEqual([]);
      expect((await store.sweepInterrupted(NOW + 10 * MINUTE)).interrupted).toEqual(['long']);
      await expect(store.trackRequest(tracked('', {}))).rejects.toThrow(/requestId/);
      await expect(store.trackRequest(tracked('x', { expiresAt: Number.NaN }))).rejects.toThrow(/expiresAt/);
    });

    it('two processes sweeping at once (each with concurrent sweeps): exactly one audit record per request', async () => {
      const { url, store } = await open();
      const N = 30;
      for (let i = 0; i < N; i++) {
        const id = `crash-${String(i).padStart(2, '0')}`;
        await store.trackRequest(tracked(id));
        await store.reserve([reservation(`${id}#1`, 1_000)], LIMITS, NOW);
      }
      const at = NOW + 6 * MINUTE;
      const results = (await spawnWorkers(url, [
        { op: 'sweep', now: at, times: 3 },
        { op: 'sweep', now: at, times: 3 },
      ])) as SweepOutcome[][];
      const outcomes = results.flat();
      const interrupted = outcomes.flatMap((o) => o.interrupted);
      expect(interrupted).toHaveLength(N);
      expect(new Set(interrupted).size).toBe(N);
      expect(outcomes.reduce((sum, o) => sum + o.released, 0)).toBe(N);

      const records = await store.queryAudit({ status: 'interrupted', limit: 1000 });
      expect(records).toHaveLength(N);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: N });
      const usage = await store.usage(BUDGET, 'support', 'month', at);
      expect([usage.reservedNanos, usage.spentNanos]).toEqual([0, 0]);
      expect(await inflight(url)).toEqual([]);
    });
  },
);
