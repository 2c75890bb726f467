/**
 * `GET /metrics` after a scripted run, checked against the audit trail: a `switchyard worker
 * --metrics-port` and a `switchyard serve` (two processes, as in production) on the run's real
 * Temporal dev server, the provider test server over the real GGUF model, requests in both
 * execution modes through the front door with the official `openai` client — answers, fallbacks,
 * escalations, a request no route takes, budget and rate-limit refusals. Every count and sum the
 * two processes report together equals what the store's audit records say, each request counted
 * by the one process that audited it; budget gauges equal the ledger; Temporal's SDK metrics come
 * with the worker's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { budgetStatus } from '../../store/budget-status.js';
import type { AuditRecord, Store } from '../../store/types.js';
import { add, parseMetrics, sorted, sumBy, total, type Sample } from './prometheus.js';

const POLICIES = `
import "catalog.policy"

policy ops {
  route chat when capability == "chat" {
    use small max-tokens 8
  }
  route quick when capability == "quick" {
    execution direct
    use small max-tokens 8
  }
  route fallback when capability == "fallback" {
    use alt max-tokens 8
    fallback small max-tokens 8
  }
  route fallback-direct when capability == "fallback-direct" {
    execution direct
    use alt max-tokens 8
    fallback small max-tokens 8
  }
  route escalate when capability == "escalate" {
    use small max-tokens 2
    escalate big when output.truncated max-tokens 4
  }
  route escalate-direct when capability == "escalate-direct" {
    execution direct
    use small max-tokens 2
    escalate big when output.truncated max-tokens 4
  }
  otherwise reject "no route for this capability"
}

policy tight {
  execution direct
  budget daily per team {
    tokens 40 per day
    on-exceed reject
  }
  route chat when capability == "chat" {
    use small max-tokens 8
  }
}

policy tightd {
  budget daily per team {
    tokens 40 per day
    on-exceed reject
  }
  route chat when capability == "chat" {
    use small max-tokens 8
  }
}

policy limited {
  execution direct
  rate-limit per team {
    2 requests per minute
    on-exceed reject
  }
  route chat when capability == "chat" {
    use small max-tokens 4
  }
}
`;

/** The routes that run direct (every other request is durable: a workflow in the worker). */
const DIRECT = new Set([
  'ops/quick',
  'ops/fallback-direct',
  'ops/escalate-direct',
  'tight/chat',
  'limited/chat',
]);

let server: ProviderServer;
let store: Store;
let worker: CliProcess;
let serve: CliProcess;
let frontDoor: string;
let workerMetrics: string;
let openai: OpenAI;
/** What the script sent: the number of chat completions, and how many were answered. */
const sent = { chat: 0, answered: 0, refused: 0 };

async function scrape(url: string): Promise<{ text: string; samples: Sample[]; type: string }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseMetrics(text), type: res.headers.get('content-type') ?? '' };
}

function urlIn(process: CliProcess, pattern: RegExp): string {
  return pattern.exec(process.stdout)![1]!;
}

