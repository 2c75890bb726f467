/**
 * Budgets and rate limits through the real request workflow: a real Temporal dev server, workers in
 * this process, the real store (SQLite, and PostgreSQL when `SWITCHYARD_TEST_POSTGRES` names one or
 * scripts/start-postgres.sh can start one), the provider test server.
 *
 * The workers' governance clock is the real one plus an offset the tests move: a `minute` window
 * can be made to reset a couple of seconds after a test starts (the workflow's durable sleep is
 * real; its length is the ledger's figure).
 */
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerName } from '../../activities/governance.js';
import { budget } from '../../cli/commands/budget.js';
import type { InferenceResult } from '../../plan/index.js';
import { backends, type Backend } from '../store/backends.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { startStack, uniqueName, writePolicies, type Stack } from '../support/temporal.js';
import { catalog, FITS, govRequest, LEDGER_POLICIES, SMALL_NANOS, SMALL_TOKENS } from './fixtures.js';

const BACKENDS = await backends();
let server: ProviderServer;
let dir: string;
/** Added to the governance activities' clock. */
let offset = 0;
const clock = () => Date.now() + offset;

/** Moves the governance clock to `second` seconds (and a bit) into a UTC minute. */
function atSecond(second: number): void {
  const now = Date.now();
  offset = (((second * 1_000 - (now % 60_000)) % 60_000) + 60_000) % 60_000;
}

beforeAll(async () => {
  server = await startProviderServer();
  dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('gl')),
    'ledger.policy': LEDGER_POLICIES,
  });
});

