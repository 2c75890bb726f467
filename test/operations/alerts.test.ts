/**
 * Alerts that reach people, end to end: a `switchyard worker` (configured by switchyard.yaml with
 * three webhooks) on the run's real Temporal dev server, requests spending a budget whose
 * `on-exceed` is `alert` through the provider test server's real model, and a webhook receiver.
 * The receiver's `flaky` endpoint fails twice for each alert, then accepts: each alert arrives there
 * exactly once (after two failures), its HMAC-SHA256 signature verifies; the Slack-shaped webhook
 * gets `{"text": …}`; the webhook with a bad URL is reported failed by `switchyard alerts list`,
 * and the worker goes on serving.
 */
import * as fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { catalog } from '../execution/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import {
  eventually,
  request,
  spawnCli,
  temporalAddress,
  uniqueName,
  writePolicies,
  type CliProcess,
} from '../support/temporal.js';
import { SwitchyardClient } from '../../client/index.js';
import { alerts, type AlertRow } from '../../cli/commands/alerts.js';
import { sign } from '../../operations/alerts.js';
import { parseMetrics, sumBy } from './prometheus.js';

const POLICY = `
import "catalog.policy"

policy watched {
  budget daily per team {
    tokens 100 per day
    on-exceed alert
  }
  route chat when capability == "chat" {
    use small max-tokens 8
  }
}
`;

const SECRET = 'webhook-secret-for-tests';

interface Received {
  path: string;
  body: string;
  headers: http.IncomingHttpHeaders;
  answered: number;
}

let server: ProviderServer;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
let worker: CliProcess;
let client: SwitchyardClient;
let taskQueue: string;
const hooks = { flaky: uniqueName('flaky'), slack: uniqueName('slack'), bad: uniqueName('bad') };

beforeAll(async () => {
  server = await startProviderServer();
  // Fails the first two deliveries of each alert (by its id) on /flaky, then accepts.
  const tries = new Map<string, number>();
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const id = String(req.headers['x-switchyard-alert-id']);
      const n = (tries.get(`${req.url}|${id}`) ?? 0) + 1;
      tries.set(`${req.url}|${id}`, n);
      const answered = req.url === '/flaky' && n <= 2 ? 500 : 200;
      received.push({ path: req.url ?? '', body, headers: req.headers, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('alerts')),
    'watched.policy': POLICY,
  });
  fs.writeFileSync(
    path.join(dir, 'switchyard.yaml'),
    `store: sqlite:state.db
alerts:
  thresholds: [50, 100]
  checkSeconds: 0.2
  webhooks:
    - name: ${hooks.flaky}
      url: ${receiverUrl}/flaky
      format: json
      secretEnv: ALERT_SECRET
    - name: ${hooks.slack}
      url: ${receiverUrl}/slack
      format: slack
    - name: ${hooks.bad}
      url: "not a url"
`,
  );
  taskQueue = uniqueName('alerts-requests');
  worker = spawnCli(
    [
      'worker',
      '--config',
      path.join(dir, 'switchyard.yaml'),
      '--policies',
      dir,
      '--address',
      temporalAddress(),
      '--task-queue',
      taskQueue,
      '--no-watch',
      '--metrics-port',
      '0',
    ],
    { env: { ALERT_SECRET: SECRET, SWITCHYARD_STORE: '' } },
  );
  await worker.waitFor(/metrics \(Prometheus\): (http:\S+)/, 90_000);
  client = await SwitchyardClient.connect({ address: temporalAddress(), taskQueue });
}, 120_000);

afterAll(async () => {
  await client?.close();
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  await new Promise((resolve) => receiver?.close(resolve));
  await server?.close();
});

async function list(): Promise<AlertRow[]> {
  const out = await alerts(['list', '--address', temporalAddress(), '--format', 'json']);
  expect(out.exitCode).toBe(0);
  return (JSON.parse(out.stdout!) as AlertRow[]).filter((r) => Object.values(hooks).includes(r.webhook));
}

