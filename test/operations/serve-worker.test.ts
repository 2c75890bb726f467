/**
 * `switchyard serve --worker`: one process runs the front door and a worker, so its one `/metrics`
 * has both execution modes' requests, each counted once, and Temporal's SDK metrics.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { catalog } from '../execution/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import {
  spawnCli,
  temporalAddress,
  uniqueName,
  writePolicies,
  type CliProcess,
} from '../support/temporal.js';
import { openStore } from '../../store/index.js';
import { parseMetrics, sumBy, total } from './prometheus.js';

const POLICY = `
import "catalog.policy"

policy one {
  route chat when capability == "chat" {
    use small max-tokens 8
  }
  route quick when capability == "quick" {
    execution direct
    use small max-tokens 8
  }
}
`;

let server: ProviderServer;
let serve: CliProcess;
let url: string;
let key: string;

beforeAll(async () => {
  server = await startProviderServer();
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('one')),
    'one.policy': POLICY,
  });
  const storeUrl = `sqlite:${dir}/state.db`;
  const store = await openStore(storeUrl);
  key = (await store.createKey({ team: 'ops', policy: 'one' })).key;
  await store.close();
  serve = spawnCli([
    'serve',
    '--worker',
    '--policies',
    dir,
    '--store',
    storeUrl,
    '--address',
    temporalAddress(),
    '--task-queue',
    uniqueName('one-requests'),
    '--port',
    '0',
    '--no-watch',
  ]);
  await serve.waitFor(/listening on (http:\S+)\/v1/, 90_000);
  url = /listening on (http:\S+)\/v1/.exec(serve.stdout)![1]!;
}, 120_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
  await server?.close();
});

it('one /metrics: durable and direct requests counted once each, and Temporal metrics', async () => {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
  for (const model of ['chat', 'quick', 'chat']) {
    await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Once upon a time' }],
    });
  }
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const samples = parseMetrics(await res.text());
  expect(
    Object.fromEntries(sumBy(samples, 'switchyard_requests_total', ['route', 'execution', 'status'])),
  ).toEqual({
    'chat|durable|served': 2,
    'quick|direct|served': 1,
  });
  expect(total(samples, 'switchyard_provider_call_duration_seconds_count')).toBe(3);
  expect(total(samples, 'switchyard_temporal_metrics_up')).toBe(1);
  expect(total(samples, 'temporal_workflow_completed_total')).toBe(2);
});
