/**
 * Streaming (docs/language.md §6.4): an attempt's tokens reach a streaming caller as the
 * model produces them, except when something must judge the whole answer first — an `after` guard
 * on the attempt's model, or an `escalate … when output.*` rule its answer is checked against.
 * That attempt's answer is then buffered and released once it passes. Decided here, once, so that
 * `explain`, the workflow, the direct runner and the front door agree.
 */
import type { ChainEntry, Decision } from './trace.js';

/**
 * What buffers an attempt on `entry`: `guard NAME` (its first `after` guard), else
 * `escalate MODEL when …` (the first escalation rule its answer would be checked against), else
 * `null`. `tried` are the models attempted before (and including) this one; after a budget
 * `downgrade` (`downgraded`) no escalation runs, and an escalation's own answer is final
 * (execution.ts, `afterAttempt`), so only guards buffer those.
 */
export function bufferedBy(
  decision: Decision,
  entry: ChainEntry,
  tried: readonly string[] = [],
  downgraded = false,
): string | null {
  const guard = entry.afterGuards[0];
  if (guard !== undefined) return `guard ${guard}`;
  if (downgraded || entry.role === 'escalation' || entry.role === 'downgrade') return null;
  for (const escalation of decision.chain) {
    if (escalation.role !== 'escalation') continue;
    if (escalation.model === entry.model || tried.includes(escalation.model)) continue;
    return `escalate ${escalation.model} when ${escalation.when ?? 'output'}`;
  }
  return null;
}

/**
 * The chain as `explain` shows it: for each entry (primary, fallbacks, escalations, then the
 * downgrade targets), what buffers a first attempt on it, the models before it counted as tried.
 */
export function bufferingOf(
  decision: Decision,
): { model: string; role: ChainEntry['role']; bufferedBy: string | null }[] {
  const out: { model: string; role: ChainEntry['role']; bufferedBy: string | null }[] = [];
  const tried: string[] = [];
  for (const entry of decision.chain) {
    if (entry.role !== 'escalation') tried.push(entry.model);
    out.push({ model: entry.model, role: entry.role, bufferedBy: bufferedBy(decision, entry, tried) });
  }
  for (const model in decision.governance.downgrades) {
    const entry = decision.governance.downgrades[model];
    if (entry !== undefined)
      out.push({ model, role: entry.role, bufferedBy: bufferedBy(decision, entry, tried, true) });
  }
  return out;
}
