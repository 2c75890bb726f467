/**
 * The most a route can cost and the longest it can take, over its whole candidate chain (primary or
 * split targets, fallbacks, escalations), built from the same per-call figures the runtime uses:
 * `attemptWorstCost` (what the ledger reserves for one attempt, governance.ts) and `callDuration`
 * (calls.ts). The editor's hover and the validator's deadline warning read these for the AST; the
 * evaluator's `routeChain` gives the same chain for a compiled plan (test/plan/agreement.test.ts).
 * Pure: runs in the workflow sandbox.
 */
import { type CallDuration, callDuration } from './calls.js';
import { attemptWorstCost } from './governance.js';
import type { ChainEntry } from './trace.js';

/** A route's candidates by role; a split contributes all its targets as primaries. */
export interface RouteChain<E> {
  primaries: readonly E[];
  fallbacks: readonly E[];
  escalations: readonly E[];
}

export interface AnswerCost {
  model: string;
  /** Nano-dollars; `undefined` when unbounded (no context and no max-tokens, with a price). */
  nanos: number | undefined;
  /** The input size that gives the worst case. */
  inputTokens: number;
  outputTokens: number;
}

/**
 * The most one answer of `entry` can cost: `attemptWorstCost` at the input size that makes it
 * largest among those that fit the context (cost is linear in the input, so one of the two ends).
 */
export function answerWorstCost(entry: ChainEntry, inputTokens?: number): AnswerCost {
  const at = (input: number): AnswerCost => {
    const cost = attemptWorstCost(entry, input);
    return { model: entry.model, nanos: cost.nanos, inputTokens: input, outputTokens: cost.outputTokens };
  };
  if (inputTokens !== undefined) return at(inputTokens);
  if (entry.context === null) {
    const priced =
      (entry.price?.input.nanos ?? 0) > 0 ||
      (entry.maxTokens === null && (entry.price?.output.nanos ?? 0) > 0);
    return priced ? { model: entry.model, nanos: undefined, inputTokens: 0, outputTokens: 0 } : at(0);
  }
  const low = at(0);
  const high = at(Math.max(0, entry.context - (entry.maxTokens ?? 0)));
  return (high.nanos ?? 0) > (low.nanos ?? 0) ? high : low;
}

export interface RouteCost {
  /** Nano-dollars, `undefined` when unbounded (a priced model without a context). */
  nanos: number | undefined;
  /** The prompt size of the worst case. */
  inputTokens: number;
  /** The answers that make up the worst case: one from the chain, then at most one escalation. */
  answers: AnswerCost[];
}

/** Whether a prompt of `input` tokens fits the model at all (else it fails over, uncharged). */
function fits(entry: ChainEntry, input: number): boolean {
  return entry.context === null || input + (entry.maxTokens ?? 0) <= entry.context;
}

/**
 * The most one request on this route can cost with a prompt of `inputTokens`. Failed attempts are
 * released, not charged, so a request pays for the one chain model that answers plus, at most,
 * one escalation whose target was not tried before.
 */
export function routeCostAt(chain: RouteChain<ChainEntry>, inputTokens: number): RouteCost | undefined {
  if (chain.primaries.length === 0) return undefined;
  const answerOf = (entry: ChainEntry): AnswerCost | undefined =>
    fits(entry, inputTokens) ? answerWorstCost(entry, inputTokens) : undefined;
  const escalations = chain.escalations.flatMap((e) => answerOf(e) ?? []);
  let best: RouteCost | undefined;
  for (const primary of chain.primaries) {
    const tried = new Set<string>();
    for (const entry of [primary, ...chain.fallbacks]) {
      tried.add(entry.model);
      const answer = answerOf(entry);
      if (!answer) continue;
      const escalation = escalations
        .filter((e) => !tried.has(e.model))
        .reduce<AnswerCost | undefined>((a, b) => (!a || (b.nanos ?? 0) > (a.nanos ?? 0) ? b : a), undefined);
      const nanos = (answer.nanos ?? 0) + (escalation?.nanos ?? 0);
      if (!best || nanos > (best.nanos ?? 0)) {
        best = { nanos, inputTokens, answers: escalation ? [answer, escalation] : [answer] };
      }
    }
  }
  return best;
}

/**
 * The most one request on this route can cost, for any prompt that fits: the cost is linear in the
 * prompt size between the points where a model stops fitting, so the worst case is at one of them.
 */
export function routeWorstCost(chain: RouteChain<ChainEntry>): RouteCost | undefined {
  const entries = [...chain.primaries, ...chain.fallbacks, ...chain.escalations];
  if (entries.length === 0) return undefined;
  if (entries.some((e) => answerWorstCost(e).nanos === undefined)) {
    return { nanos: undefined, inputTokens: 0, answers: [] };
  }
  const sizes = new Set([
    0,
    ...entries.flatMap((e) => (e.context === null ? [] : [Math.max(0, e.context - (e.maxTokens ?? 0))])),
  ]);
  let best: RouteCost | undefined;
  for (const size of sizes) {
    const cost = routeCostAt(chain, size);
    if (cost && (!best || (cost.nanos ?? 0) > (best.nanos ?? 0))) best = cost;
  }
  return best;
}

/** What `callDuration` needs of a candidate. */
export type TimedCall = Pick<ChainEntry, 'model' | 'timeoutMs' | 'retries' | 'backoffMs'>;

export interface SlowestPath {
  totalMs: number;
  /** The calls of the slowest path, in order, for the message. */
  steps: { timing: CallDuration; escalation: boolean }[];
}

/**
 * The slowest way through the chain: the primary (any split pick) and the fallbacks fail one
 * after another until one answers at its last moment, then the first escalation target not yet
 * tried runs to its end (an escalation's answer is final, so at most one escalation runs).
 */
export function slowestPath(chain: RouteChain<TimedCall>): SlowestPath | undefined {
  if (chain.primaries.length === 0) return undefined;
  const escalating = chain.escalations.map(callDuration);
  let worst: SlowestPath | undefined;
  for (const primary of chain.primaries) {
    const calls = [primary, ...chain.fallbacks].map(callDuration);
    let prefixMs = 0;
    const tried = new Set<string>();
    for (let k = 0; k < calls.length; k++) {
      prefixMs += calls[k]!.totalMs;
      tried.add(calls[k]!.model);
      // The escalation rules are checked in order: the first untried target runs. Conditions are
      // not evaluated here, so any untried escalation may be the one: take the slowest.
      const escalation = escalating
        .filter((e) => !tried.has(e.model))
        .reduce<CallDuration | undefined>((a, b) => (!a || b.totalMs > a.totalMs ? b : a), undefined);
      const totalMs = prefixMs + (escalation?.totalMs ?? 0);
      if (!worst || totalMs > worst.totalMs) {
        worst = {
          totalMs,
          steps: [
            ...calls.slice(0, k + 1).map((timing) => ({ timing, escalation: false })),
            ...(escalation ? [{ timing: escalation, escalation: true }] : []),
          ],
        };
      }
    }
  }
  return worst;
}
