/**
 * The store's shared suite (docs/architecture.md, decisions 5–6), run against SQLite and
 * PostgreSQL: the ledger under concurrency (several processes, each with its own connection),
 * idempotency, expiry, calendar windows, rate limits, the audit chain (concurrent appends,
 * tampering), schema migrations and the secrets scrub.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, MIGRATIONS, openStore, sha256, StoreError } from '../../store/index.js';
import { checksum, CREATE_MIGRATIONS_TABLE } from '../../store/migrations/index.js';
import { SECRET_MARK } from '../../store/scrub.js';
import type { AuditInput, BudgetLimits, RateLimitSpec, Store } from '../../store/types.js';
import { backends, freshStore, spawnWorkers, type Backend, type WorkerJob } from './backends.js';

/** Friday 27 November 2026, 12:00 UTC. */
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PROCESSES = 4;
const CONCURRENCY = 64;

const money = (
  amount: number,
  window: 'minute' | 'hour' | 'day' | 'week' | 'month' = 'month',
): BudgetLimits => ({
  limits: [{ kind: 'money', amount, window }],
});
const reservation = (
  key: string,
  nanos: number,
  tokens = 0,
  budget = 'support/monthly',
  scopeValue: string | null = 'support',
) => ({
  key,
  budget,
  scopeValue,
  nanos,
  tokens,
});

/** `n` items split round-robin over `PROCESSES` jobs. */
function split<T>(items: T[]): T[][] {
  const jobs: T[][] = Array.from({ length: PROCESSES }, () => []);
  items.forEach((item, i) => jobs[i % PROCESSES]!.push(item));
  return jobs;
}

