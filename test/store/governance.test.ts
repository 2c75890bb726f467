/**
 * The governance activities over a real store (SQLite and PostgreSQL), driven by the shared execution machine with simulated provider
 * results — what the workflow will do — and the `budget` / `audit` commands on what they leave.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildAuditRecord, createGovernanceActivities, ledgerName } from '../../activities/governance.js';
import { audit } from '../../cli/commands/audit.js';
import { budget } from '../../cli/commands/budget.js';
import { main } from '../../cli/main.js';
import { decide } from '../../plan/evaluator.js';
import { next, start } from '../../plan/execution.js';
import { simulatedResult } from '../../plan/simulate.js';
import type { InferenceResult } from '../../plan/trace.js';
import type { BudgetPlan, InferenceRequest, Plan } from '../../plan/types.js';
import type { Store } from '../../store/types.js';
import { gpt4o, plan, request, route, supportPlan, TRUE } from '../plan/fixtures.js';
import { backends, freshStore, PROJECT_ROOT, type Backend } from './backends.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const DOLLAR = 1_000_000_000;
function capture(): { out: string[]; err: string[]; restore: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  return { out, err, restore: () => (o.mockRestore(), e.mockRestore()) };
}

const BACKENDS = await backends();
const stores: Store[] = [];

afterAll(async () => {
  for (const store of stores) await store.close();
  for (const backend of BACKENDS) await backend.cleanup();
});

/** What the workflow does, with simulated provider answers: snapshot, admit, reserve, attempt, settle, audit. */
async function run(
  store: Store,
  p: Plan,
  req: InferenceRequest,
  now = NOW,
): Promise<{ result: InferenceResult; seq: number }> {
  const activities = createGovernanceActivities(store, {
    now: () => now,
    plans: { byHash: (hash) => (hash === p.hash ? { plan: p, baseDir: '.' } : undefined) },
  });
  const decision = decide(p, req);
  const governance = {
    policy: p.name,
    budgets: decision.governance.budgets,
    rateLimits: decision.governance.rateLimits,
  };
  let t = next(start(decision, await activities.snapshot(governance)));
  const attempts = new Map<string, number>();
  for (let guard = 0; t.step.step !== 'done'; guard++) {
    if (guard > 50) throw new Error('did not finish');
    const step = t.step;
    await activities.settle({ settlements: step.settle });
    if (step.step === 'wait') throw new Error(`unexpected wait for ${step.name}`);
    if (step.rateLimits.length > 0) {
      const admitted = await activities.admitRateLimits({
        policy: p.name,
        requestId: req.id,
        uses: step.rateLimits,
        rateLimits: decision.governance.rateLimits,
      });
      expect(admitted.ok).toBe(true);
    }
    const reserved = await activities.reserve({
      policy: p.name,
      reservations: step.reserve,
      budgets: decision.governance.budgets,
      exempt: t.state.exempt,
      timeoutMs: step.timeoutMs,
    });
    expect(reserved.ok).toBe(true);
    const n = (attempts.get(step.model) ?? 0) + 1;
    attempts.set(step.model, n);
    t = next(t.state, simulatedResult(step, decision, {}, n), await activities.snapshot(governance));
  }
  await activities.settle({ settlements: t.step.settle });
  const appended = await activities.appendAudit({ request: req, result: t.step.result });
  return { result: t.step.result, seq: appended.seq };
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s store', (_name, backend: Backend) => {
  if (backend.broken !== undefined || backend.unavailable !== null) {
    it.skip(`skipped: ${backend.broken ?? backend.unavailable}`, () => undefined);
    return;
  }

  async function open(): Promise<{ url: string; store: Store }> {
    const opened = await freshStore(backend);
    stores.push(opened.store);
    return opened;
  }

  describe('governance activities with the execution machine', () => {
    it('served requests are reserved, committed at their actual cost and audited', async () => {
      const { store } = await open();
      const p = supportPlan();
      const first = await run(
        store,
        p,
        request({ team: 'support', capability: 'chat', mode: 'interactive' }),
      );
      const second = await run(
        store,
        p,
        request({ team: 'support', capability: 'chat', mode: 'interactive' }),
      );
      expect(first.result.status).toBe('served');
      expect([first.seq, second.seq]).toEqual([1, 2]);
      const usage = await store.usage(ledgerName('support', 'team-monthly'), 'support', 'month', NOW);
      expect(usage.spentNanos).toBe(first.result.costNanos + second.result.costNanos);
      expect(usage.reservedNanos).toBe(0);
      const day = await store.usage(ledgerName('support', 'team-monthly'), 'support', 'day', NOW);
      expect(day.spentTokens).toBe(
        first.result.usage.inputTokens +
          first.result.usage.outputTokens +
          second.result.usage.inputTokens +
          second.result.usage.outputTokens,
      );
      const rate = await store.rateUsage(ledgerName('support', 'rate-limit-1'), 'support', 'minute', NOW);
      expect(rate.requests).toBe(2);
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 2 });
      const [record] = await store.tailAudit(1);
      expect(record).toMatchObject({
        id: second.result.id,
        caller: { team: 'support', app: null, user: null },
        policy: 'support',
        plan: p.hash,
        status: 'served',
        costNanos: second.result.costNanos,
      });
      // The plan's `audit prompts hashed`: no text, only digests.
      expect(record!.prompts.mode).toBe('hashed');
      expect(record!.prompts.messages[0]).toEqual({
        role: 'user',
        sha256: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      });
      expect(JSON.stringify(record)).not.toContain('Where is my invoice?');
      expect(record!.budgets).toEqual(
        expect.arrayContaining([expect.objectContaining({ budget: 'team-monthly', outcome: 'committed' })]),
      );
    });

    it('the snapshot sees what concurrent requests spent: a spent budget downgrades', async () => {
      const { store } = await open();
      const p = supportPlan();
      // Someone else spent the team's month already.
      await store.reserve(
        [
          {
            budget: ledgerName('support', 'team-monthly'),
            scopeValue: 'support',
            key: 'other#1',
            nanos: 500 * DOLLAR,
            tokens: 0,
          },
        ],
        { [ledgerName('support', 'team-monthly')]: { limits: p.budgets[0]!.limits } },
        NOW,
      );
      await store.commit('other#1', 500 * DOLLAR, 0, NOW);
      const { result } = await run(store, p, request({ team: 'support', capability: 'reasoning' }));
      expect(result.status).toBe('served');
      expect(result.model).toBe('llama-8b');
      expect(result.decision.budgets).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ budget: 'team-monthly', outcome: 'exceeded', action: 'downgrade' }),
        ]),
      );
      // The downgraded attempt is exempt: reserved and committed past the limit, never refused.
      const usage = await store.usage(ledgerName('support', 'team-monthly'), 'support', 'month', NOW);
      expect(usage.spentNanos).toBe(500 * DOLLAR + result.costNanos);
    });

    it('reserve refuses a budget the snapshot did not know was spent, naming it, with a fresh snapshot', async () => {
      const { store } = await open();
      const budgets: BudgetPlan[] = [
        {
          name: 'tiny',
          scope: 'team',
          limits: [{ kind: 'money', amount: 1_000, window: 'day' }],
          onExceed: { action: 'reject' },
        },
      ];
      const p = plan({ name: 'p', budgets, routes: [route('r', TRUE, { model: 'gpt-4o' })] });
      const decision = decide(p, request({ policy: 'p', team: 't', maxTokens: 10 }));
      const activities = createGovernanceActivities(store, { now: () => NOW });
      const reservation = {
        budget: 'tiny',
        scopeValue: 't',
        key: 'x#1',
        nanos: 800,
        tokens: 0,
        enforce: true,
      };
      const input = { policy: 'p', budgets: decision.governance.budgets, reservations: [reservation] };
      expect(await activities.reserve(input)).toMatchObject({ ok: true, replayed: false });
      const refused = await activities.reserve({ ...input, reservations: [{ ...reservation, key: 'y#1' }] });
      expect(refused).toMatchObject({
        ok: false,
        budget: 'tiny',
        scopeValue: 't',
        limitText: '$0.000001 per day',
        action: 'reject',
        retryAfterMs: 12 * 3_600_000,
        snapshot: { budgets: { tiny: { reservedNanos: 800, byWindow: { day: { reservedNanos: 800 } } } } },
      });
      // `alert` budgets and exempt (downgraded) budgets record without refusing.
      const alert = decision.governance.budgets.map((b) => ({
        ...b,
        onExceed: { action: 'alert' as const },
      }));
      expect(
        (
          await activities.reserve({
            ...input,
            budgets: alert,
            reservations: [{ ...reservation, key: 'z#1', enforce: false }],
          })
        ).ok,
      ).toBe(true);
      expect(
        (
          await activities.reserve({
            ...input,
            reservations: [{ ...reservation, key: 'w#1', enforce: false }],
          })
        ).ok,
      ).toBe(true);
      // Settle: commit and release by key, idempotent.
      const settled = await activities.settle({
        settlements: [
          { action: 'commit', budget: 'tiny', scopeValue: 't', key: 'x#1', nanos: 500, tokens: 3 },
          { action: 'release', budget: 'tiny', scopeValue: 't', key: 'z#1' },
        ],
      });
      expect(settled.keys).toEqual([
        { key: 'x#1', action: 'commit', found: true, charged: true },
        { key: 'z#1', action: 'release', found: true, charged: false },
      ]);
      const again = await activities.settle({
        settlements: [
          { action: 'commit', budget: 'tiny', scopeValue: 't', key: 'x#1', nanos: 500, tokens: 3 },
        ],
      });
      expect(again.keys[0]!.charged).toBe(false);
    });

    it('rate limits: a refusal carries the wait and the on-exceed rule', async () => {
      const { store } = await open();
      const p = plan({
        name: 'p',
        rateLimits: [
          {
            name: 'rl',
            scope: 'team',
            limits: [{ kind: 'requests', amount: 1, window: 'minute' }],
            onExceed: { action: 'wait', maxWaitMs: 30_000 },
          },
        ],
        routes: [route('r', TRUE, { model: 'llama-8b' })],
      });
      const decision = decide(p, request({ policy: 'p', team: 't' }));
      const activities = createGovernanceActivities(store, { now: () => NOW + 20_000 });
      const uses = [{ rateLimit: 'rl', scopeValue: 't', requests: 1, tokens: 10 }];
      const rateLimits = decision.governance.rateLimits;
      expect(await activities.admitRateLimits({ policy: 'p', requestId: 'a', uses, rateLimits })).toEqual({
        ok: true,
        replayed: false,
      });
      expect(
        await activities.admitRateLimits({ policy: 'p', requestId: 'b', uses, rateLimits }),
      ).toMatchObject({
        ok: false,
        rateLimit: 'rl',
        limitText: '1 requests per minute',
        retryAfterMs: 40_000,
        neverFits: false,
        onExceed: { action: 'wait', maxWaitMs: 30_000 },
      });
      const snapshot = await activities.snapshot({ policy: 'p', budgets: [], rateLimits });
      expect(snapshot.rateLimits).toEqual({
        rl: {
          requests: 1,
          tokens: 10,
          resetsInMs: 40_000,
          byWindow: { minute: { requests: 1, tokens: 10, resetsInMs: 40_000 } },
        },
      });
    });
  });

  describe('audit records', () => {
    const p = supportPlan();
    const req = request({
      team: 'support',
      app: 'helpdesk',
      user: 'u-7',
      messages: [{ role: 'user', content: 'I am jane@example.com, card 4111 1111 1111 1111' }],
    });

    async function served(): Promise<InferenceResult> {
      const { store } = await open();
      return (await run(store, p, req)).result;
    }

    it('keeps prompts as `audit prompts` says: hashed, redacted, full, none', async () => {
      const result = await served();
      const hashed = buildAuditRecord(req, result, 'hashed').prompts;
      expect(hashed.messages).toEqual([{ role: 'user', sha256: expect.stringMatching(/^sha256:/) }]);
      expect(hashed.answer).toEqual({ role: 'assistant', sha256: expect.stringMatching(/^sha256:/) });
      expect(buildAuditRecord(req, result, 'redacted').prompts.messages).toEqual([
        { role: 'user', content: 'I am [EMAIL], card [CREDIT-CARD]' },
      ]);
      expect(buildAuditRecord(req, result, 'full').prompts.messages[0]!.content).toContain(
        'jane@example.com',
      );
      expect(buildAuditRecord(req, result, 'none').prompts).toEqual({
        mode: 'none',
        messages: [],
        answer: null,
      });
    });

    it('every attempt, the route, guard and budget effects are recorded', async () => {
      const result = await served();
      const record = buildAuditRecord(req, result, 'none');
      expect(record.attempts).toHaveLength(result.attempts.length);
      expect(record.attempts[0]).toMatchObject({
        attempt: 1,
        model: result.attempts[0]!.model,
        outcome: 'answered',
      });
      expect(record.route).toBe(result.route);
      expect(record.guards).toEqual(result.decision.guards);
      expect(record.caller).toEqual({ team: 'support', app: 'helpdesk', user: 'u-7' });
    });

    it("the providers' API keys never reach the audit trail", async () => {
      const { store } = await open();
      const key = 'sk-live-0123456789abcdefghijklmn';
      const activities = createGovernanceActivities(store, {
        now: () => NOW,
        env: { OPENAI_API_KEY: key },
        plans: { byHash: () => ({ plan: p, baseDir: '.' }) },
      });
      const result = await served();
      const leaky: InferenceResult = {
        ...result,
        id: 'leaky',
        reason: `upstream echoed ${key}`,
        attempts: [{ ...result.attempts[0]!, outcome: 'error', error: `401 key=${key}` }],
      };
      await activities.appendAudit({ request: { ...req, id: 'leaky' }, result: leaky, prompts: 'full' });
      const record = await store.getAudit('leaky');
      expect(JSON.stringify(record)).not.toContain(key);
      expect(record!.reason).toBe('upstream echoed [SECRET]');
      expect(gpt4o.provider).toBe('openai');
    });
  });

  describe('audit retention', () => {
    async function expiries(url: string): Promise<[string, number | null][]> {
      const raw = await backend.raw(url);
      try {
        const rows = await raw.query('SELECT id, time_ms, expires_ms FROM audit_records ORDER BY seq');
        return rows.map((r) => [
          String(r.id),
          r.expires_ms === null ? null : Number(r.expires_ms) - Number(r.time_ms),
        ]);
      } finally {
        await raw.close();
      }
    }

    it("each record expires after its plan's `retain N days`; a plan without retain keeps it forever", async () => {
      const { url, store } = await open();
      const retained = supportPlan(); // audit { retain 400 days }
      expect(retained.audit.retainDays).toBe(400);
      const forever = {
        ...supportPlan(),
        hash: 'sha256:support-forever',
        audit: { prompts: 'hashed', retainDays: null },
      } satisfies Plan;
      const first = await run(
        store,
        retained,
        request({ team: 'support', capability: 'chat', mode: 'interactive' }),
      );
      const second = await run(
        store,
        forever,
        request({ team: 'support', capability: 'chat', mode: 'interactive' }),
      );
      expect(await expiries(url)).toEqual([
        [first.result.id, 400 * 86_400_000],
        [second.result.id, null],
      ]);
      // The hashed record is what it was before retention existed: no trace of it in the body.
      const [record] = await store.tailAudit(2);
      expect(Object.keys(record!)).not.toContain('retainDays');
      expect(await store.verifyAudit()).toMatchObject({ ok: true, count: 2, pruned: 0 });
      // 400 days later the first goes; the second (kept forever) stays.
      expect(await store.pruneAudit(NOW + 400 * 86_400_000)).toEqual({ deleted: 1, floorSeq: 1 });
      expect((await store.tailAudit(10)).map((r) => r.id)).toEqual([second.result.id]);
    });

    it("a plan no longer known by hash (a worker restarted after a policy change) gets its policy's current retention", async () => {
      const { url, store } = await open();
      const current = supportPlan();
      const activities = createGovernanceActivities(store, {
        now: () => NOW,
        plans: {
          byHash: () => undefined,
          current: (policy) => (policy === current.name ? { plan: current, baseDir: '.' } : undefined),
        },
      });
      const req = request({ team: 'support', capability: 'chat', mode: 'interactive' });
      const { result } = await run(store, current, req);
      await activities.appendAudit({
        request: { ...req, id: 'again' },
        result: { ...result, id: 'again', plan: 'sha256:gone' },
      });
      await activities.appendAudit({
        request: { ...req, id: 'other' },
        result: { ...result, id: 'other', policy: 'unknown', plan: 'sha256:gone' },
      });
      expect((await expiries(url)).slice(1)).toEqual([
        ['again', 400 * 86_400_000],
        ['other', null],
      ]);
    });
  });

  describe('switchyard budget and audit', () => {
    it('budget show: usage, reserved, remaining and reset per scope, from the recorded definitions or --policies', async () => {
      const { url, store } = await open();
      const now = Date.now();
      await run(
        store,
        supportPlan(),
        request({ team: 'support', capability: 'chat', mode: 'interactive' }),
        now,
      );
      await store.reserve(
        [{ budget: 'support/team-monthly', scopeValue: 'sales', key: 'k#1', nanos: 2 * DOLLAR, tokens: 100 }],
        { 'support/team-monthly': { limits: supportPlan().budgets[0]!.limits } },
        now,
      );
      const json = await budget(['show', '--store', url, '--format', 'json']);
      expect(json.exitCode).toBe(0);
      const rows = JSON.parse(json.stdout!) as {
        scopeValue: string;
        limits: { kind: string; spent: number; reserved: number; remaining: number; resetsAt: string }[];
      }[];
      expect(rows.map((r) => r.scopeValue)).toEqual(['sales', 'support']);
      const sales = rows[0]!.limits[0]!;
      expect(sales).toMatchObject({ kind: 'money', spent: 0, reserved: 2 * DOLLAR, remaining: 498 * DOLLAR });
      expect(sales.resetsAt).toMatch(/^\d{4}-\d{2}-01T00:00:00.000Z$/);
      const text = await budget(['show', '--store', url, '--policy', 'support']);
      expect(text.stdout).toContain('support/team-monthly  per team  on-exceed downgrade llama-8b');
      expect(text.stdout).toMatch(
        /sales\s+\$500 per month\s+spent \$0\s+reserved \$2\s+remaining \$498\s+resets/,
      );
      expect(text.stdout).toMatch(/support\s+20M tokens per day\s+spent \d+ tokens/);
      // The support policy and its catalog (examples/ also holds other, independent policy sets).
      const policies = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-budget-policies-'));
      for (const file of ['catalog.policy', 'support.policy'])
        fs.copyFileSync(path.join(PROJECT_ROOT, 'examples', file), path.join(policies, file));
      fs.cpSync(path.join(PROJECT_ROOT, 'examples', 'schemas'), path.join(policies, 'schemas'), {
        recursive: true,
      });
      const fromPolicies = await budget(['show', '--store', url, '--policies', policies]);
      expect(fromPolicies.stdout).toContain('support/team-monthly');
      expect((await budget(['show', '--store', url, '--policy', 'nope'])).stdout).toMatch(/^no budgets/);
      expect((await budget(['list'])).usage).toBeDefined();
    });

    it('audit verify, tail and query; a broken chain exits 1 naming the record', async () => {
      const { url, store } = await open();
      for (let i = 0; i < 3; i++)
        await run(
          store,
          supportPlan(),
          request({ team: i === 1 ? 'sales' : 'support', capability: 'chat', mode: 'interactive' }),
        );
      expect((await audit(['verify', '--store', url])).stdout).toMatch(
        /^audit chain intact: 3 records, head sha256:/,
      );
      const tail = await audit(['tail', '-n', '2', '--store', url]);
      expect(tail.stdout!.split('\n')).toHaveLength(2);
      expect(tail.stdout).toMatch(/#3 {2}req-\d+ {2}served/);
      const query = JSON.parse(
        (await audit(['query', '--team', 'sales', '--store', url, '--format', 'json'])).stdout!,
      ) as { caller: { team: string } }[];
      expect(query.map((r) => r.caller.team)).toEqual(['sales']);
      expect((await audit(['query', '--status', 'failed', '--since', '1d', '--store', url])).stdout).toBe(
        'no audit records',
      );
      expect((await audit(['query', '--status', 'odd', '--store', url])).usage).toMatch(/--status odd/);

      const raw = await backend.raw(url);
      await raw.query(
        'UPDATE audit_records SET body = replace(body, \'"status":"served"\', \'"status":"failed"\') WHERE seq = 2',
      );
      await raw.close();
      const io = capture();
      let code: number;
      try {
        code = await main(['audit', 'verify', '--store', url]);
      } finally {
        io.restore();
      }
      expect(code).toBe(1);
      expect(io.err.join('')).toMatch(
        /^error E-AUDIT-BROKEN audit chain broken at record #2 \(req-\d+\): its content was modified/,
      );
    });

    it('audit prune deletes the expired records (retain 400 days); verify then reports them as pruned', async () => {
      const { url, store } = await open();
      const now = Date.now();
      const req = () => request({ team: 'support', capability: 'chat', mode: 'interactive' });
      expect(await audit(['prune', '--store', url])).toEqual({
        stdout: 'pruned 0 records; the chain starts at #1',
        exitCode: 0,
      });
      for (let i = 0; i < 3; i++) await run(store, supportPlan(), req(), now - 401 * 86_400_000);
      const kept = await run(store, supportPlan(), req(), now - 399 * 86_400_000);
      expect(await audit(['prune', '--store', url])).toEqual({
        stdout: 'pruned 3 records; the chain now starts after #3',
        exitCode: 0,
      });
      expect(JSON.parse((await audit(['prune', '--store', url, '--format', 'json'])).stdout!)).toEqual({
        deleted: 0,
        floorSeq: 3,
      });
      expect((await store.tailAudit(10)).map((r) => r.id)).toEqual([kept.result.id]);
      expect((await audit(['verify', '--store', url])).stdout).toMatch(
        /^audit chain intact: 1 record, head sha256:[0-9a-f]{64}; 3 older records were pruned by retention \(the chain starts after #3\)$/,
      );
      expect(JSON.parse((await audit(['verify', '--store', url, '--format', 'json'])).stdout!)).toMatchObject(
        {
          ok: true,
          count: 1,
          pruned: 3,
        },
      );
      expect((await audit(['prune', '-n', '2', '--store', url])).usage).toMatch(/-n is for 'audit tail'/);
      expect((await audit(['purge', '--store', url])).usage).toMatch(/'audit prune'/);

      const raw = await backend.raw(url);
      await raw.query(
        'UPDATE audit_records SET body = replace(body, \'"status":"served"\', \'"status":"failed"\') WHERE seq = 4',
      );
      await raw.close();
      const broken = await audit(['verify', '--store', url]);
      expect(broken.exitCode).toBe(1);
      expect(broken.stderr).toMatch(
        /^error E-AUDIT-BROKEN audit chain broken at record #4 \(req-\d+\): its content was modified .*\(0 records before it verified, after the 3 pruned by retention\)$/,
      );
    });
  });
});

describe('switchyard audit errors', () => {
  it('errors are one line with a code, never a stack trace', async () => {
    const io = capture();
    let code: number;
    try {
      code = await main(['audit', 'tail', '--store', 'sqlite:test/.tmp/store/missing.db']);
    } finally {
      io.restore();
    }
    expect(code).toBe(1);
    expect(io.err.join('')).toBe(
      'switchyard audit: error E-STORE-MISSING no store at test/.tmp/store/missing.db (set SWITCHYARD_STORE to the store in use)\n',
    );
  });
});