afterAll(async () => {
  await server?.close();
  for (const backend of BACKENDS) await backend.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function tally(results: InferenceResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const key = `${r.status}${r.model ? ` ${r.model}` : ''}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

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

  let stack: Stack;
  let url: string;
  const team = () => uniqueName(`team-${name}`);

  beforeAll(async () => {
    url = backend.freshUrl();
    stack = await startStack({ dir, taskQueue: uniqueName(`gov-${name}`), storeUrl: url, clock });
  });

  afterAll(async () => {
    offset = 0;
    server.faults.clear();
    await stack?.close();
  });

  it(
    '64 concurrent requests against a money budget that fits 8: exactly 8 are served, never overspent',
    { timeout: 60_000 },
    async () => {
      const t = team();
      // The served attempts hang a little, so that every reservation is made before any commit.
      server.faults.add({ model: 'small', delayMs: 2_500, times: FITS });
      const results = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          stack.client.infer(govRequest(uniqueName(`fit${i}`), 'fits', t)),
        ),
      );
      server.faults.clear();
      expect(tally(results)).toEqual({ 'served small': FITS, rejected: 64 - FITS });
      for (const r of results.filter((r) => r.status === 'rejected')) {
        expect(r.reason).toBe('budget b exceeded ($0.000864 per day)');
        expect(r.attempts).toEqual([]);
      }
      const served = results.filter((r) => r.status === 'served');
      const committed = served.reduce((sum, r) => sum + r.costNanos, 0);
      for (const r of served) expect(r.costNanos).toBeLessThanOrEqual(SMALL_NANOS);
      const usage = await stack.store.usage(ledgerName('fits', 'b'), t, 'day', clock());
      expect(usage.spentNanos).toBe(committed);
      expect(usage.spentNanos).toBeLessThanOrEqual(FITS * SMALL_NANOS);
      expect(usage.reservedNanos).toBe(0);
      // One audit record per request, served or not.
      expect(await stack.store.queryAudit({ team: t, limit: 1_000 })).toHaveLength(64);
    },
  );

  it(
    'the same for a tokens limit: 8 fit on the model, the others are downgraded; the ledger is the sum of commits',
    { timeout: 60_000 },
    async () => {
      const t = team();
      server.faults.add({ model: 'small', delayMs: 2_500, times: FITS });
      const results = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          stack.client.infer(govRequest(uniqueName(`tok${i}`), 'fitstokens', t)),
        ),
      );
      server.faults.clear();
      expect(tally(results)).toEqual({ 'served small': FITS, 'served alt': 64 - FITS });
      for (const r of results.filter((r) => r.model === 'alt')) {
        expect(r.attempts.map((a) => a.role)).toEqual(['downgrade']);
        expect(r.decision.budgets).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ budget: 'b', outcome: 'exceeded', action: 'downgrade' }),
            expect.objectContaining({ budget: 'b', outcome: 'exempt', model: 'alt' }),
          ]),
        );
      }
      const tokens = (r: InferenceResult) => r.usage.inputTokens + r.usage.outputTokens;
      const onSmall = results.filter((r) => r.model === 'small').reduce((s, r) => s + tokens(r), 0);
      // What the budget enforced never passed the limit; downgraded answers are charged, not refused.
      expect(onSmall).toBeLessThanOrEqual(FITS * SMALL_TOKENS);
      const usage = await stack.store.usage(ledgerName('fitstokens', 'b'), t, 'day', clock());
      expect(usage.spentTokens).toBe(results.reduce((s, r) => s + tokens(r), 0));
      expect(usage.reservedTokens).toBe(0);
    },
  );

  it('downgrade when the snapshot already shows the budget spent', async () => {
    const result = await stack.client.infer(govRequest(uniqueName('dg'), 'downgrading', team()));
    expect(result).toMatchObject({ status: 'served', model: 'alt' });
    expect(result.attempts.map((a) => a.role)).toEqual(['downgrade']);
  });

  it('alert: served past the limit, the alert recorded and the cost charged', async () => {
    const t = team();
    const result = await stack.client.infer(govRequest(uniqueName('al'), 'alerting', t));
    expect(result).toMatchObject({ status: 'served', model: 'small' });
    expect(result.decision.budgets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          budget: 'b',
          outcome: 'exceeded',
          action: 'alert',
          limit: '$0.0001 per day',
        }),
      ]),
    );
    const usage = await stack.store.usage(ledgerName('alerting', 'b'), t, 'day', clock());
    expect(usage.spentNanos).toBe(result.costNanos);
    const record = await stack.store.getAudit(result.id);
    expect(record?.budgets).toEqual(
      expect.arrayContaining([expect.objectContaining({ outcome: 'exceeded', action: 'alert' })]),
    );
  });

  it('wait: parks durably until the deadline when the window cannot reset before it', async () => {
    const t = team();
    // Someone spent most of the day's budget.
    const b = ledgerName('parked', 'b');
    const limits = { [b]: { limits: [{ kind: 'money' as const, amount: 200_000, window: 'day' as const }] } };
    await stack.store.reserve(
      [{ budget: b, scopeValue: t, key: `${t}-other#1`, nanos: 150_000, tokens: 0 }],
      limits,
      clock(),
    );
    await stack.store.commit(`${t}-other#1`, 150_000, 0, clock());
    const began = Date.now();
    const result = await stack.client.infer(govRequest(uniqueName('pk'), 'parked', t));
    expect(Date.now() - began).toBeGreaterThanOrEqual(1_400);
    expect(result).toMatchObject({
      status: 'rejected',
      reason: 'deadline 1500ms passed before any attempt while waiting: budget b exceeded ($0.0002 per day)',
      attempts: [],
    });
  });

  it(
    'window reset: a wait ends when the ledger starts a new window, and the request is served',
    { timeout: 30_000 },
    async () => {
      const t = team();
      atSecond(57.5);
      const b = ledgerName('reset', 'b');
      const limits = {
        [b]: { limits: [{ kind: 'money' as const, amount: SMALL_NANOS, window: 'minute' as const }] },
      };
      await stack.store.reserve(
        [{ budget: b, scopeValue: t, key: `${t}-other#1`, nanos: 50_000, tokens: 0 }],
        limits,
        clock(),
      );
      await stack.store.commit(`${t}-other#1`, 50_000, 0, clock());
      const began = clock();
      const result = await stack.client.infer(govRequest(uniqueName('rs'), 'reset', t));
      expect(result).toMatchObject({ status: 'served', model: 'small' });
      expect(result.decision.budgets[0]).toMatchObject({ budget: 'b', outcome: 'exceeded', action: 'wait' });
      expect(result.elapsedMs).toBeGreaterThanOrEqual(1_000);
      // The old window kept the other spend; the new one holds this request's cost.
      expect((await stack.store.usage(b, t, 'minute', began)).spentNanos).toBe(50_000);
      expect((await stack.store.usage(b, t, 'minute', clock())).spentNanos).toBe(result.costNanos);
      offset = 0;
    },
  );

  it(
    'rate limit, wait: a full window is waited out durably, then the request is admitted',
    { timeout: 30_000 },
    async () => {
      const t = team();
      atSecond(57.5);
      const first = await stack.client.infer(govRequest(uniqueName('rw1'), 'ratewait', t));
      expect(first.status).toBe('served');
      const second = await stack.client.infer(govRequest(uniqueName('rw2'), 'ratewait', t));
      expect(second).toMatchObject({ status: 'served', model: 'alt' });
      expect(second.decision.rateLimits).toEqual([
        expect.objectContaining({ rateLimit: 'rate-limit-1', outcome: 'exceeded', action: 'wait' }),
        expect.objectContaining({
          rateLimit: 'rate-limit-1',
          outcome: 'waited',
          waitedMs: expect.any(Number),
        }),
      ]);
      expect(second.elapsedMs).toBeGreaterThanOrEqual(500);
      offset = 0;
    },
  );

  it('rate limit, reject: of 4 concurrent requests the store admits exactly one', async () => {
    const t = team();
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        stack.client.infer(govRequest(uniqueName(`rr${i}`), 'ratereject', t)),
      ),
    );
    expect(tally(results)).toEqual({ 'served alt': 1, rejected: 3 });
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect(r.reason).toBe('rate limit rate-limit-1 exceeded (1 requests per hour)');
    }
    const usage = await stack.store.rateUsage(ledgerName('ratereject', 'rate-limit-1'), t, 'hour', clock());
    expect(usage.requests).toBe(1);
  });

  it('workers record their budgets: `switchyard budget show` knows every limit', async () => {
    const shown = await budget(['show', '--store', url, '--policy', 'fits']);
    expect(shown.exitCode ?? 0).toBe(0);
    expect(shown.stdout).toContain('fits/b');
    expect(shown.stdout).toContain('$0.000864 per day');
    const definitions = await stack.store.budgetDefinitions();
    expect(definitions.map((d) => d.budget)).toEqual(
      expect.arrayContaining([
        'fits/b',
        'fitstokens/b',
        'reset/b',
        'parked/b',
        'alerting/b',
        'downgrading/b',
      ]),
    );
  });
});
