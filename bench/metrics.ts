/**
 * What the metrics cost (docs/operations.md "Cost"): recording one request — its outcome as the
 * audit activity records it, one provider call, one HTTP request of the front door — in µs per
 * request, with labels spread over 100 routes × 20 models; and one `GET /metrics` exposition once
 * every one of those 2,000 route × model series exists (the issue asks ≤ 50 ms).
 *
 * `npx tsx bench/run.ts metrics`, or alone: `npx tsx bench/metrics.ts`
 */
import { metricsText, recordHttp, recordProviderCall, recordRequest } from '../operations/metrics.js';
import type { InferenceResult } from '../plan/trace.js';
// Only a type from run.js: a value import would run every suite (run.js runs them at top level).
import type { BenchResult } from './run.js';

const ROUTES = 100;
const MODELS = 20;

function result(route: number, model: number): InferenceResult {
  return {
    id: 'req-bench',
    status: 'served',
    policy: 'bench',
    plan: 'sha256:0',
    route: `route-${route}`,
    model: `model-${model}`,
    provider: `prov-${model % 4}`,
    output: null,
    usage: { inputTokens: 120, outputTokens: 40 },
    cost: '0.000032',
    costNanos: 32_000,
    attempts: [
      {
        attempt: 1,
        model: `model-${model}`,
        provider: `prov-${model % 4}`,
        role: 'primary',
        outcome: 'answered',
        ms: 12,
        delayBeforeMs: 0,
        timeoutMs: 60_000,
      },
    ],
    reason: null,
    elapsedMs: 12,
    decision: {
      budgets: [
        { budget: 'monthly', attempt: 1, model: `model-${model}`, outcome: 'reserved', nanos: 1, tokens: 1 },
        { budget: 'monthly', attempt: 1, model: `model-${model}`, outcome: 'committed', nanos: 1, tokens: 1 },
      ],
      rateLimits: [{ rateLimit: 'per-team', outcome: 'admitted', requests: 1, tokens: 160 }],
    } as unknown as InferenceResult['decision'],
  };
}

function summarise(name: string, unit: string, samples: number[], extra: Partial<BenchResult>): BenchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { name, unit, median: at(0.5), p95: at(0.95), samples: samples.length, ...extra };
}

export async function benchMetrics(): Promise<BenchResult[]> {
  const results = Array.from({ length: ROUTES * MODELS }, (_, i) =>
    result(i % ROUTES, Math.floor(i / ROUTES)),
  );
  const record = (r: InferenceResult) => {
    recordProviderCall(r.provider!, r.model!, { kind: 'answered', ms: 12 });
    recordRequest(r, 'direct', 15);
    recordHttp('/v1/chat/completions', 200, 0.016);
  };
  // Every series exists once (the first recording of a label set builds it).
  for (const r of results) record(r);

  const perRequest: number[] = [];
  for (let round = 0; round < 30; round++) {
    const started = process.hrtime.bigint();
    for (const r of results) record(r);
    perRequest.push(Number(process.hrtime.bigint() - started) / 1000 / results.length);
  }
  // One route and model over and over (a service with one hot route).
  const one: number[] = [];
  for (let round = 0; round < 30; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < results.length; i++) record(results[0]!);
    one.push(Number(process.hrtime.bigint() - started) / 1000 / results.length);
  }
  const scrape: number[] = [];
  const text = await metricsText();
  for (let round = 0; round < 20; round++) {
    const started = process.hrtime.bigint();
    await metricsText();
    scrape.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return [
    summarise('metrics: record one request (outcome, provider call, HTTP)', 'µs', perRequest, {
      note: `labels over ${ROUTES} routes × ${MODELS} models`,
    }),
    summarise('metrics: record one request, always the same route and model', 'µs', one, {}),
    summarise(`metrics: GET /metrics text, ${ROUTES} routes × ${MODELS} models`, 'ms', scrape, {
      target: '≤ 50 ms',
      note: `${Math.round(text.length / 1024)} KiB, ${text.split('\n').length} lines`,
    }),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchMetrics()) {
    console.log(
      `${r.name}: median ${r.median.toFixed(2)} ${r.unit}, p95 ${r.p95.toFixed(2)} ${r.unit} (n=${r.samples})`,
    );
  }
}
