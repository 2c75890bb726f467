/**
 * The audit activity (docs/language.md §6 step 11, docs/architecture.md decision 6): every
 * request ends with one record, built here from the request and its result, prompts kept as the
 * policy's `audit prompts` says, provider API keys scrubbed, with the policy's `audit retain` (the
 * store deletes the record once it and every older one are past their retention).
 */
import { createHash } from 'node:crypto';
import type {
  AppendAuditInput,
  AppendAuditOutput,
  GovernanceActivities,
  SettleInput,
} from '../contract/index.js';
import type { Decision, InferenceResult } from '../plan/trace.js';
import { routingFactsOf } from '../plan/request.js';
import type { InferenceRequest, Message, PromptAudit } from '../plan/types.js';
import { makeScrubber, scrubSecrets } from '../store/scrub.js';
import type { AuditInput as AuditRecordInput, AuditMessage, JsonValue, Store } from '../store/types.js';
import { PII_KINDS, redactText } from './guards/redact.js';
import { settlementsOf } from './ledger.js';
import type { PlanLookup } from './plans.js';
import { recordRequest } from '../operations/metrics.js';

export interface AuditOptions {
  /** The clock (epoch ms); default `Date.now`. */
  now?: () => number;
  /**
   * To find a plan's `audit` settings (prompts, retention) and its providers' API-key variables by
   * plan hash; `current` (optional) is asked for the retention of a plan no longer known by hash.
   */
  plans?: Pick<PlanLookup, 'byHash'> & Partial<Pick<PlanLookup, 'current'>>;
  /** Where API-key variables are read from to scrub their values; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * How the requests audited here ran, for the metrics (docs/operations.md): `durable` in a
   * worker (default), `direct` in the front door's direct runner.
   */
  execution?: 'durable' | 'direct';
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

function keepMessage(role: string, content: string, mode: PromptAudit): AuditMessage {
  switch (mode) {
    case 'full':
      return { role, content };
    case 'redacted':
      return { role, content: redactText(content, PII_KINDS).text };
    default:
      return { role, sha256: sha256(content) };
  }
}

/** The audit record of a finished request (before the store adds time, chain hashes and its own scrub). */
export function buildAuditRecord(
  request: InferenceRequest,
  result: InferenceResult,
  prompts: PromptAudit,
  guardActions: readonly JsonValue[] = [],
): AuditRecordInput {
  const decision = result.decision;
  const messages: Message[] = request.messages ?? [];
  const answer = result.output?.content;
  const extra: Record<string, JsonValue> = {
    elapsedMs: result.elapsedMs,
    excluded: decision.excluded as unknown as JsonValue,
    rule: decision.rule,
    region: request.region ?? null,
    tags: (request.tags ?? {}) as JsonValue,
  };
  if (result.escalation !== undefined) extra.escalation = result.escalation as unknown as JsonValue;
  return {
    id: result.id,
    caller: { team: request.team ?? null, app: request.app ?? null, user: request.user ?? null },
    capability: request.capability ?? null,
    classification: request.classification ?? null,
    mode: request.mode ?? null,
    policy: result.policy,
    plan: result.plan,
    route: result.route,
    model: result.model,
    provider: result.provider,
    status: result.status,
    reason: result.reason,
    attempts: result.attempts.map((a) => ({
      attempt: a.attempt,
      model: a.model,
      provider: a.provider,
      endpoint: a.endpoint ?? null,
      outcome: a.outcome,
      errorClass: a.errorClass ?? null,
      error: a.error ?? null,
      status: a.status ?? null,
      ms: a.ms,
    })),
    usage: { inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens },
    costNanos: result.costNanos,
    cost: result.cost,
    guards: [...(decision.guards as unknown as JsonValue[]), ...guardActions],
    budgets: decision.budgets as unknown as JsonValue[],
    rateLimits: decision.rateLimits as unknown as JsonValue[],
    prompts:
      prompts === 'none'
        ? { mode: 'none', messages: [], answer: null }
        : {
            mode: prompts,
            messages: messages.map((m) => keepMessage(m.role, m.content, prompts)),
            answer: answer === undefined ? null : keepMessage('assistant', answer, prompts),
          },
    routing: routingFactsOf(request),
    extra,
  };
}

export function createAuditActivities(store: Store, options: AuditOptions = {}) {
  const now = options.now ?? (() => Date.now());
  const env = options.env ?? process.env;
  const execution = options.execution ?? 'durable';

  function secretValues(planHash: string): string[] {
    const plan = options.plans?.byHash(planHash)?.plan;
    if (plan === undefined) return [];
    const values: string[] = [];
    for (const provider of Object.values(plan.providers)) {
      const value = provider.apiKeyEnv ? env[provider.apiKeyEnv] : undefined;
      if (value) values.push(value);
    }
    return values;
  }

  return {
    /**
     * `settle`: the request's last settlements (the direct runner's), written in the same store
     * transaction as the record, before it (store `appendAudit`).
     */
    async appendAudit(input: AppendAuditInput, settle?: SettleInput): Promise<AppendAuditOutput> {
      const plan = options.plans?.byHash(input.result.plan)?.plan;
      const prompts =
        input.prompts ??
        (input.result.decision.audit as Decision['audit'] | undefined)?.prompts ??
        plan?.audit.prompts ??
        'hashed';
      // `retain N days` of the request's plan; of the policy's current plan when that one is no
      // longer known (a worker restarted after a policy change): kept forever only when the
      // policy says so, or when no plan of it is loaded.
      const retainDays =
        (plan ?? options.plans?.current?.(input.result.policy)?.plan)?.audit.retainDays ?? null;
      const record = buildAuditRecord(
        input.request,
        input.result,
        prompts,
        input.guardActions as unknown as readonly JsonValue[] | undefined,
      );
      const scrubbed = scrubSecrets(record, makeScrubber(secretValues(input.result.plan)));
      const outcome = await store.appendAudit(
        { ...scrubbed, retainDays },
        now(),
        settle === undefined ? undefined : settlementsOf(settle),
      );
      // The request's metrics, once: not again for an activity retried after the record was written.
      if (!outcome.replayed) {
        const started = input.startedAtMs;
        recordRequest(
          input.result,
          execution,
          started === undefined ? undefined : Math.max(0, now() - started),
        );
      }
      return { seq: outcome.record.seq, hash: outcome.record.hash, replayed: outcome.replayed };
    },
  } satisfies Pick<GovernanceActivities, 'appendAudit'>;
}
