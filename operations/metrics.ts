/**
 * Switchyard's Prometheus metrics (docs/operations.md "Metrics"): one registry per process, served
 * as `GET /metrics` by the front door (frontdoor/server.ts) and by a worker's metrics listener
 * (operations/server.ts).
 *
 * Each fact is recorded once, where it is produced:
 * - a request's outcome — count, latency, tokens, cost, refusals, fallbacks, escalations — where
 *   its audit record is appended (activities/audit.ts), the same code for both execution modes
 *   (in the worker for `durable`, in the front door's process for `direct`), and only when the
 *   record was written (an activity retried after the write counts nothing twice);
 * - a provider call where it is made (activities/attempt-call.ts);
 * - what is true now — budgets, provider concurrency — read when scraped.
 *
 * Labels are bounded: policy, route, model, provider, budget and error class come from the
 * plans; no request, user or API-key id is ever a label. Budget gauges carry the scope's value
 * (a team, an app), at most {@link MAX_SCOPE_VALUES} per budget. Money is counted in
 * nano-dollars (plan/money.ts), the unit every ledger amount is exact in.
 *
 * Recording is a few label lookups and additions (docs/operations.md gives the measured cost);
 * nothing here runs inside workflow code.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InferenceResult } from '../plan/trace.js';
import { budgetStatus, type BudgetStatus } from '../store/budget-status.js';
import type { Store } from '../store/types.js';

export const registry = new Registry();

/** Budget gauges carry at most this many scope values per budget (the most spent first). */
export const MAX_SCOPE_VALUES = 100;

/** Seconds: a request or a provider call, 5 ms to 2 minutes. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Seconds: what Switchyard adds, 0.5 ms to 5 s. */
const ADDED_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const registers = [registry];

const requests = new Counter({
  name: 'switchyard_requests_total',
  help: 'Requests audited, by policy, route, model, execution mode and status (served, rejected, failed).',
  labelNames: ['policy', 'route', 'model', 'execution', 'status'] as const,
  registers,
});
const requestSeconds = new Histogram({
  name: 'switchyard_request_duration_seconds',
  help: 'Whole request, from its start (the workflow or the direct run) to its audit record.',
  labelNames: ['policy', 'route', 'execution', 'status'] as const,
  buckets: REQUEST_BUCKETS,
  registers,
});
const addedSeconds = new Histogram({
  name: 'switchyard_added_latency_seconds',
  help: 'What Switchyard added to a request: its whole time less the provider calls and the waits and backoff delays its policy asked for.',
  labelNames: ['policy', 'execution'] as const,
  buckets: ADDED_BUCKETS,
  registers,
});
const tokens = new Counter({
  name: 'switchyard_tokens_total',
  help: 'Tokens of audited requests (every answered attempt), by type: input or output.',
  labelNames: ['policy', 'route', 'model', 'type'] as const,
  registers,
});
const cost = new Counter({
  name: 'switchyard_cost_nanodollars_total',
  help: 'Cost of audited requests in nano-dollars (1e-9 USD), exactly as the audit record and the ledger count it.',
  labelNames: ['policy', 'route', 'model'] as const,
  registers,
});
const budgetExceeded = new Counter({
  name: 'switchyard_budget_exceeded_total',
  help: "Times a budget's limit was reached for an attempt, by what on-exceed did (reject, downgrade, wait refuse the attempt; alert lets it run).",
  labelNames: ['policy', 'budget', 'action'] as const,
  registers,
});
const rateLimitExceeded = new Counter({
  name: 'switchyard_rate_limit_exceeded_total',
  help: 'Times a rate limit refused a request, by what on-exceed did (reject or wait).',
  labelNames: ['policy', 'rate_limit', 'action'] as const,
  registers,
});
const fallbacks = new Counter({
  name: 'switchyard_fallbacks_total',
  help: 'Requests that fell over to a fallback model, by the fallback model.',
  labelNames: ['policy', 'route', 'model'] as const,
  registers,
});
const escalations = new Counter({
  name: 'switchyard_escalations_total',
  help: 'Escalations to a stronger model, by target and outcome (answered, failed, skipped).',
  labelNames: ['policy', 'route', 'model', 'outcome'] as const,
  registers,
});
const interrupted = new Counter({
  name: 'switchyard_interrupted_requests_total',
  help: 'Direct requests of a dead process, released and audited as interrupted by the sweep here.',
  registers,
});
const providerSeconds = new Histogram({
  name: 'switchyard_provider_call_duration_seconds',
  help: 'One provider call (an attempt), by provider, model and outcome (answered, error).',
  labelNames: ['provider', 'model', 'outcome'] as const,
  buckets: REQUEST_BUCKETS,
  registers,
});
const providerErrors = new Counter({
  name: 'switchyard_provider_errors_total',
  help: 'Provider calls that failed, by error class (retryable, retry-after, non-retryable, context-length, timeout).',
  labelNames: ['provider', 'model', 'class'] as const,
  registers,
});
const httpSeconds = new Histogram({
  name: 'switchyard_http_request_duration_seconds',
  help: "The front door's HTTP requests, from arrival to the answer's last byte, by path and status code.",
  labelNames: ['path', 'code'] as const,
  buckets: REQUEST_BUCKETS,
  registers,
});