beforeAll(async () => {
  server = await startProviderServer();
  const prefix = uniqueName('ops');
  const dir = writePolicies({ 'catalog.policy': catalog(server.url, prefix), 'ops.policy': POLICIES });
  const storeUrl = `sqlite:${dir}/state.db`;
  const common = ['--policies', dir, '--store', storeUrl, '--address', temporalAddress()];
  const taskQueue = uniqueName('ops-requests');
  worker = spawnCli(['worker', ...common, '--task-queue', taskQueue, '--metrics-port', '0', '--no-watch']);
  await worker.waitFor(/metrics \(Prometheus\): (http:\S+)/, 90_000);
  workerMetrics = urlIn(worker, /metrics \(Prometheus\): (http:\S+)/);
  serve = spawnCli(['serve', ...common, '--task-queue', taskQueue, '--port', '0', '--no-watch']);
  await serve.waitFor(/listening on (http:\S+)\/v1/, 90_000);
  frontDoor = urlIn(serve, /listening on (http:\S+)\/v1/);
  store = await openStore(storeUrl);
  const key = (await store.createKey({ team: 'ops', policy: null })).key;
  openai = new OpenAI({ baseURL: `${frontDoor}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 });

  // The script. `alt` always fails (HTTP 500, retryable): its routes fall over to `small`.
  server.faults.add({ model: 'alt', status: 500 });
  const ask = async (model: string, marker: string) => {
    sent.chat++;
    try {
      await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: `Once upon a time [${marker}]` }],
      });
      sent.answered++;
    } catch (err) {
      if (!(err instanceof OpenAI.APIError)) throw err;
      sent.refused++;
    }
  };
  for (const capability of ['chat', 'quick', 'fallback', 'fallback-direct', 'escalate', 'escalate-direct']) {
    await ask(`ops/${capability}`, `${capability}-1`);
    await ask(`ops/${capability}`, `${capability}-2`);
  }
  await ask('ops/poetry', 'no-route');
  for (let i = 0; i < 4; i++) await ask('tight/chat', `tight-${i}`);
  for (let i = 0; i < 4; i++) await ask('tightd/chat', `tightd-${i}`);
  for (let i = 0; i < 3; i++) await ask('limited/chat', `limited-${i}`);
}, 240_000);

afterAll(async () => {
  for (const p of [serve, worker]) {
    if (p && p.child.exitCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
  await store?.close();
  await server?.close();
});

describe('GET /metrics after a scripted run', () => {
  let records: AuditRecord[];
  let both: Sample[];
  let served: Sample[];
  let work: Sample[];

  beforeAll(async () => {
    records = await store.tailAudit(1000);
    const a = await scrape(`${frontDoor}/metrics`);
    const b = await scrape(workerMetrics);
    expect(a.type).toMatch(/^text\/plain; version=0\.0\.4/);
    // The scrapes as they were (docs/operations.md shows them): SWITCHYARD_METRICS_DUMP=DIR.
    const dump = process.env.SWITCHYARD_METRICS_DUMP;
    if (dump) {
      fs.mkdirSync(dump, { recursive: true });
      fs.writeFileSync(path.join(dump, 'serve.txt'), a.text);
      fs.writeFileSync(path.join(dump, 'worker.txt'), b.text);
    }
    served = a.samples;
    work = b.samples;
    both = [...served, ...work];
  });

  it('the script ran as meant: answers, refusals, and one audit record per request', () => {
    expect(records).toHaveLength(sent.chat);
    expect(sent.answered).toBeGreaterThanOrEqual(12);
    expect(records.filter((r) => r.status === 'rejected').length).toBe(sent.refused);
    // Budget and rate-limit refusals both happened, and a request no route takes.
    expect(records.some((r) => r.policy === 'tight' && r.status === 'rejected')).toBe(true);
    expect(records.some((r) => r.policy === 'tightd' && r.status === 'rejected')).toBe(true);
    expect(records.some((r) => r.policy === 'limited' && r.status === 'rejected')).toBe(true);
    expect(records.some((r) => r.policy === 'ops' && r.route === null)).toBe(true);
  });

  it('requests by policy, route, model and status equal the audit trail; each counted by the process that ran it', () => {
    const audit = new Map<string, number>();
    const byExecution = new Map<string, number>();
    for (const r of records) {
      add(audit, `${r.policy}|${r.route ?? ''}|${r.model ?? ''}|${r.status}`);
      add(byExecution, DIRECT.has(`${r.policy}/${r.route}`) ? 'direct' : 'durable');
    }
    expect(sorted(sumBy(both, 'switchyard_requests_total', ['policy', 'route', 'model', 'status']))).toEqual(
      sorted(audit),
    );
    // Direct requests in the front door's process, durable ones in the worker's; never both.
    expect(total(served, 'switchyard_requests_total')).toBe(byExecution.get('direct'));
    expect(total(served, 'switchyard_requests_total', { execution: 'durable' })).toBe(0);
    expect(total(work, 'switchyard_requests_total')).toBe(byExecution.get('durable'));
    expect(total(work, 'switchyard_requests_total', { execution: 'direct' })).toBe(0);
    // Every request has its whole time and what Switchyard added.
    expect(total(both, 'switchyard_request_duration_seconds_count')).toBe(records.length);
    expect(total(both, 'switchyard_added_latency_seconds_count')).toBe(records.length);
    expect(total(both, 'switchyard_request_duration_seconds_sum')).toBeGreaterThan(0);
  });

  it('tokens in and out and cost (nano-dollars) equal the audit trail, exactly', () => {
    const tokens = new Map<string, number>();
    const cost = new Map<string, number>();
    for (const r of records) {
      const key = `${r.policy}|${r.route ?? ''}|${r.model ?? ''}`;
      add(tokens, `${key}|input`, r.usage.inputTokens);
      add(tokens, `${key}|output`, r.usage.outputTokens);
      add(cost, key, r.costNanos);
    }
    expect(sorted(sumBy(both, 'switchyard_tokens_total', ['policy', 'route', 'model', 'type']))).toEqual(
      sorted(tokens),
    );
    expect(sorted(sumBy(both, 'switchyard_cost_nanodollars_total', ['policy', 'route', 'model']))).toEqual(
      sorted(cost),
    );
    expect([...cost.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('budget and rate-limit refusals, fallbacks and escalations equal the audit trail', () => {
    const budgets = new Map<string, number>();
    const limits = new Map<string, number>();
    const fallbacks = new Map<string, number>();
    const escalations = new Map<string, number>();
    for (const r of records) {
      for (const e of r.budgets as { budget: string; outcome: string; action?: string }[]) {
        if (e.outcome === 'exceeded') add(budgets, `${r.policy}|${e.budget}|${e.action}`);
      }
      for (const e of r.rateLimits as { rateLimit: string; outcome: string; action?: string }[]) {
        if (e.outcome === 'exceeded') add(limits, `${r.policy}|${e.rateLimit}|${e.action}`);
      }
      const escalation = (r.extra as { escalation?: { to: string; outcome: string } } | undefined)
        ?.escalation;
      if (escalation) add(escalations, `${r.policy}|${r.route}|${escalation.to}|${escalation.outcome}`);
      // A change of model that is not the escalation is a fallback.
      r.attempts.forEach((a, i) => {
        const previous = r.attempts[i - 1];
        if (previous && previous.model !== a.model && a.model !== escalation?.to) {
          add(fallbacks, `${r.policy}|${r.route}|${a.model}`);
        }
      });
    }
    expect(budgets.size).toBeGreaterThan(0);
    expect(limits.size).toBeGreaterThan(0);
    expect(fallbacks.size).toBe(2);
    expect(escalations.size).toBe(2);
    expect(sorted(sumBy(both, 'switchyard_budget_exceeded_total', ['policy', 'budget', 'action']))).toEqual(
      sorted(budgets),
    );
    expect(
      sorted(sumBy(both, 'switchyard_rate_limit_exceeded_total', ['policy', 'rate_limit', 'action'])),
    ).toEqual(sorted(limits));
    expect(sorted(sumBy(both, 'switchyard_fallbacks_total', ['policy', 'route', 'model']))).toEqual(
      sorted(fallbacks),
    );
    expect(
      sorted(sumBy(both, 'switchyard_escalations_total', ['policy', 'route', 'model', 'outcome'])),
    ).toEqual(sorted(escalations));
  });

  it('provider calls and errors by class equal the attempts audited', () => {
    const calls = new Map<string, number>();
    const errors = new Map<string, number>();
    for (const r of records) {
      for (const a of r.attempts) {
        add(calls, `${a.provider}|${a.model}|${a.outcome === 'answered' ? 'answered' : 'error'}`);
        if (a.outcome !== 'answered') add(errors, `${a.provider}|${a.model}|${a.errorClass}`);
      }
    }
    expect(errors.get('local|alt|retryable')).toBe(4);
    expect(
      sorted(
        sumBy(both, 'switchyard_provider_call_duration_seconds_count', ['provider', 'model', 'outcome']),
      ),
    ).toEqual(sorted(calls));
    expect(sorted(sumBy(both, 'switchyard_provider_errors_total', ['provider', 'model', 'class']))).toEqual(
      sorted(errors),
    );
    // The provider server saw exactly those calls.
    expect(server.requests.filter((q) => q.path.includes('chat')).length).toBe(
      [...calls.values()].reduce((a, b) => a + b, 0),
    );
  });

  it('budget gauges equal the ledger, per budget and scope value; limits as the policy says', async () => {
    const status = await budgetStatus(store, await store.budgetDefinitions(), Date.now());
    for (const samples of [served, work]) {
      for (const row of status.filter((s) => s.budget === 'tight/daily' || s.budget === 'tightd/daily')) {
        const where = {
          policy: row.policy,
          budget: row.name,
          scope: 'team',
          scope_value: row.scopeValue ?? '',
          window: 'day',
        };
        expect(total(samples, 'switchyard_budget_spent_tokens', where)).toBe(
          row.limits[0]!.usage.spentTokens,
        );
        expect(total(samples, 'switchyard_budget_reserved_tokens', where)).toBe(0);
        expect(total(samples, 'switchyard_budget_limit_tokens', where)).toBe(40);
      }
    }
    expect(
      total(served, 'switchyard_budget_spent_tokens', {
        policy: 'tight',
        budget: 'daily',
        scope_value: 'ops',
      }),
    ).toBeGreaterThan(0);
  });

  it("provider concurrency: each process's limit, nothing in use once the run is over", () => {
    for (const samples of [served, work]) {
      expect(total(samples, 'switchyard_provider_concurrency_limit', { provider: 'local' })).toBe(4);
      expect(total(samples, 'switchyard_provider_concurrency_in_use')).toBe(0);
      expect(total(samples, 'switchyard_provider_concurrency_waiting')).toBe(0);
    }
  });

  it("the front door's HTTP requests by path and code; Temporal's SDK metrics with the worker's", () => {
    expect(
      total(served, 'switchyard_http_request_duration_seconds_count', { path: '/v1/chat/completions' }),
    ).toBe(sent.chat);
    expect(
      total(served, 'switchyard_http_request_duration_seconds_count', {
        path: '/v1/chat/completions',
        code: '200',
      }),
    ).toBe(sent.answered);
    expect(total(work, 'switchyard_temporal_metrics_up')).toBe(1);
    const temporal = work.filter((s) => s.name.startsWith('temporal_'));
    expect(temporal.length).toBeGreaterThan(0);
    expect(temporal.some((s) => s.name === 'temporal_workflow_completed_total')).toBe(true);
    expect(temporal.some((s) => s.name.startsWith('temporal_activity_execution_latency_seconds'))).toBe(true);
    // Node's process metrics, and no request id, user or key among the labels.
    expect(served.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);
    for (const s of both.filter((x) => x.name.startsWith('switchyard_'))) {
      for (const value of Object.values(s.labels)) expect(value).not.toMatch(/^req-|^sy-/);
      expect(Object.keys(s.labels)).not.toContain('user');
    }
  });
});
