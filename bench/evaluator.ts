/**
 * The pure evaluator on a large plan: `decide` alone, and `decide` plus a full simulated execution
 * (what `switchyard test` and `explain` do per request). Figures are per decision, in µs: each
 * sample times a batch of decisions over varied requests and divides.
 */
import { decide } from '../plan/evaluator.js';
import { simulate } from '../plan/simulate.js';
import type { Condition, InferenceRequest, ModelPlan, Plan, ProviderPlan, RoutePlan } from '../plan/types.js';
import { PLAN_FORMAT } from '../plan/types.js';
// Only a type from run.js: a value import would make run.js (which runs every suite at top level)
// execute first when this file is imported on its own.
import type { BenchResult } from './run.js';

const ROUTES = 200;
const MODELS = 20;

/** A plan shaped like a big real one: 200 routes, 20 models on 4 providers, guards, budgets, requires. */
export function largePlan(): Plan {
  const providers: Record<string, ProviderPlan> = {};
  for (let p = 0; p < 4; p++) {
    providers[`prov-${p}`] = {
      name: `prov-${p}`,
      kind: p < 2 ? 'ollama' : 'openai',
      endpoints: [`http://host-${p}:11434`],
      queue: `prov-${p}`,
      concurrency: 4,
      timeoutMs: p < 2 ? 30_000 : null,
      private: p < 2,
      region: p % 2 === 0 ? 'eu' : null,
      apiKeyEnv: p < 2 ? null : 'KEY',
      modelFile: null,
    };
  }
  const models: Record<string, ModelPlan> = {};
  for (let m = 0; m < MODELS; m++) {
    models[`model-${m}`] = {
      name: `model-${m}`,
      provider: `prov-${m % 4}`,
      id: `model-${m}:latest`,
      version: null,
      context: 128_000,
      capabilities: ['chat'],
      price: {
        input: { nanos: 100_000 * (m + 1), perTokens: 1_000 },
        output: { nanos: 400_000 * (m + 1), perTokens: 1_000 },
      },
    };
  }
  const routes: RoutePlan[] = [];
  for (let r = 0; r < ROUTES; r++) {
    const cap: Condition = {
      op: 'compare',
      field: 'capability',
      cmp: '==',
      value: { kind: 'string', value: `cap-${r}` },
    };
    const when: Condition =
      r % 3 === 0
        ? {
            op: 'and',
            args: [
              cap,
              { op: 'compare', field: 'mode', cmp: '==', value: { kind: 'name', value: 'interactive' } },
            ],
          }
        : r % 3 === 1
          ? {
              op: 'and',
              args: [
                cap,
                {
                  op: 'not',
                  arg: { op: 'in', field: 'team', values: [{ kind: 'string', value: 'blocked' }] },
                },
              ],
            }
          : cap;
    const model = (k: number) => `model-${(r + k) % MODELS}`;
    routes.push({
      name: `route-${r}`,
      when,
      whenText: '',
      primary:
        r % 5 === 0
          ? {
              kind: 'split',
              targets: [
                { model: model(0), weight: 70 },
                { model: model(1), weight: 30 },
              ],
            }
          : { kind: 'use', target: { model: model(0), timeoutMs: 5_000, retries: 2, backoffMs: 200 } },
      fallbacks: [{ model: model(2) }, { model: model(3), timeoutMs: 20_000 }],
      escalations: [
        { model: model(4), when: { op: 'output', field: 'truncated' }, whenText: 'output.truncated' },
      ],
      deadlineMs: r % 2 === 0 ? 30_000 : null,
      execution: 'durable',
    });
  }
  return {
    format: PLAN_FORMAT,
    name: 'large',
    version: 1,
    hash: 'sha256:bench',
    owner: null,
    description: null,
    providers,
    models,
    budgets: [
      {
        name: 'team-monthly',
        scope: 'team',
        limits: [
          { kind: 'money', amount: 500_000_000_000, window: 'month' },
          { kind: 'tokens', amount: 20_000_000, window: 'day' },
        ],
        onExceed: { action: 'downgrade', model: 'model-0' },
      },
    ],
    rateLimits: [
      {
        name: 'rate-limit-1',
        scope: 'team',
        limits: [{ kind: 'requests', amount: 600, window: 'minute' }],
        onExceed: { action: 'wait', maxWaitMs: 30_000 },
      },
    ],
    guards: [
      {
        name: 'pii',
        phase: 'before',
        target: { kind: 'external' },
        redact: ['email', 'phone'],
        blocks: [],
        maxInput: null,
        schema: null,
      },
      {
        name: 'secrets',
        phase: 'before',
        target: { kind: 'all' },
        redact: [],
        blocks: [{ pattern: 'BEGIN [A-Z ]*PRIVATE KEY', flags: '', message: 'no keys' }],
        maxInput: 32_000,
        schema: null,
      },
    ],
    requires: [
      {
        text: 'require private when classification >= confidential',
        when: {
          op: 'compare',
          field: 'classification',
          cmp: '>=',
          value: { kind: 'name', value: 'confidential' },
        },
        kind: 'private',
      },
    ],
    routes,
    otherwise: { kind: 'reject', message: 'no route' },
    audit: { prompts: 'hashed', retainDays: 30 },
  };
}

function requests(count: number): InferenceRequest[] {
  const classifications = ['public', 'internal', 'confidential'] as const;
  const out: InferenceRequest[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      id: `req-${i}`,
      policy: 'large',
      capability: `cap-${(i * 37) % ROUTES}`,
      team: `team-${i % 7}`,
      classification: classifications[i % 3],
      messages: [
        { role: 'system', content: 'You are a helpful support agent. Answer briefly and politely.' },
        {
          role: 'user',
          content: `Ticket ${i}: where is my invoice for order ${i * 13}? It was due last week.`,
        },
      ],
    });
  }
  return out;
}

function measure(
  samples: number,
  batch: number,
  reqs: InferenceRequest[],
  run: (r: InferenceRequest) => void,
): number[] {
  const perDecision: number[] = [];
  let k = 0;
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let b = 0; b < batch; b++) {
      run(reqs[k]!);
      k = (k + 1) % reqs.length;
    }
    perDecision.push(((performance.now() - start) * 1_000) / batch);
  }
  return perDecision;
}

function summarise(name: string, samples: number[], extra: Partial<BenchResult> = {}): BenchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1))] ?? NaN;
  return { name, unit: 'µs', median: at(0.5), p95: at(0.95), samples: samples.length, ...extra };
}

/** `decide`, and `decide` + a full simulated execution, per decision on a 200-route plan. */
export async function benchEvaluator(): Promise<BenchResult[]> {
  const plan = largePlan();
  const reqs = requests(1_000);
  let sink = 0;
  const decideOnce = (r: InferenceRequest) => {
    sink += decide(plan, r).chain.length;
  };
  const simulateOnce = (r: InferenceRequest) => {
    sink += simulate(plan, r).result.attempts.length;
  };
  measure(50, 200, reqs, decideOnce); // warm-up (JIT, compiled conditions)
  measure(20, 100, reqs, simulateOnce);
  const decided = measure(400, 200, reqs, decideOnce);
  const simulated = measure(200, 100, reqs, simulateOnce);
  if (sink === 0) throw new Error('benchmark did nothing');
  return [
    summarise(`evaluator: decide, ${ROUTES}-route plan`, decided, { target: '≤ 5 µs median' }),
    summarise(`evaluator: decide + simulated execution, ${ROUTES}-route plan`, simulated),
  ];
}