const alertTries = new Counter({
  name: 'switchyard_alert_deliveries_total',
  help: 'Tries to deliver an alert to a webhook, by webhook, alert kind and outcome (delivered, refused: the webhook answered non-2xx or could not be reached, invalid: it cannot be called).',
  labelNames: ['webhook', 'kind', 'outcome'] as const,
  registers,
});

// ---------------------------------------------------------------------------------------------
// Recording

/** One request's result, as its audit record was written (activities/audit.ts). */
export function recordRequest(
  result: InferenceResult,
  execution: 'durable' | 'direct',
  /** Whole time in ms (`undefined`: unknown, the histograms are left alone). */
  wholeMs: number | undefined,
): void {
  const policy = result.policy;
  const route = result.route ?? '';
  const model = result.model ?? '';
  requests.inc({ policy, route, model, execution, status: result.status });
  if (wholeMs !== undefined) {
    requestSeconds.observe({ policy, route, execution, status: result.status }, wholeMs / 1000);
    addedSeconds.observe({ policy, execution }, Math.max(0, wholeMs - result.elapsedMs) / 1000);
  }
  const { inputTokens, outputTokens } = result.usage;
  if (inputTokens > 0) tokens.inc({ policy, route, model, type: 'input' }, inputTokens);
  if (outputTokens > 0) tokens.inc({ policy, route, model, type: 'output' }, outputTokens);
  if (result.costNanos > 0) cost.inc({ policy, route, model }, result.costNanos);
  const decision = result.decision;
  for (const effect of decision.budgets) {
    if (effect.outcome === 'exceeded') {
      budgetExceeded.inc({ policy, budget: effect.budget, action: effect.action ?? 'reject' });
    }
  }
  for (const effect of decision.rateLimits) {
    if (effect.outcome === 'exceeded') {
      rateLimitExceeded.inc({ policy, rate_limit: effect.rateLimit, action: effect.action ?? 'reject' });
    }
  }
  // A fallback is counted when the request moves to it (its retries are not more fallbacks).
  let previous: string | undefined;
  for (const attempt of result.attempts) {
    if (attempt.role === 'fallback' && attempt.model !== previous) {
      fallbacks.inc({ policy, route, model: attempt.model });
    }
    previous = attempt.model;
  }
  if (result.escalation !== undefined) {
    escalations.inc({ policy, route, model: result.escalation.to, outcome: result.escalation.outcome });
  }
}

/** One provider call's outcome (activities/attempt-call.ts). */
export function recordProviderCall(
  provider: string,
  model: string,
  outcome: { kind: 'answered' | 'error'; ms: number; errorClass?: string },
): void {
  providerSeconds.observe({ provider, model, outcome: outcome.kind }, outcome.ms / 1000);
  if (outcome.kind === 'error')
    providerErrors.inc({ provider, model, class: outcome.errorClass ?? 'unknown' });
}