export function auditInput(id: string, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    id,
    time: new Date(NOW).toISOString(),
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

const BACKENDS = await backends();

afterAll(async () => {
  for (const backend of BACKENDS) await backend.cleanup();
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s store', (_name, backend: Backend) => {
  if (backend.broken !== undefined) {
    it('reaches the PostgreSQL server it was given', () => {
      throw new Error(backend.broken);
    });
    return;
  }
  if (backend.unavailable !== null) {
    console.warn(`PostgreSQL store suite skipped: ${backend.unavailable}`);
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

  describe('budget ledger under concurrency', () => {
    it(`${CONCURRENCY} concurrent reservations against a budget that fits N: exactly N succeed, and the ledger is the sum of commits`, async () => {
      const { url, store } = await open();
      const cost = 1_000_000; // $0.001 each
      const N = 10;
      const limit = N * cost + cost / 2;
      const items = Array.from({ length: CONCURRENCY }, (_, i) => reservation(`req-${i}#1`, cost));
      const jobs: WorkerJob[] = split(items).map((part) => ({
        op: 'reserve',
        items: part,
        limits: { 'support/monthly': money(limit) },
        now: NOW,
      }));
      const results = (await spawnWorkers(url, jobs)).flat() as { key: string; ok: boolean }[];
      const winners = results.filter((r) => r.ok).map((r) => r.key);
      expect(results).toHaveLength(CONCURRENCY);
      expect(winners).toHaveLength(N);

      let usage = await store.usage('support/monthly', 'support', 'month', NOW);
      expect(usage.reservedNanos).toBe(N * cost);
      expect(usage.spentNanos + usage.reservedNanos).toBeLessThanOrEqual(limit);

      // Commit actual costs below the estimates; the ledger is their sum, nothing stays reserved.
      let committed = 0;
      for (const [i, key] of winners.entries()) {
        const actual = cost - 1_000 * (i + 1);
        committed += actual;
        await store.commit(key, actual, 0, NOW);
      }
      usage = await store.usage('support/monthly', 'support', 'month', NOW);
      expect(usage.spentNanos).toBe(committed);
      expect(usage.reservedNanos).toBe(0);
    });

    it('reserve-and-commit churn from several processes never overspends, and the ledger equals the commits', async () => {
      const { url, store } = await open();
      const estimate = 5_000;
      const limit = 100_000;
      // Actual costs vary; some reservations fit later because earlier commits cost less than reserved.
      const items = Array.from({ length: CONCURRENCY }, (_, i) => ({
        ...reservation(`churn-${i}#1`, estimate),
        commit: { nanos: 1_000 + ((i * 577) % 4_000), tokens: 0 },
      }));
      const jobs: WorkerJob[] = split(items).map((part) => ({
        op: 'reserve',
        items: part,
        limits: { 'support/monthly': money(limit) },
        now: NOW,
      }));
      const results = (await spawnWorkers(url, jobs)).flat() as { key: string; ok: boolean }[];
      const committed = items
        .filter((item) => results.find((r) => r.key === item.key)?.ok)
        .reduce((sum, item) => sum + item.commit.nanos, 0);
      const usage = await store.usage('support/monthly', 'support', 'month', NOW);
      expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(limit / estimate);
      expect(usage.spentNanos).toBe(committed);
      expect(usage.reservedNanos).toBe(0);
      expect(usage.spentNanos).toBeLessThanOrEqual(limit);
    });

    it(`the same for tokens: ${CONCURRENCY} concurrent reservations, exactly N fit`, async () => {
      const { url, store } = await open();
      const tokens = 4_000;
      const N = 7;
      const limits = {
        'support/daily-tokens': {
          limits: [{ kind: 'tokens' as const, amount: N * tokens + 1, window: 'day' as const }],
        },
      };
      const items = Array.from({ length: CONCURRENCY }, (_, i) =>
        reservation(`tok-${i}#1`, 0, tokens, 'support/daily-tokens'),
      );
      const jobs: WorkerJob[] = split(items).map((part) => ({
        op: 'reserve',
        items: part,
        limits,
        now: NOW,
      }));
      const results = (await spawnWorkers(url, jobs)).flat() as { key: string; ok: boolean }[];
      const winners = results.filter((r) => r.ok).map((r) => r.key);
      expect(winners).toHaveLength(N);
      for (const key of winners) await store.commit(key, 0, 3_000, NOW);
      const usage = await store.usage('support/daily-tokens', 'support', 'day', NOW);
      expect(usage.spentTokens).toBe(N * 3_000);
      expect(usage.reservedTokens).toBe(0);
    });

    it('in-process concurrency on one store (64 promises) is as exact', async () => {
      const { store } = await open();
      const results = await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, i) =>
          store.reserve([reservation(`inproc-${i}#1`, 100)], { 'support/monthly': money(1_234) }, NOW),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(12);
    });
  });

  describe('reserve, commit, release', () => {
    const limits = { 'support/monthly': money(1_000) };

    it('a reservation exceeds when spent + reserved + it > limit (equal fits)', async () => {
      const { store } = await open();
      expect((await store.reserve([reservation('a#1', 600)], limits, NOW)).ok).toBe(true);
      const refused = await store.reserve([reservation('b#1', 401)], limits, NOW);
      expect(refused).toMatchObject({
        ok: false,
        budget: 'support/monthly',
        scopeValue: 'support',
        limit: { kind: 'money', amount: 1_000, window: 'month' },
        usage: { spentNanos: 0, reservedNanos: 600 },
        nanos: 401,
      });
      expect((await store.reserve([reservation('c#1', 400)], limits, NOW)).ok).toBe(true);
    });

    it('scope values are separate buckets; null is one shared bucket', async () => {
      const { store } = await open();
      expect((await store.reserve([reservation('a#1', 1_000)], limits, NOW)).ok).toBe(true);
      expect(
        (await store.reserve([reservation('b#1', 1_000, 0, 'support/monthly', 'sales')], limits, NOW)).ok,
      ).toBe(true);
      expect(
        (await store.reserve([reservation('c#1', 1_000, 0, 'support/monthly', null)], limits, NOW)).ok,
      ).toBe(true);
      expect((await store.reserve([reservation('d#1', 1, 0, 'support/monthly', null)], limits, NOW)).ok).toBe(
        false,
      );
      expect(await store.budgetScopes()).toEqual(
        expect.arrayContaining([
          { budget: 'support/monthly', scopeValue: 'support' },
          { budget: 'support/monthly', scopeValue: 'sales' },
          { budget: 'support/monthly', scopeValue: null },
        ]),
      );
    });

    it('all or nothing across the budgets of one attempt', async () => {
      const { store } = await open();
      const both = { 'support/monthly': money(1_000), 'support/daily': money(100, 'day') };
      const refused = await store.reserve(
        [reservation('a#1', 500), reservation('a#1', 500, 0, 'support/daily')],
        both,
        NOW,
      );
      expect(refused).toMatchObject({ ok: false, budget: 'support/daily' });
      expect((await store.usage('support/monthly', 'support', 'month', NOW)).reservedNanos).toBe(0);
      const ok = await store.reserve(
        [reservation('b#1', 50), reservation('b#1', 50, 0, 'support/daily')],
        both,
        NOW,
      );
      expect(ok.ok).toBe(true);
      const settled = await store.commit('b#1', 40, 7, NOW);
      expect(settled.budgets.map((b) => [b.budget, b.charged, b.chargedNanos])).toEqual([
        ['support/daily', true, 40],
        ['support/monthly', true, 40],
      ]);
    });

    it('a budget that does not enforce (alert, or downgraded) records but never refuses', async () => {
      const { store } = await open();
      const alert = { 'support/monthly': { ...money(100), enforce: false } };
      expect((await store.reserve([reservation('a#1', 500)], alert, NOW)).ok).toBe(true);
      expect((await store.usage('support/monthly', 'support', 'month', NOW)).reservedNanos).toBe(500);
    });

    it('the same key twice counts once', async () => {
      const { store } = await open();
      const first = await store.reserve([reservation('r#1', 700)], limits, NOW);
      const again = await store.reserve([reservation('r#1', 700)], limits, NOW + 5);
      expect(first).toMatchObject({ ok: true, replayed: false });
      expect(again).toMatchObject({ ok: true, replayed: true });
      expect(again.ok && first.ok && again.expiresAt === first.expiresAt).toBe(true);
      expect((await store.usage('support/monthly', 'support', 'month', NOW)).reservedNanos).toBe(700);
    });

    it('a refusal is not remembered: the same key is checked afresh (after a budget wait)', async () => {
      const { store } = await open();
      await store.reserve([reservation('big#1', 900)], limits, NOW);
      expect((await store.reserve([reservation('r#1', 200)], limits, NOW)).ok).toBe(false);
      await store.release('big#1', NOW);
      expect((await store.reserve([reservation('r#1', 200)], limits, NOW)).ok).toBe(true);
    });

    it('commit twice charges once (the first actual cost wins); release after commit changes nothing', async () => {
      const { store } = await open();
      await store.reserve([reservation('r#1', 700)], limits, NOW);
      const first = await store.commit('r#1', 650, 120, NOW);
      const second = await store.commit('r#1', 999, 999, NOW);
      const release = await store.release('r#1', NOW);
      expect(first.budgets[0]).toMatchObject({ previous: 'reserved', state: 'committed', charged: true });
      expect(second.budgets[0]).toMatchObject({ previous: 'committed', charged: false, chargedNanos: 650 });
      expect(release.budgets[0]).toMatchObject({ previous: 'committed', state: 'committed', charged: false });
      const usage = await store.usage('support/monthly', 'support', 'month', NOW);
      expect(usage).toMatchObject({ spentNanos: 650, spentTokens: 120, reservedNanos: 0 });
    });

    it('concurrent commits and releases of one key (retried activities) charge once', async () => {
      const { store } = await open();
      await store.reserve(
        [reservation('r#1', 700), reservation('r#1', 700, 0, 'support/daily')],
        { ...limits, 'support/daily': money(1_000, 'day') },
        NOW,
      );
      const outcomes = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          i % 4 === 3 ? store.release('r#1', NOW) : store.commit('r#1', 600, 60, NOW),
        ),
      );
      const charges = outcomes.flatMap((o) => o.budgets.filter((b) => b.charged));
      expect(charges).toHaveLength(2); // one per budget
      expect((await store.usage('support/monthly', 'support', 'month', NOW)).spentNanos).toBe(600);
      expect((await store.usage('support/daily', 'support', 'day', NOW)).spentNanos).toBe(600);
    });

    it('prune forgets old settled and long-dead reservations and old admissions', async () => {
      const { store } = await open();
      await store.reserve([reservation('old#1', 10)], limits, NOW, 1_000);
      await store.commit('old#1', 10, 0, NOW);
      await store.reserve([reservation('dead#1', 10)], limits, NOW, 1_000);
      await store.reserve([reservation('live#1', 10)], limits, NOW + DAY, DAY);
      await store.admit(
        'req',
        [{ rateLimit: 'r', scopeValue: null, requests: 1, tokens: 0 }],
        { r: [] },
        NOW,
      );
      expect(await store.prune(NOW + HOUR)).toEqual({ reservations: 2, admissions: 1 });
      expect((await store.usage('support/monthly', 'support', 'month', NOW + DAY)).spentNanos).toBe(10);
      expect((await store.commit('live#1', 5, 0, NOW + DAY)).found).toBe(true);
    });

    it('release frees the reservation, twice is the same; an unknown key is reported, not an error', async () => {
      const { store } = await open();
      await store.reserve([reservation('r#1', 700)], limits, NOW);
      expect((await store.release('r#1', NOW)).budgets[0]).toMatchObject({
        previous: 'reserved',
        state: 'released',
      });
      expect((await store.release('r#1', NOW)).budgets[0]).toMatchObject({
        previous: 'released',
        state: 'released',
      });
      expect(await store.usage('support/monthly', 'support', 'month', NOW)).toMatchObject({
        spentNanos: 0,
        reservedNanos: 0,
      });
      expect(await store.commit('nope#1', 1, 1, NOW)).toEqual({ key: 'nope#1', found: false, budgets: [] });
      expect(await store.release('nope#1', NOW)).toEqual({ key: 'nope#1', found: false, budgets: [] });
    });

    it('commit after release still charges the actual cost (the money was spent)', async () => {
      const { store } = await open();
      await store.reserve([reservation('r#1', 700)], limits, NOW);
      await store.release('r#1', NOW);
      const late = await store.commit('r#1', 300, 10, NOW);
      expect(late.budgets[0]).toMatchObject({ previous: 'released', state: 'committed', charged: true });
      expect((await store.usage('support/monthly', 'support', 'month', NOW)).spentNanos).toBe(300);
    });

    it('refuses amounts that are not non-negative safe integers', async () => {
      const { store } = await open();
      await expect(store.reserve([reservation('r#1', 1.5)], limits, NOW)).rejects.toThrow(RangeError);
      await expect(store.reserve([reservation('r#1', -1)], limits, NOW)).rejects.toThrow(RangeError);
      await expect(store.commit('r#1', Number.MAX_SAFE_INTEGER + 1, 0, NOW)).rejects.toThrow(RangeError);
      await expect(store.reserve([reservation('r#1', 1)], {}, NOW)).rejects.toThrow(/no limits given/);
    });

    it('money is exact at large amounts (BIGINT)', async () => {
      const { store } = await open();
      const big = 4_000_000_000_000_000; // $4M in nano-dollars
      const bigLimits = { 'support/monthly': money(big * 2) };
      await store.reserve([reservation('a#1', big)], bigLimits, NOW);
      await store.commit('a#1', big - 1, 0, NOW);
      await store.reserve([reservation('b#1', big)], bigLimits, NOW);
      const usage = await store.usage('support/monthly', 'support', 'month', NOW);
      expect(usage.spentNanos).toBe(big - 1);
      expect(usage.reservedNanos).toBe(big);
      expect((await store.reserve([reservation('c#1', 2)], bigLimits, NOW)).ok).toBe(false);
    });
  });

  describe('expiry', () => {
    const limits = { 'support/monthly': money(1_000) };

    it('a dead reservation stops counting when it expires; committing it later still charges', async () => {
      const { store } = await open();
      expect((await store.reserve([reservation('dead#1', 800)], limits, NOW, 60_000)).ok).toBe(true);
      expect((await store.reserve([reservation('live#1', 800)], limits, NOW + 59_999, 60_000)).ok).toBe(
        false,
      );
      expect((await store.usage('support/monthly', 'support', 'month', NOW + 60_000)).reservedNanos).toBe(0);
      expect((await store.reserve([reservation('live#1', 800)], limits, NOW + 60_000, DAY)).ok).toBe(true);
      // The killed request's activity comes back after all: the money was spent.
      const late = await store.commit('dead#1', 500, 0, NOW + 120_000);
      expect(late.budgets[0]).toMatchObject({ previous: 'expired', state: 'committed', charged: true });
      const usage = await store.usage('support/monthly', 'support', 'month', NOW + 120_000);
      expect(usage.spentNanos).toBe(500);
      expect(usage.reservedNanos).toBe(800);
      // Releasing an expired reservation is a no-op on the counters.
      await store.reserve([reservation('other#1', 100)], limits, NOW + 120_000, 1);
      await store.release('other#1', NOW + 120_001);
      expect((await store.usage('support/monthly', 'support', 'month', NOW + 120_001)).reservedNanos).toBe(
        800,
      );
    });
  });

  describe('calendar windows (UTC)', () => {
    it('a day budget resets at 00:00 UTC; commits go to the window the reservation was made in', async () => {
      const { store } = await open();
      const limits = { 'support/daily': money(1_000, 'day') };
      const lateEvening = Date.UTC(2026, 10, 27, 23, 59, 59, 999);
      const midnight = Date.UTC(2026, 10, 28, 0, 0, 0, 0);
      expect(
        (await store.reserve([reservation('a#1', 1_000, 0, 'support/daily')], limits, lateEvening)).ok,
      ).toBe(true);
      expect((await store.reserve([reservation('b#1', 1, 0, 'support/daily')], limits, lateEvening)).ok).toBe(
        false,
      );
      expect(
        (await store.reserve([reservation('b#1', 1_000, 0, 'support/daily')], limits, midnight)).ok,
      ).toBe(true);
      await store.commit('a#1', 900, 0, midnight + 5_000);
      const yesterday = await store.usage('support/daily', 'support', 'day', lateEvening);
      const today = await store.usage('support/daily', 'support', 'day', midnight);
      expect(yesterday).toMatchObject({
        spentNanos: 900,
        windowStart: Date.UTC(2026, 10, 27),
        windowEnd: midnight,
      });
      expect(today).toMatchObject({ spentNanos: 0, reservedNanos: 1_000 });
    });

    it('month (the 1st) and ISO week (Monday) windows', async () => {
      const { store } = await open();
      const limits = {
        'p/monthly': money(100, 'month'),
        'p/weekly': money(100, 'week'),
      };
      const sundayJan31 = Date.UTC(2027, 0, 31, 22);
      const mondayFeb1 = Date.UTC(2027, 1, 1, 0, 0, 0, 1);
      await store.reserve(
        [reservation('a#1', 100, 0, 'p/monthly'), reservation('a#1', 100, 0, 'p/weekly')],
        limits,
        sundayJan31,
      );
      await store.commit('a#1', 100, 0, sundayJan31);
      expect((await store.reserve([reservation('b#1', 1, 0, 'p/monthly')], limits, sundayJan31)).ok).toBe(
        false,
      );
      expect((await store.reserve([reservation('c#1', 1, 0, 'p/weekly')], limits, sundayJan31)).ok).toBe(
        false,
      );
      // Monday 1 February: a new month and a new ISO week.
      expect((await store.reserve([reservation('b#1', 100, 0, 'p/monthly')], limits, mondayFeb1)).ok).toBe(
        true,
      );
      expect((await store.reserve([reservation('c#1', 100, 0, 'p/weekly')], limits, mondayFeb1)).ok).toBe(
        true,
      );
      const week = await store.usage('p/weekly', 'support', 'week', sundayJan31);
      expect(new Date(week.windowStart).toISOString()).toBe('2027-01-25T00:00:00.000Z');
      expect(new Date(week.windowEnd).toISOString()).toBe('2027-02-01T00:00:00.000Z');
    });

    it('a budget with limits in two windows checks both', async () => {
      const { store } = await open();
      const limits = {
        'support/b': {
          limits: [
            { kind: 'money' as const, amount: 10_000, window: 'month' as const },
            { kind: 'tokens' as const, amount: 100, window: 'hour' as const },
          ],
        },
      };
      await store.reserve([reservation('a#1', 10, 100, 'support/b')], limits, NOW);
      await store.commit('a#1', 10, 100, NOW);
      expect(await store.reserve([reservation('b#1', 10, 1, 'support/b')], limits, NOW)).toMatchObject({
        ok: false,
        limit: { kind: 'tokens', window: 'hour' },
      });
      expect((await store.reserve([reservation('b#1', 10, 1, 'support/b')], limits, NOW + HOUR)).ok).toBe(
        true,
      );
      const many = await store.usageMany(
        [{ budget: 'support/b', scopeValue: 'support', windows: ['month', 'hour', 'day'] }],
        NOW + HOUR,
      );
      expect(many[0]!.map((u) => [u.window, u.spentNanos, u.reservedNanos, u.spentTokens])).toEqual([
        ['month', 10, 10, 100],
        ['hour', 0, 10, 0],
        ['day', 10, 10, 100],
      ]);
    });
  });

  describe('rate limits', () => {
    const limits: Record<string, RateLimitSpec[]> = {
      'support/per-team': [
        { kind: 'requests', amount: 10, window: 'minute' },
        { kind: 'tokens', amount: 1_000_000, window: 'hour' },
      ],
    };
    const use = (key: string, tokens = 100) => ({
      key,
      rateLimit: 'support/per-team',
      scopeValue: 'support',
      requests: 1,
      tokens,
    });

    it(`${CONCURRENCY} concurrent requests from several processes: exactly the limit is admitted`, async () => {
      const { url, store } = await open();
      const items = Array.from({ length: CONCURRENCY }, (_, i) => use(`req-${i}`));
      const jobs: WorkerJob[] = split(items).map((part) => ({
        op: 'admit',
        items: part,
        limits,
        now: NOW + 5_000,
      }));
      const results = (await spawnWorkers(url, jobs)).flat() as { ok: boolean }[];
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      const usage = await store.rateUsage('support/per-team', 'support', 'minute', NOW + 5_000);
      expect(usage).toMatchObject({ requests: 10, tokens: 1_000 });
    });

    it('a refusal says how long until the window resets; the next window admits', async () => {
      const { store } = await open();
      for (let i = 0; i < 10; i++) {
        const { key, ...u } = use(`r-${i}`);
        expect((await store.admit(key, [u], limits, NOW + 15_000)).ok).toBe(true);
      }
      const { key, ...u } = use('late');
      expect(await store.admit(key, [u], limits, NOW + 15_000)).toMatchObject({
        ok: false,
        rateLimit: 'support/per-team',
        limit: { kind: 'requests', amount: 10, window: 'minute' },
        retryAfterMs: 45_000,
        neverFits: false,
        used: 10,
      });
      expect((await store.admit(key, [u], limits, NOW + 60_000)).ok).toBe(true);
    });

    it('idempotent by request id; a use larger than the limit can never fit', async () => {
      const { store } = await open();
      const { key, ...u } = use('same');
      expect(await store.admit(key, [u], limits, NOW)).toEqual({ ok: true, replayed: false });
      expect(await store.admit(key, [u], limits, NOW)).toEqual({ ok: true, replayed: true });
      expect((await store.rateUsage('support/per-team', 'support', 'minute', NOW)).requests).toBe(1);
      const { key: k2, ...huge } = use('huge', 2_000_000);
      expect(await store.admit(k2, [huge], limits, NOW)).toMatchObject({ ok: false, neverFits: true });
    });
  });

  describe('audit chain', () => {
    it(`${CONCURRENCY} parallel appends from several processes form one chain that verifies`, async () => {
      const { url, store } = await open();
      const ids = Array.from({ length: CONCURRENCY }, (_, i) => `req-${String(i).padStart(3, '0')}`);
      const results = (
        await spawnWorkers(
          url,
          split(ids).map((part) => ({ op: 'audit', ids: part })),
        )
      ).flat() as {
        seq: number;
      }[];
      expect(new Set(results.map((r) => r.seq)).size).toBe(CONCURRENCY);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: CONCURRENCY });
      const all = await store.tailAudit(1_000);
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: CONCURRENCY }, (_, i) => i + 1));
      for (let i = 1; i < all.length; i++) expect(all[i]!.prevHash).toBe(all[i - 1]!.hash);
    });

    it('appending the same request id again returns the existing record', async () => {
      const { store } = await open();
      const first = await store.appendAudit(auditInput('req-1'));
      const again = await store.appendAudit(auditInput('req-1', { status: 'failed' }));
      expect(again.replayed).toBe(true);
      expect(again.record).toEqual(first.record);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 1 });
    });

    it('records carry the previous hash; the first links to the genesis hash', async () => {
      const { store } = await open();
      const a = await store.appendAudit(auditInput('a'));
      const b = await store.appendAudit(auditInput('b'));
      expect(a.record.prevHash).toBe(`sha256:${'0'.repeat(64)}`);
      expect(b.record.prevHash).toBe(a.record.hash);
      expect(b.record.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await store.getAudit('b')).toEqual(b.record);
    });

    async function tampered(
      sql: (seq: number) => string,
      target = 3,
    ): Promise<{ store: Store; result: Awaited<ReturnType<Store['verifyAudit']>> }> {
      const { url, store } = await open();
      for (let i = 1; i <= 5; i++) await store.appendAudit(auditInput(`req-${i}`, { costNanos: 1_000 * i }));
      expect((await store.verifyAudit()).ok).toBe(true);
      const raw = await backend.raw(url);
      await raw.query(sql(target));
      await raw.close();
      return { store, result: await store.verifyAudit() };
    }

    it('a modified record (an UPDATE in the database) is detected and named', async () => {
      const { result } = await tampered(
        (seq) =>
          `UPDATE audit_records SET body = replace(body, '"costNanos":3000', '"costNanos":3') WHERE seq = ${seq}`,
      );
      expect(result).toMatchObject({ ok: false, count: 2, broken: { seq: 3, id: 'req-3' } });
      expect(!result.ok && result.broken.reason).toMatch(/content was modified/);
    });

    it('a modified queryable column is detected', async () => {
      const { result } = await tampered(
        (seq) => `UPDATE audit_records SET status = 'failed' WHERE seq = ${seq}`,
      );
      expect(result).toMatchObject({ ok: false, broken: { seq: 3, id: 'req-3' } });
      expect(!result.ok && result.broken.reason).toMatch(/status column/);
    });

    it('a re-hashed record breaks the next link', async () => {
      const { result } = await tampered(
        (seq) => `UPDATE audit_records SET hash = 'sha256:forged' WHERE seq = ${seq}`,
      );
      expect(result).toMatchObject({ ok: false, broken: { seq: 3 } });
    });

    it('a deleted record is detected at the next one; records cut off the end at the head', async () => {
      const middle = await tampered((seq) => `DELETE FROM audit_records WHERE seq = ${seq}`);
      expect(middle.result).toMatchObject({ ok: false, count: 2, broken: { seq: 4, id: 'req-4' } });
      expect(!middle.result.ok && middle.result.broken.reason).toMatch(/record #3 is missing/);
      const end = await tampered((seq) => `DELETE FROM audit_records WHERE seq >= ${seq}`);
      expect(end.result).toMatchObject({ ok: false, count: 2, broken: { seq: 5, id: null } });
      expect(!end.result.ok && end.result.broken.reason).toMatch(/removed from the end/);
    });

    it('query by team, app, model (answering or attempted), status and time; tail', async () => {
      const { store } = await open();
      await store.appendAudit(auditInput('a', { time: '2026-11-27T10:00:00.000Z' }));
      await store.appendAudit(
        auditInput('b', {
          time: '2026-11-27T11:00:00.000Z',
          caller: { team: 'sales', app: 'crm', user: null },
          status: 'failed',
          model: null,
          attempts: [{ ...auditInput('x').attempts[0]!, model: 'gpt_4o', outcome: 'error', error: '503' }],
        }),
      );
      await store.appendAudit(auditInput('c', { time: '2026-11-27T12:00:00.000Z', model: 'gpt-4o' }));
      const ids = async (q: Parameters<Store['queryAudit']>[0]) =>
        (await store.queryAudit(q)).map((r) => r.id);
      expect(await ids({ team: 'support' })).toEqual(['a', 'c']);
      expect(await ids({ app: 'crm' })).toEqual(['b']);
      expect(await ids({ status: 'failed' })).toEqual(['b']);
      expect(await ids({ model: 'gpt_4o' })).toEqual(['b']);
      expect(await ids({ model: 'gpt-4o' })).toEqual(['c']);
      expect(await ids({ model: 'llama-8b' })).toEqual(['a', 'c']);
      expect(await ids({ model: 'gpt' })).toEqual([]);
      expect(
        await ids({ since: Date.parse('2026-11-27T11:00:00Z'), until: Date.parse('2026-11-27T12:00:00Z') }),
      ).toEqual(['b']);
      expect(await ids({ limit: 2 })).toEqual(['b', 'c']);
      expect((await store.tailAudit(1)).map((r) => r.id)).toEqual(['c']);
    });
  });

  describe('audit retention', () => {
    /** Appends `id` dated `time` (epoch ms) with `retainDays` (null: kept forever). */
    async function append(store: Store, id: string, time: number, retainDays: number | null) {
      return (
        await store.appendAudit({ ...auditInput(id, { time: new Date(time).toISOString() }), retainDays })
      ).record;
    }
    const ids = async (store: Store) => (await store.tailAudit(1_000)).map((r) => r.id);

    it('records past their retention are deleted, records within it stay; verify starts after them', async () => {
      const { url, store } = await open();
      const a = await append(store, 'a', NOW - 3 * DAY, 1);
      await append(store, 'b', NOW - 2 * DAY, 1);
      const c = await append(store, 'c', NOW - DAY, 30);
      const d = await append(store, 'd', NOW - HOUR, 1);
      const raw = await backend.raw(url);
      const expiries = await raw.query('SELECT id, expires_ms FROM audit_records ORDER BY seq');
      await raw.close();
      expect(expiries.map((r) => [r.id, Number(r.expires_ms)])).toEqual([
        ['a', NOW - 2 * DAY],
        ['b', NOW - DAY],
        ['c', NOW + 29 * DAY],
        ['d', NOW + DAY - HOUR],
      ]);
      // Retention is not part of the record: the hash is the same as without it.
      expect(a).not.toHaveProperty('retainDays');
      expect(JSON.stringify(a)).not.toContain('retain');

      expect(await store.pruneAudit(NOW)).toEqual({ deleted: 2, floorSeq: 2 });
      expect(await ids(store)).toEqual(['c', 'd']);
      expect(await store.getAudit('a')).toBeNull();
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 2, pruned: 2, head: d.hash });
      // Nothing more is due: a second run deletes nothing.
      expect(await store.pruneAudit(NOW + DAY)).toEqual({ deleted: 0, floorSeq: 2 });
      expect(await ids(store)).toEqual(['c', 'd']);

      // Once c expires, c and d (expired since) go: the whole chain, and appends continue it.
      expect(await store.pruneAudit(NOW + 29 * DAY)).toEqual({ deleted: 2, floorSeq: 4 });
      expect(await ids(store)).toEqual([]);
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 0, pruned: 4, head: d.hash });
      const e = await append(store, 'e', NOW + 29 * DAY, 1);
      expect(e).toMatchObject({ seq: 5, prevHash: d.hash });
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 1, pruned: 4, head: e.hash });
      expect(c.seq).toBe(3);
    });

    it('a record kept forever (a policy without retain) holds back every later one', async () => {
      const { store } = await open();
      await append(store, 'old-expired', NOW - 10 * DAY, 1);
      await append(store, 'forever', NOW - 9 * DAY, null);
      await append(store, 'later-expired', NOW - 8 * DAY, 1);
      expect(await store.pruneAudit(NOW)).toEqual({ deleted: 1, floorSeq: 1 });
      expect(await store.pruneAudit(NOW + 3_650 * DAY)).toEqual({ deleted: 0, floorSeq: 1 });
      expect(await ids(store)).toEqual(['forever', 'later-expired']);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 2, pruned: 1 });
    });

    it('a backlog larger than one page (1000 records) is pruned in one call', async () => {
      const { store } = await open();
      const total = 1_005;
      for (let i = 1; i <= total; i++) await append(store, `r-${i}`, NOW - 2 * DAY, 1);
      const last = await append(store, 'kept', NOW, 1);
      expect(await store.pruneAudit(NOW)).toEqual({ deleted: total, floorSeq: total });
      expect(await ids(store)).toEqual(['kept']);
      expect(await store.verifyAudit()).toEqual({ ok: true, count: 1, pruned: total, head: last.hash });
    }, 120_000);

    it('refuses a retention that is not a positive number of days', async () => {
      const { store } = await open();
      await expect(store.appendAudit({ ...auditInput('x'), retainDays: 0 })).rejects.toThrow(/retainDays 0/);
      await expect(store.appendAudit({ ...auditInput('x'), retainDays: Number.NaN })).rejects.toThrow(
        TypeError,
      );
      expect(await ids(store)).toEqual([]);
    });

    /** 6 records (#1–#2 expired), #1–#2 pruned, then `sql` run on the database. */
    async function tamperedAfterPrune(sql: string) {
      const { url, store } = await open();
      for (let i = 1; i <= 6; i++)
        await append(store, `req-${i}`, NOW - (i <= 2 ? 5 : 0) * DAY, i <= 2 ? 1 : 30);
      expect(await store.pruneAudit(NOW)).toEqual({ deleted: 2, floorSeq: 2 });
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 4, pruned: 2 });
      const raw = await backend.raw(url);
      await raw.query(sql);
      await raw.close();
      return { store, result: await store.verifyAudit() };
    }

    it('tampering after a prune is still detected: a modified, a removed and a cut-off record', async () => {
      const modified = await tamperedAfterPrune(
        `UPDATE audit_records SET body = replace(body, '"costNanos":13900', '"costNanos":1') WHERE seq = 4`,
      );
      expect(modified.result).toMatchObject({
        ok: false,
        count: 1,
        pruned: 2,
        broken: { seq: 4, id: 'req-4' },
      });
      expect(!modified.result.ok && modified.result.broken.reason).toMatch(/content was modified/);

      const middle = await tamperedAfterPrune('DELETE FROM audit_records WHERE seq = 4');
      expect(middle.result).toMatchObject({ ok: false, count: 1, broken: { seq: 5, id: 'req-5' } });
      expect(!middle.result.ok && middle.result.broken.reason).toMatch(/record #4 is missing/);

      const end = await tamperedAfterPrune('DELETE FROM audit_records WHERE seq >= 5');
      expect(end.result).toMatchObject({ ok: false, count: 2, broken: { seq: 6, id: null } });
      expect(!end.result.ok && end.result.broken.reason).toMatch(/removed from the end/);
    });

    it('an unexpired first record deleted by hand (the floor not moved) is detected', async () => {
      const fresh = await tamperedAfterPrune('DELETE FROM audit_records WHERE seq = 3');
      expect(fresh.result).toMatchObject({ ok: false, count: 0, pruned: 2, broken: { seq: 4, id: 'req-4' } });
      expect(!fresh.result.ok && fresh.result.broken.reason).toMatch(/record #3 is missing before it/);

      // The same at the very start of a chain never pruned.
      const { url, store } = await open();
      for (const id of ['a', 'b', 'c']) await append(store, id, NOW, 30);
      const raw = await backend.raw(url);
      await raw.query('DELETE FROM audit_records WHERE seq = 1');
      await raw.close();
      const result = await store.verifyAudit();
      expect(result).toMatchObject({ ok: false, count: 0, pruned: 0, broken: { seq: 2, id: 'b' } });
      expect(!result.ok && result.broken.reason).toMatch(/record #1 is missing before it/);
    });

    it('pruning never hides tampering: it stops at a record that does not verify', async () => {
      // #3 removed by hand; #4–#6 expire later. Pruning then must not delete past the gap.
      const { store, result } = await tamperedAfterPrune('DELETE FROM audit_records WHERE seq = 3');
      expect(result.ok).toBe(false);
      const pruned = await store.pruneAudit(NOW + 365 * DAY);
      expect(pruned).toMatchObject({ deleted: 0, floorSeq: 2, broken: { seq: 4, id: 'req-4' } });
      expect(pruned.broken?.reason).toMatch(/record #3 is missing/);
      expect(await ids(store)).toEqual(['req-4', 'req-5', 'req-6']);
      expect(await store.verifyAudit()).toMatchObject({ ok: false, broken: { seq: 4 } });
    });

    it('a floor moved by hand past records that are still there is detected', async () => {
      const { url, store } = await open();
      for (const id of ['a', 'b', 'c']) await append(store, id, NOW, 30);
      const b = (await store.getAudit('b'))!;
      const raw = await backend.raw(url);
      await raw.query(`UPDATE audit_head SET floor_seq = 2, floor_hash = '${b.hash}'`);
      await raw.close();
      const result = await store.verifyAudit();
      expect(result).toMatchObject({ ok: false, pruned: 2, broken: { seq: 1, id: 'a' } });
      expect(!result.ok && result.broken.reason).toMatch(/at or before the chain's floor \(#2/);
    });
  });

  describe('migrations', () => {
    it('re-opening applies nothing twice and keeps the data', async () => {
      const { url, store } = await open();
      await store.reserve([reservation('a#1', 5)], { 'support/monthly': money(10) }, NOW);
      await store.appendAudit(auditInput('a'));
      const again = await openStore(url);
      const third = await openStore(url);
      try {
        expect(await again.migrations()).toEqual([
          { version: 1, name: 'ledger' },
          { version: 2, name: 'rate-limits' },
          { version: 3, name: 'audit' },
          { version: 4, name: 'audit-retention' },
          { version: 5, name: 'api-keys' },
          { version: 6, name: 'blobs' },
          { version: 7, name: 'inflight-requests' },
          { version: 8, name: 'audit-routing' },
          { version: 9, name: 'live-reservations' },
        ]);
        expect((await again.usage('support/monthly', 'support', 'month', NOW)).reservedNanos).toBe(5);
        expect(await third.verifyAudit()).toMatchObject({ ok: true, count: 1 });
      } finally {
        await again.close();
        await third.close();
      }
    });

    it('a store created at version 3 with records migrates: they are kept forever and still verify', async () => {
      const url = backend.freshUrl();
      const dialect = backend.name;
      const raw = await backend.raw(url);
      const schema = dialect === 'postgres' ? new URL(url).searchParams.get('schema') : null;
      if (schema) await raw.exec(`CREATE SCHEMA "${schema}"`);
      // Exactly what switchyard at schema version 3 created and recorded …
      await raw.exec(CREATE_MIGRATIONS_TABLE);
      for (const migration of MIGRATIONS.slice(0, 3)) {
        await raw.exec(migration[dialect]);
        await raw.query(
          `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (${migration.version}, '${migration.name}', '${checksum(migration, dialect)}', '2026-11-01T00:00:00.000Z')`,
        );
      }
      // … and three records appended as it did (the documented chain: sha256 of canonical JSON).
      let prev = GENESIS_HASH;
      const old = NOW - 400 * DAY;
      for (let seq = 1; seq <= 3; seq++) {
        const body = { ...auditInput(`v3-${seq}`, { time: new Date(old).toISOString() }), prevHash: prev };
        const text = canonicalJson(body);
        const hash = sha256(text);
        const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
        await raw.query(
          `INSERT INTO audit_records (seq, id, time_ms, team, app, user_name, policy, model, models, status, body, prev_hash, hash)
           VALUES (${seq}, ${q(body.id)}, ${old}, 'support', 'helpdesk', 'u-42', 'support', 'llama-8b', ' llama-8b ', 'served', ${q(text)}, ${q(prev)}, ${q(hash)})`,
        );
        await raw.query(`UPDATE audit_head SET seq = ${seq}, hash = ${q(hash)} WHERE id = 1`);
        prev = hash;
      }
      const store = await openStore(url);
      stores.push(store);
      try {
        expect((await store.migrations()).map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(await store.verifyAudit()).toEqual({ ok: true, count: 3, pruned: 0, head: prev });
        const expiries = await raw.query('SELECT expires_ms FROM audit_records ORDER BY seq');
        expect(expiries.map((r) => r.expires_ms)).toEqual([null, null, null]);
        const [head] = await raw.query('SELECT floor_seq, floor_hash FROM audit_head');
        expect([Number(head!.floor_seq), head!.floor_hash]).toEqual([0, GENESIS_HASH]);
        // Records from before retention existed are kept forever, whatever the clock says.
        expect(await store.pruneAudit(NOW + 10_000 * DAY)).toEqual({ deleted: 0, floorSeq: 0 });
        const next = await store.appendAudit({ ...auditInput('v4-1'), retainDays: 1 });
        expect(next.record).toMatchObject({ seq: 4, prevHash: prev });
        expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 4 });
      } finally {
        await raw.close();
      }
    });

    it("released migrations are never edited (their checksums are recorded in users' stores)", () => {
      expect(
        MIGRATIONS.map((m) => [m.version, m.name, checksum(m, 'sqlite'), checksum(m, 'postgres')]),
      ).toEqual([
        [1, 'ledger', 'b4422157c839bb9d', '1a003a7f624ab9ea'],
        [2, 'rate-limits', '797b322a973a4b09', '9218eecf3e9b2351'],
        [3, 'audit', '9e4afa9cc6a768f8', 'cb2c934dc42d1de1'],
        [4, 'audit-retention', 'a4c93b2721eab16e', 'faa7ffba19811780'],
        [5, 'api-keys', '06475fcfb421370d', 'bd37478fa6e0858c'],
        [6, 'blobs', '4c528aba84b7cb3b', '43ead79b355d8465'],
        [7, 'inflight-requests', '45ae669e862cdcba', '2811e674b6f0d959'],
        [8, 'audit-routing', 'b869303e7750b3f2', 'a35ad89af97eafc4'],
        [9, 'live-reservations', '2662a1ea459fa5fe', '2662a1ea459fa5fe'],
      ]);
    });

    it('concurrent first opens migrate once', async () => {
      const url = backend.freshUrl();
      const opened = await Promise.all([openStore(url), openStore(url), openStore(url)]);
      try {
        expect(await opened[0]!.migrations()).toHaveLength(MIGRATIONS.length);
      } finally {
        for (const store of opened) await store.close();
      }
    });

    it('an edited migration or a newer schema refuses to open', async () => {
      const { url, store } = await open();
      await store.close();
      const raw = await backend.raw(url);
      const [original] = await raw.query('SELECT checksum FROM schema_migrations WHERE version = 2');
      await raw.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2");
      await expect(openStore(url)).rejects.toThrow(
        /migration 2 \(rate-limits\) recorded in the store differs/,
      );
      await raw.query(
        `UPDATE schema_migrations SET checksum = '${String(original!.checksum)}' WHERE version = 2`,
      );
      await raw.query(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, 'future', 'x', 'now')",
      );
      const error = await openStore(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('E-STORE-SCHEMA');
      expect((error as StoreError).message).toMatch(/newer than this switchyard knows/);
      await raw.close();
    });
  });

  describe('secrets', () => {
    it('never reach the store: known values, credential-named fields and credential-shaped text are scrubbed', async () => {
      const apiKey = 'sk-proj-abcdefghijklmnopqrstuvwxyz012345';
      const envSecret = 'corp-vault-token-7f3a9c1e55';
      const extraSecret = 'hunter2-but-longer';
      const { url, store } = await freshStore(backend, {
        env: { OPENAI_API_KEY: apiKey, VAULT_TOKEN: envSecret, HOME: '/root' },
        secrets: [extraSecret],
      });
      stores.push(store);
      await store.appendAudit(
        auditInput('leaky', {
          reason: `provider said: invalid key ${apiKey}`,
          attempts: [
            {
              ...auditInput('x').attempts[0]!,
              outcome: 'error',
              error: `401 with header Authorization: Bearer ${envSecret}`,
            },
          ],
          prompts: {
            mode: 'full',
            messages: [
              { role: 'user', content: `my password is ${extraSecret}; db postgres://app:s3cretpass@db/x` },
            ],
            answer: null,
          },
          extra: {
            apiKey: 'short',
            headers: { authorization: 'Basic dXNlcjpwYXNz' },
            aws: 'AKIAIOSFODNN7EXAMPLE',
          },
        }),
      );
      const raw = await backend.raw(url);
      const rows = await raw.query('SELECT body FROM audit_records');
      await raw.close();
      const text = JSON.stringify(rows);
      for (const secret of [
        apiKey,
        envSecret,
        extraSecret,
        's3cretpass',
        'dXNlcjpwYXNz',
        'AKIAIOSFODNN7EXAMPLE',
        '"short"',
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(text).toContain(SECRET_MARK);
      expect(await store.verifyAudit()).toMatchObject({ ok: true });
    });
  });
});

describe('store URLs and errors', () => {
  it('an unknown scheme is refused with a code', async () => {
    await expect(openStore('mysql://x')).rejects.toMatchObject({ code: 'E-STORE-URL' });
  });

  it('a missing SQLite store is not created when create is false', async () => {
    await expect(
      openStore('sqlite:test/.tmp/store/does-not-exist.db', { create: false }),
    ).rejects.toMatchObject({
      code: 'E-STORE-MISSING',
    });
  });

  it('an unreachable PostgreSQL server: one line with a code, and never the password', async () => {
    const error = (await openStore('postgres://app:pa55w0rd-very-secret@127.0.0.1:1/db').catch(
      (e: unknown) => e,
    )) as StoreError;
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('E-STORE-CONNECT');
    expect(error.message).not.toContain('pa55w0rd-very-secret');
    expect(error.message).toContain('postgres://app:***@127.0.0.1:1/db');
  });

  it('the default URL is the SQLite file of docs/cli.md', async () => {
    const { storeUrl, DEFAULT_STORE_URL } = await import('../../store/index.js');
    expect(DEFAULT_STORE_URL).toBe('sqlite:.switchyard/state.db');
    expect(storeUrl({})).toBe(DEFAULT_STORE_URL);
    expect(storeUrl({ SWITCHYARD_STORE: 'postgres://h/db' })).toBe('postgres://h/db');
  });
});

describe('calendar windows', async () => {
  const { windowStart, windowEnd } = await import('../../store/windows.js');
  it.each([
    ['minute', '2026-11-27T12:34:56.789Z', '2026-11-27T12:34:00.000Z', '2026-11-27T12:35:00.000Z'],
    ['hour', '2026-11-27T12:34:56.789Z', '2026-11-27T12:00:00.000Z', '2026-11-27T13:00:00.000Z'],
    ['day', '2026-11-27T23:59:59.999Z', '2026-11-27T00:00:00.000Z', '2026-11-28T00:00:00.000Z'],
    ['week', '2026-11-27T12:00:00.000Z', '2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    ['week', '2026-11-29T23:59:59.999Z', '2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    ['week', '2026-11-30T00:00:00.000Z', '2026-11-30T00:00:00.000Z', '2026-12-07T00:00:00.000Z'],
    ['month', '2026-12-31T23:59:59.999Z', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['month', '2028-02-29T12:00:00.000Z', '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
  ] as const)('%s of %s', (window, at, start, end) => {
    expect(new Date(windowStart(window, Date.parse(at))).toISOString()).toBe(start);
    expect(new Date(windowEnd(window, Date.parse(at))).toISOString()).toBe(end);
  });
  it('the day is UTC, whatever the local zone', () => {
    expect(windowStart('day', DAY + 1)).toBe(DAY);
  });
});
