/**
 * `switchyard replay` (docs/what-if.md, "Replay") over a trail written by real traffic: requests
 * through the request workflow (real Temporal dev server, workers in this process) and through the
 * front door's direct runner, answered by the provider test server (a real GGUF model), into one
 * store — SQLite, then PostgreSQL. The trail is replayed under three edited policies — a reroute,
 * a price change, a new `require` — and each report is checked to the request and the nano-dollar.
 * Also: a record from before routing facts were kept is skipped with a count, the chain still
 * verifies, the same trail and plans give the same report, and the real CLI prints it.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../cli/commands/replay.js';
import { createDirectRunner, type DirectRunner } from '../../frontdoor/direct.js';
import type { InferenceRequest } from '../../plan/index.js';
import type { ReplayReport } from '../../plan/replay.js';
import type { AuditRecord } from '../../store/types.js';
import { catalog, freshKey, KEY_ENV } from '../governance/fixtures.js';
import { backends, type Backend } from '../store/backends.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { spawnCli, startStack, uniqueName, writePolicies, type Stack } from '../support/temporal.js';

const SHOP = (routes: string, extra = '') => `
import "catalog.policy"

policy shop {
${extra}
  budget team-daily per team {
    limit $0.0006 per day
    on-exceed alert
  }
${routes}
  otherwise reject "no route for this task"
}
`;

const ROUTES = `
  route summarize when tag.task == "summarize" {
    use small max-tokens 4
    fallback alt max-tokens 4
  }
  route answer when tag.task == "answer" { use big max-tokens 4 }
`;

/** Blue's questions go to a route of their own, on the local model. */
const REROUTED = `
  route answer-blue when tag.task == "answer" and team == "blue" { use small max-tokens 4 }
${ROUTES}`;

const BACKENDS = await backends();
let server: ProviderServer;
const prefix = uniqueName('replay');
let dirs: { base: string; reroute: string; price: string; require: string };

beforeAll(async () => {
  process.env[KEY_ENV] = freshKey();
  server = await startProviderServer();
  const cat = catalog(server.url, prefix);
  dirs = {
    base: writePolicies({ 'catalog.policy': cat, 'shop.policy': SHOP(ROUTES) }),
    reroute: writePolicies({ 'catalog.policy': cat, 'shop.policy': SHOP(REROUTED) }),
    // `big` twice the price.
    price: writePolicies({
      'catalog.policy': cat.replace(
        'price input $0.0025 per 1k, output $0.01 per 1k',
        'price input $0.005 per 1k, output $0.02 per 1k',
      ),
      'shop.policy': SHOP(ROUTES),
    }),
    require: writePolicies({
      'catalog.policy': cat,
      'shop.policy': SHOP(ROUTES, '  require private when classification >= confidential'),
    }),
  };
}, 120_000);

afterAll(async () => {
  await server?.close();
  for (const backend of BACKENDS) await backend.cleanup();
});

function req(
  id: string,
  team: string,
  task: string,
  extra: Partial<InferenceRequest> = {},
): InferenceRequest {
  return {
    id,
    policy: 'shop',
    capability: 'chat',
    team,
    app: 'storefront',
    tags: { task },
    messages: [{ role: 'user', content: `Once upon a time (${task})` }],
    ...extra,
  };
}