/** One try to deliver an alert (activities/alerts.ts). */
export function recordAlertTry(
  webhook: string,
  kind: string,
  outcome: 'delivered' | 'refused' | 'invalid',
): void {
  alertTries.inc({ webhook, kind, outcome });
}

/** Requests the sweep recorded as interrupted. */
export function recordInterrupted(n: number): void {
  if (n > 0) interrupted.inc(n);
}

/** The front door's paths (anything else is `other`: unknown paths are not labels). */
const HTTP_PATHS = new Set(['/v1/chat/completions', '/v1/models', '/healthz', '/readyz', '/metrics']);

/** One HTTP request of the front door. */
export function recordHttp(path: string, code: number, seconds: number): void {
  const label = HTTP_PATHS.has(path) ? path : path.startsWith('/internal/relay/') ? 'relay' : 'other';
  httpSeconds.observe({ path: label, code: String(code) }, seconds);
}

// ---------------------------------------------------------------------------------------------
// Read when scraped: provider concurrency, budgets

/** Something that knows its providers' concurrency gates (activities/attempt.ts ProviderGates). */
export interface ConcurrencySource {
  concurrency(): { provider: string; permits: number; active: number; queued: number }[];
}

const concurrencySources = new Set<WeakRef<ConcurrencySource>>();

/** Reports `source`'s gates while it lives (held weakly: a dropped source drops out). */
export function trackConcurrency(source: ConcurrencySource): void {
  concurrencySources.add(new WeakRef(source));
}

function gatesNow(): Map<string, { permits: number; active: number; queued: number }> {
  const byProvider = new Map<string, { permits: number; active: number; queued: number }>();
  for (const ref of concurrencySources) {
    const source = ref.deref();
    if (source === undefined) {
      concurrencySources.delete(ref);
      continue;
    }
    for (const g of source.concurrency()) {
      const sum = byProvider.get(g.provider) ?? { permits: 0, active: 0, queued: 0 };
      sum.permits += g.permits;
      sum.active += g.active;
      sum.queued += g.queued;
      byProvider.set(g.provider, sum);
    }
  }
  return byProvider;
}

function gateGauge(name: string, help: string, field: 'permits' | 'active' | 'queued'): void {
  new Gauge({
    name,
    help,
    labelNames: ['provider'] as const,
    registers,
    collect() {
      this.reset();
      for (const [provider, g] of gatesNow()) this.set({ provider }, g[field]);
    },
  });
}
gateGauge(
  'switchyard_provider_concurrency_in_use',
  "Provider calls running now in this process (the provider's concurrency gate).",
  'active',
);
gateGauge(
  'switchyard_provider_concurrency_limit',
  'Provider calls this process runs at once at most (concurrency × endpoints).',
  'permits',
);
gateGauge(
  'switchyard_provider_concurrency_waiting',
  "Attempts waiting for a free slot of the provider's gate in this process.",
  'queued',
);

/** Where budgets are read from: a store, with the definitions the workers recorded in it. */
let budgetStore: Pick<Store, 'budgetScopes' | 'usageMany' | 'budgetDefinitions'> | undefined;

/**
 * Budget gauges read `store` when scraped (the last store given wins). Returns what forgets it
 * again (when it is still the one read).
 */
export function setBudgetStore(store: NonNullable<typeof budgetStore>): () => void {
  budgetStore = store;
  budgetRead = undefined;
  return () => {
    if (budgetStore !== store) return;
    budgetStore = undefined;
    budgetRead = undefined;
  };
}

let budgetRead: { at: number; rows: Promise<BudgetStatus[]> } | undefined;

/** One store reading per scrape (the six budget gauges share it). */
function budgetsNow(): Promise<BudgetStatus[]> {
  const store = budgetStore;
  if (store === undefined) return Promise.resolve([]);
  const now = Date.now();
  if (budgetRead === undefined || now - budgetRead.at > 1_000) {
    const rows = store
      .budgetDefinitions()
      .then((definitions) => budgetStatus(store, definitions, now))
      .then(capScopeValues)
      .catch(() => [] as BudgetStatus[]);
    budgetRead = { at: now, rows };
  }
  return budgetRead.rows;
}

