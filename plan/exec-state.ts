/**
 * The execution machine's state, and how a request ends: served, rejected or failed, with the
 * result (docs/running.md). See execution.ts for the protocol.
 */
import type { GovernanceSnapshot } from './trace.js';
import { formatDollars } from './money.js';
import type {
  AnswerOutput,
  AttemptRecord,
  BudgetEffect,
  ChainEntry,
  Decision,
  InferenceResult,
  RateLimitEffect,
  Reservation,
  Settlement,
  Step,
  Usage,
} from './trace.js';

export type Pending =
  | {
      kind: 'attempt';
      entry: ChainEntry;
      attempt: number;
      delayMs: number;
      timeoutMs: number;
      reserve: Reservation[];
    }
  | { kind: 'wait'; entry: ChainEntry; delayMs: number; key: string };

export interface Answer {
  entry: ChainEntry;
  output: AnswerOutput;
}

/** Everything the machine knows between steps. Plain data; `next` never mutates its input. */
export interface ExecState {
  readonly decision: Decision;
  snapshot: GovernanceSnapshot;
  /** What this request committed since `snapshot` was taken, by budget. */
  committed: Record<string, { nanos: number; tokens: number }>;
  /** Primary then fallbacks; after a budget `downgrade`, the downgrade target alone. */
  chain: ChainEntry[];
  index: number;
  /** The escalation being tried, if any. */
  escalating: ChainEntry | null;
  /** Attempts made on the current model. */
  modelAttempts: number;
  /** The answer an escalation may replace. */
  answer: Answer | null;
  /** Models attempted so far, in order. */
  tried: string[];
  attempts: AttemptRecord[];
  elapsedMs: number;
  pending: Pending | null;
  /** Budgets that charge but do not refuse (their `downgrade` was applied). */
  exempt: string[];
  downgraded: boolean;
  alerted: string[];
  /** Whether the rate limits admitted the request (checked once, before the first attempt). */
  admitted: boolean;
  waitedMs: Record<string, number>;
  /** What the pending or last wait was for, until the next attempt starts. */
  waitingFor: string | null;
  budgets: BudgetEffect[];
  rateLimits: RateLimitEffect[];
  costNanos: number;
  usage: Usage;
  escalation: InferenceResult['escalation'] | null;
  result: InferenceResult | null;
}

export interface Transition {
  state: ExecState;
  step: Step;
}

/** The state before the first step. `snapshot`: the ledger's counters for this request's scope values. */
export function start(decision: Decision, snapshot: GovernanceSnapshot = {}): ExecState {
  return {
    decision,
    snapshot,
    committed: {},
    chain: decision.chain.filter((entry) => entry.role !== 'escalation'),
    index: 0,
    escalating: null,
    modelAttempts: 0,
    answer: null,
    tried: [],
    attempts: [],
    elapsedMs: 0,
    pending: null,
    exempt: [],
    downgraded: false,
    alerted: [],
    admitted: false,
    waitedMs: {},
    waitingFor: null,
    budgets: [],
    rateLimits: [],
    costNanos: 0,
    usage: { inputTokens: 0, outputTokens: 0 },
    escalation: null,
    result: null,
  };
}

export function escalationOf(s: ExecState): NonNullable<InferenceResult['escalation']> {
  const escalation = s.escalation;
  if (escalation === null || escalation === undefined) throw new Error('no escalation in progress');
  return escalation;
}

export function escalationFailed(s: ExecState, reason: string, settle: Settlement[]): Transition {
  s.escalation = { ...escalationOf(s), outcome: 'failed', reason };
  return finish(s, 'served', null, settle, s.answer ?? undefined);
}

/**
 * Something refused the next attempt (deadline, budget, rate limit). With an answer in hand (an
 * escalation was about to start), that answer is served and the escalation recorded as skipped;
 * before any attempt the request is `rejected`; otherwise it `failed`.
 */
export function refuse(s: ExecState, reason: string, settle: Settlement[]): Transition {
  if (s.answer !== null && s.escalating !== null) {
    s.escalation = { ...escalationOf(s), outcome: 'skipped', reason };
    return finish(s, 'served', null, settle, s.answer);
  }
  return finish(s, s.attempts.length === 0 ? 'rejected' : 'failed', reason, settle);
}

export function finish(
  s: ExecState,
  status: InferenceResult['status'],
  reason: string | null,
  settle: Settlement[],
  answer?: Answer,
): Transition {
  const d = s.decision;
  const result: InferenceResult = {
    id: d.id,
    status,
    policy: d.policy,
    plan: d.plan,
    route: d.route,
    model: answer?.entry.model ?? null,
    provider: answer?.entry.provider ?? null,
    output: answer?.output ?? null,
    usage: s.usage,
    cost: formatDollars(s.costNanos),
    costNanos: s.costNanos,
    attempts: s.attempts,
    reason,
    elapsedMs: s.elapsedMs,
    decision: { ...d, budgets: s.budgets, rateLimits: s.rateLimits },
  };
  if (s.escalation) result.escalation = s.escalation;
  s.result = result;
  s.pending = null;
  return { state: s, step: { step: 'done', result, settle } };
}

/** `llama-8b: 503 Service Unavailable ×3; gpt-4o: timeout`. */
export function failures(attempts: readonly AttemptRecord[]): string {
  const parts: { text: string; count: number }[] = [];
  for (const attempt of attempts) {
    const text = `${attempt.model}: ${attempt.error ?? attempt.outcome}`;
    const last = parts[parts.length - 1];
    if (last !== undefined && last.text === text) last.count += 1;
    else parts.push({ text, count: 1 });
  }
  return parts.map((p) => (p.count > 1 ? `${p.text} ×${p.count}` : p.text)).join('; ');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function copy(s: ExecState): ExecState {
  return {
    ...s,
    committed: { ...s.committed },
    chain: [...s.chain],
    tried: [...s.tried],
    attempts: [...s.attempts],
    exempt: [...s.exempt],
    alerted: [...s.alerted],
    waitedMs: { ...s.waitedMs },
    budgets: [...s.budgets],
    rateLimits: [...s.rateLimits],
  };
}