it('each alert reaches each webhook exactly once, signed; a bad URL is reported, not crashed on', async () => {
  // Answers cost 25 to 50 tokens of the 100: spend until the limit is reached (50% on the way).
  let total = 0;
  for (let i = 0; i < 8 && total < 100; i++) {
    const result = await (
      await client.start(request(uniqueName('spend'), 'watched', { team: 'ops' }))
    ).result();
    expect(result.status).toBe('served');
    total += result.usage.inputTokens + result.usage.outputTokens;
  }
  expect(total).toBeGreaterThanOrEqual(100);

  const accepted = (p: string) => received.filter((r) => r.path === p && r.answered === 200);
  await eventually(
    () => accepted('/flaky').length >= 2 && accepted('/slack').length >= 2,
    60_000,
    'two alerts',
  );
  // A few more checks of the budgets (every 0.2 s): nothing is delivered again.
  await new Promise((r) => setTimeout(r, 1_500));

  const flaky = accepted('/flaky');
  const ids = flaky.map((r) => String(r.headers['x-switchyard-alert-id'])).sort();
  expect(ids).toHaveLength(2);
  expect(ids[0]).toMatch(/^budget-exceeded\/watched\/daily\/ops\/day\//);
  expect(ids[1]).toMatch(/^budget-threshold\/watched\/daily\/ops\/day\/.*\/50$/);
  // Twice refused, then taken: three tries per alert, and no more.
  for (const id of ids) {
    expect(
      received.filter((r) => r.path === '/flaky' && r.headers['x-switchyard-alert-id'] === id),
    ).toHaveLength(3);
  }
  for (const r of flaky) {
    expect(r.headers['x-switchyard-signature']).toBe(`sha256=${sign(r.body, SECRET)}`);
    const event = JSON.parse(r.body) as { kind: string; spent: number; limit: number; unit: string };
    expect(event.limit).toBe(100);
    expect(event.unit).toBe('tokens');
    expect(event.spent).toBeGreaterThanOrEqual(event.kind === 'budget_exceeded' ? 100 : 50);
  }
  const slack = accepted('/slack');
  expect(slack).toHaveLength(2);
  expect(received.filter((r) => r.path === '/slack')).toHaveLength(2);
  for (const r of slack) {
    expect(Object.keys(JSON.parse(r.body) as object)).toEqual(['text']);
    expect(r.headers['x-switchyard-signature']).toBeUndefined();
  }
  expect(slack.map((r) => (JSON.parse(r.body) as { text: string }).text).sort()).toEqual(
    [
      expect.stringMatching(
        /^Budget watched\/daily \(team ops\) crossed 50%: \d+ tokens of 100 tokens per day spent$/,
      ),
      expect.stringMatching(
        /^Budget watched\/daily \(team ops\) exceeded \(on-exceed alert\): \d+ tokens of 100 tokens/,
      ),
    ].sort((a, b) => String(a).localeCompare(String(b))),
  );

  // `switchyard alerts list`: six alerts (two events × three webhooks), the bad URL's failed.
  let rows: AlertRow[] = [];
  await eventually(
    async () => (rows = await list()).length === 6 && rows.every((r) => r.state !== 'retrying'),
    30_000,
    'six alerts listed',
  );
  const byHook = (name: string) => rows.filter((r) => r.webhook === name);
  expect(byHook(hooks.flaky).map((r) => [r.state, r.attempt])).toEqual([
    ['delivered', 3],
    ['delivered', 3],
  ]);
  expect(byHook(hooks.slack).map((r) => r.state)).toEqual(['delivered', 'delivered']);
  for (const r of byHook(hooks.bad)) {
    expect(r.state).toBe('failed');
    expect(r.error).toBe(`webhook ${hooks.bad}: not a URL: not a url`);
  }
  // What docs/operations.md shows: SWITCHYARD_METRICS_DUMP=DIR keeps the bodies and the listing.
  const dump = process.env.SWITCHYARD_METRICS_DUMP;
  if (dump) {
    fs.mkdirSync(dump, { recursive: true });
    const text = await alerts(['list', '--address', temporalAddress()]);
    fs.writeFileSync(path.join(dump, 'alerts-list.txt'), text.stdout ?? '');
    fs.writeFileSync(
      path.join(dump, 'alert-json.txt'),
      `${JSON.stringify(flaky[0]!.headers)}\n${flaky[0]!.body}\n`,
    );
    fs.writeFileSync(path.join(dump, 'alert-slack.txt'), `${slack[0]!.body}\n`);
  }
  // Every try is counted in the worker's metrics.
  const metricsUrl = /metrics \(Prometheus\): (http:\S+)/.exec(worker.stdout)![1]!;
  const samples = parseMetrics(await (await fetch(metricsUrl)).text());
  expect(
    Object.fromEntries(sumBy(samples, 'switchyard_alert_deliveries_total', ['webhook', 'outcome'])),
  ).toEqual({
    [`${hooks.flaky}|refused`]: 4,
    [`${hooks.flaky}|delivered`]: 2,
    [`${hooks.slack}|delivered`]: 2,
    [`${hooks.bad}|invalid`]: 2,
  });
  // The worker goes on.
  expect(worker.child.exitCode).toBeNull();
  const after = await (await client.start(request(uniqueName('after'), 'watched', { team: 'ops' }))).result();
  expect(after.status).toBe('served');
}, 120_000);