function capScopeValues(rows: BudgetStatus[]): BudgetStatus[] {
  const spent = (r: BudgetStatus) => r.limits.reduce((sum, l) => sum + l.usage.spentNanos, 0);
  const byBudget = new Map<string, BudgetStatus[]>();
  for (const row of rows) byBudget.set(row.budget, [...(byBudget.get(row.budget) ?? []), row]);
  return [...byBudget.values()].flatMap((list) =>
    list.length <= MAX_SCOPE_VALUES
      ? list
      : [...list].sort((a, b) => spent(b) - spent(a)).slice(0, MAX_SCOPE_VALUES),
  );
}

function budgetGauge(
  name: string,
  help: string,
  kind: 'money' | 'tokens',
  field: 'spent' | 'reserved' | 'limit',
): void {
  new Gauge({
    name,
    help,
    labelNames: ['policy', 'budget', 'scope', 'scope_value', 'window'] as const,
    registers,
    async collect() {
      const rows = await budgetsNow();
      this.reset();
      for (const row of rows) {
        for (const { limit, usage } of row.limits) {
          if (limit === null || limit.kind !== kind) continue;
          const labels = {
            policy: row.policy,
            budget: row.name,
            scope: row.scope,
            scope_value: row.scopeValue ?? '',
            window: limit.window,
          };
          const value =
            field === 'limit'
              ? limit.amount
              : kind === 'money'
                ? field === 'spent'
                  ? usage.spentNanos
                  : usage.reservedNanos
                : field === 'spent'
                  ? usage.spentTokens
                  : usage.reservedTokens;
          this.set(labels, value);
        }
      }
    },
  });
}
budgetGauge(
  'switchyard_budget_spent_nanodollars',
  "Money spent (committed) in a budget's current window, per scope value.",
  'money',
  'spent',
);
budgetGauge(
  'switchyard_budget_reserved_nanodollars',
  'Money reserved by attempts in flight in the current window, per scope value.',
  'money',
  'reserved',
);
budgetGauge(
  'switchyard_budget_limit_nanodollars',
  "A budget's money limit for its window.",
  'money',
  'limit',
);
budgetGauge(
  'switchyard_budget_spent_tokens',
  "Tokens spent (committed) in a budget's current window, per scope value.",
  'tokens',
  'spent',
);
budgetGauge(
  'switchyard_budget_reserved_tokens',
  'Tokens reserved by attempts in flight in the current window, per scope value.',
  'tokens',
  'reserved',
);
budgetGauge('switchyard_budget_limit_tokens', "A budget's token limit for its window.", 'tokens', 'limit');

// ---------------------------------------------------------------------------------------------
// Exposition

let processMetrics = false;
let temporalUrl: string | undefined;

const temporalUp = new Gauge({
  name: 'switchyard_temporal_metrics_up',
  help: "1 when Temporal's SDK metrics (temporal_*) follow in this scrape; 0 when they could not be read, or no worker runs in this process.",
  registers,
});

/**
 * Temporal's SDK metrics are served by its runtime's Prometheus exporter at `url` (worker/runtime.ts);
 * `GET /metrics` appends them, so one scrape gets both.
 */
export function setTemporalMetricsUrl(url: string | undefined): void {
  temporalUrl = url;
}

/** The exposition's content type. */
export const METRICS_CONTENT_TYPE = registry.contentType;

/** The text of `GET /metrics`: Switchyard's metrics, Node's process metrics, Temporal's. */
export async function metricsText(): Promise<string> {
  if (!processMetrics) {
    processMetrics = true;
    collectDefaultMetrics({ register: registry });
  }
  let temporal = '';
  if (temporalUrl !== undefined) {
    try {
      const res = await fetch(temporalUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      temporal = await res.text();
      temporalUp.set(1);
    } catch {
      temporalUp.set(0);
    }
  }
  const own = await registry.metrics();
  return temporal === '' ? own : `${own}\n${temporal.trimEnd()}\n`;
}