async function replayReport(args: string[]): Promise<ReplayReport> {
  const result = await replay([...args, '--format', 'json']);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout!) as ReplayReport;
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

  let stack: Stack;
  let direct: DirectRunner;
  let storeUrl: string;
  const ids: Record<string, string> = {};
  const records: Record<string, AuditRecord> = {};

  beforeAll(async () => {
    storeUrl = backend.freshUrl();
    stack = await startStack({ dir: dirs.base, taskQueue: uniqueName('replay-requests'), storeUrl });
    direct = createDirectRunner({ plans: stack.registry, store: stack.store, sweepEveryMs: 0 });

    // A record from before audit records kept routing facts.
    await stack.store.appendAudit({
      id: 'before-routing-facts',
      caller: { team: 'red', app: 'storefront', user: null },
      capability: 'chat',
      classification: null,
      mode: null,
      policy: 'shop',
      plan: 'sha256:old',
      route: 'answer',
      model: 'big',
      provider: 'cloud',
      status: 'served',
      reason: null,
      attempts: [],
      usage: { inputTokens: 10, outputTokens: 4 },
      costNanos: 65_000,
      cost: '0.000065',
      guards: [],
      budgets: [],
      rateLimits: [],
      prompts: { mode: 'none', messages: [], answer: null },
    });

    // The traffic: [name, team, task, classification, mode of execution].
    const traffic: [string, string, string, InferenceRequest['classification'], 'durable' | 'direct'][] = [
      ['red-sum-1', 'red', 'summarize', 'internal', 'durable'],
      ['red-sum-2', 'red', 'summarize', 'internal', 'direct'],
      ['red-ans-1', 'red', 'answer', 'confidential', 'durable'],
      ['red-ans-2', 'red', 'answer', 'confidential', 'direct'],
      ['blue-ans-1', 'blue', 'answer', 'internal', 'durable'],
      ['blue-ans-2', 'blue', 'answer', 'internal', 'direct'],
      ['blue-ans-3', 'blue', 'answer', 'public', 'durable'],
      ['blue-sum-1', 'blue', 'summarize', 'internal', 'direct'],
      ['blue-translate', 'blue', 'translate', 'internal', 'durable'],
    ];
    for (const [name, team, task, classification, mode] of traffic) {
      const id = uniqueName(name);
      ids[name] = id;
      const request = req(id, team, task, { classification });
      const result = mode === 'durable' ? await stack.client.infer(request) : await direct.run(request);
      expect(result.status, `${name}: ${result.reason}`).toBe(task === 'translate' ? 'rejected' : 'served');
      records[name] = (await stack.store.getAudit(id))!;
    }
  }, 300_000);

  afterAll(async () => {
    direct?.close();
    await stack?.close();
  });

  it('both execution modes keep the routing facts, never the prompt; the chain verifies', async () => {
    expect(records['red-ans-2']!.routing).toEqual({
      capability: 'chat',
      mode: null,
      classification: 'confidential',
      team: 'red',
      app: 'storefront',
      user: null,
      region: null,
      tags: { task: 'answer' },
      inputTokens: 11,
      maxTokens: null,
      latency: null,
    });
    expect(records['red-ans-1']!.routing).toEqual(records['red-ans-2']!.routing);
    expect(JSON.stringify(records['red-ans-2'])).not.toContain('Once upon a time');
    expect(await stack.store.verifyAudit()).toMatchObject({ ok: true, count: 10 });
  });

  it('under the same policies nothing changes and the cost is the same', async () => {
    const report = await replayReport(['--policies', dirs.base, '--store', storeUrl]);
    expect(report).toMatchObject({
      records: 10,
      replayed: 9,
      skipped: { withoutRoutingFacts: 1, unknownPolicy: [] },
      changed: 0,
      requests: [],
    });
    // Each question on big cost $0.00012 (32 input and 4 output tokens), each summary on small
    // $0.000044 (36 and 4): red 2 + 2, blue 3 + 1 (and a rejected one).
    expect(report.cost).toEqual({ was: '0.000732', would: '0.000732', difference: '0' });
    expect(report.byTeam).toEqual([
      { team: 'blue', requests: 5, changed: 0, was: '0.000404', would: '0.000404', difference: '0' },
      { team: 'red', requests: 4, changed: 0, was: '0.000328', would: '0.000328', difference: '0' },
    ]);
    expect(report.exceeded).toEqual([]);
  });

  it('a reroute: the blue questions change route and model, and cost what the local model costs', async () => {
    const report = await replayReport(['--policies', dirs.reroute, '--store', storeUrl]);
    expect(report.changed).toBe(3);
    expect(report.byChange).toEqual({
      route: 3,
      model: 3,
      'newly-rejected': 0,
      'newly-allowed': 0,
      'data-rule': 0,
    });
    expect(report.byRoute).toEqual([
      { route: null, requests: 1, changed: 0, to: [{ route: null, requests: 1 }] },
      {
        route: 'answer',
        requests: 5,
        changed: 3,
        to: [
          { route: 'answer', requests: 2 },
          { route: 'answer-blue', requests: 3 },
        ],
      },
      { route: 'summarize', requests: 3, changed: 0, to: [{ route: 'summarize', requests: 3 }] },
    ]);
    expect(
      report.requests.map((r) => [r.id, r.changes, r.was.route, r.now.route, r.was.model, r.now.model]),
    ).toEqual(
      ['blue-ans-1', 'blue-ans-2', 'blue-ans-3'].map((name) => [
        ids[name],
        ['route', 'model'],
        'answer',
        'answer-blue',
        'big',
        'small',
      ]),
    );
    // Three questions at small's prices: 3 × (32 × $0.001 + 4 × $0.002) / 1k = $0.00012 instead
    // of 3 × $0.00012.
    expect(report.cost).toEqual({ was: '0.000732', would: '0.000492', difference: '-0.00024' });
    expect(report.byTeam).toEqual([
      { team: 'blue', requests: 5, changed: 3, was: '0.000404', would: '0.000164', difference: '-0.00024' },
      { team: 'red', requests: 4, changed: 0, was: '0.000328', would: '0.000328', difference: '0' },
    ]);
    expect(report.byBudget).toEqual([
      {
        policy: 'shop',
        budget: 'team-daily',
        scopeValue: 'blue',
        requests: 5,
        was: '0.000404',
        would: '0.000164',
        difference: '-0.00024',
      },
      {
        policy: 'shop',
        budget: 'team-daily',
        scopeValue: 'red',
        requests: 4,
        was: '0.000328',
        would: '0.000328',
        difference: '0',
      },
    ]);
    expect(report.exceeded).toEqual([]);
  });

  it('a price change: no request changes, the cost difference is what big costs more', async () => {
    const report = await replayReport(['--policies', dirs.price, '--store', storeUrl]);
    expect(report.changed).toBe(0);
    // Five questions on big, each $0.00012 more.
    expect(report.cost).toEqual({ was: '0.000732', would: '0.001332', difference: '0.0006' });
    expect(report.byTeam).toEqual([
      { team: 'blue', requests: 5, changed: 0, was: '0.000404', would: '0.000764', difference: '0.00036' },
      { team: 'red', requests: 4, changed: 0, was: '0.000328', would: '0.000568', difference: '0.00024' },
    ]);
    expect(report.byBudget).toEqual([
      {
        policy: 'shop',
        budget: 'team-daily',
        scopeValue: 'blue',
        requests: 5,
        was: '0.000404',
        would: '0.000764',
        difference: '0.00036',
      },
      {
        policy: 'shop',
        budget: 'team-daily',
        scopeValue: 'red',
        requests: 4,
        was: '0.000328',
        would: '0.000568',
        difference: '0.00024',
      },
    ]);
    // Blue's day goes over $0.0006 at its third question ($0.00072 by then).
    const third = records['blue-ans-3']!;
    expect(report.exceeded).toEqual([
      {
        policy: 'shop',
        budget: 'team-daily',
        scopeValue: 'blue',
        limit: '$0.0006 per day',
        windowStart: `${third.time.slice(0, 10)}T00:00:00.000Z`,
        would: '$0.000764',
        firstOver: { seq: third.seq, id: ids['blue-ans-3'], time: third.time },
      },
    ]);
  });

  it('a new require: confidential questions are newly rejected, big removed by the data rule', async () => {
    const report = await replayReport(['--policies', dirs.require, '--store', storeUrl]);
    expect(report.changed).toBe(2);
    expect(report.byChange).toEqual({
      route: 0,
      model: 0,
      'newly-rejected': 2,
      'newly-allowed': 0,
      'data-rule': 2,
    });
    expect(report.dataRules).toEqual([
      { rule: 'require private when classification >= confidential', model: 'big', requests: 2 },
    ]);
    expect(report.requests.map((r) => [r.id, r.changes, r.was.status, r.now.status, r.now.reason])).toEqual(
      ['red-ans-1', 'red-ans-2'].map((name) => [
        ids[name],
        ['newly-rejected', 'data-rule'],
        'served',
        'rejected',
        'no model left for route answer: removed big by require private when classification >= confidential',
      ]),
    );
    // Red's two questions are no longer answered: $0.00024 less.
    expect(report.cost).toEqual({ was: '0.000732', would: '0.000492', difference: '-0.00024' });
    expect(report.byTeam).toEqual([
      { team: 'blue', requests: 5, changed: 0, was: '0.000404', would: '0.000404', difference: '0' },
      { team: 'red', requests: 4, changed: 2, was: '0.000328', would: '0.000088', difference: '-0.00024' },
    ]);
  });

  it('the same trail and plans give the same report; the CLI prints it; --team and --since filter', async () => {
    const a = await replay(['--policies', dirs.require, '--store', storeUrl]);
    const b = await replay(['--policies', dirs.require, '--store', storeUrl]);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain(
      'changed: 2 of 9 — route 0, model 0, newly rejected 2, newly allowed 0, data rule 2\n' +
        'cost: $0.000732 → $0.000492 (-$0.00024)',
    );
    expect(a.stdout).toContain('records: 10, replayed 9, skipped 1 written before routing facts were kept');
    const red = await replayReport(['--policies', dirs.require, '--store', storeUrl, '--team', 'red']);
    expect([red.records, red.replayed, red.changed]).toEqual([5, 4, 2]);
    const all = await replayReport(['--policies', dirs.require, '--store', storeUrl, '--since', 'all']);
    expect([all.records, all.replayed, all.changed]).toEqual([10, 9, 2]);
    const future = await replayReport([
      '--policies',
      dirs.require,
      '--store',
      storeUrl,
      '--since',
      '2099-01-01',
    ]);
    expect([future.records, future.replayed]).toEqual([0, 0]);

    const cli = spawnCli(['replay', '--policies', path.join(dirs.price), '--store', storeUrl]);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout).toBe((await replay(['--policies', dirs.price, '--store', storeUrl])).stdout + '\n');
    // Replaying reads only: the chain still verifies, through the CLI.
    const verify = spawnCli(['audit', 'verify', '--store', storeUrl]);
    expect(await verify.exited).toBe(0);
    expect(verify.stdout).toMatch(/10 records/);
  }, 180_000);
});
