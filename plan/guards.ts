/**
 * `before` guards as `decide` applies them (block patterns, max-input) and the coverage of
 * `redact` and `after` guards over the chain (docs/language.md §4.4, §6 steps 5–6 and 9).
 */
import { tokensText } from './conditions.js';
import type { PlanIndex } from './plan-index.js';
import type { ChainEntry, Decision } from './trace.js';
import type { BlockRule, GuardPlan, InferenceRequest } from './types.js';

const regexes = new WeakMap<BlockRule, RegExp>();

/** The compiled form of a `block` rule; `g` and `y` are dropped so that `test` keeps no state. */
export function blockRegex(rule: BlockRule): RegExp {
  let regex = regexes.get(rule);
  if (regex === undefined) {
    regex = new RegExp(rule.pattern, rule.flags.replace(/[gy]/g, ''));
    regexes.set(rule, regex);
  }
  return regex;
}

export interface GuardHit {
  action: 'block' | 'max-input';
  /** What the request is told when the guard rejects it. */
  message: string;
  detail: string;
}

/** What a `before` guard finds in the request: a `block` pattern, or more input than `max-input`. */
export function guardHit(guard: GuardPlan, request: InferenceRequest, inputTokens: number): GuardHit | null {
  if (guard.maxInput !== null && inputTokens > guard.maxInput) {
    const detail = `input of ${inputTokens} tokens exceeds max-input ${tokensText(guard.maxInput)}`;
    return { action: 'max-input', message: `${detail} (guard ${guard.name})`, detail };
  }
  for (const rule of guard.blocks) {
    const regex = blockRegex(rule);
    for (const message of request.messages) {
      if (regex.test(message.content)) {
        const detail = `input matches /${rule.pattern}/${rule.flags}`;
        return {
          action: 'block',
          message: rule.message ?? `blocked by guard ${guard.name}: ${detail}`,
          detail,
        };
      }
    }
  }
  return null;
}

/** Which models each `redact` and each `after` guard applies to, on the trace and on the entries. */
export function recordCoverage(decision: Decision, index: PlanIndex, route: string): void {
  const entries = decision.chain.slice();
  for (const model in decision.governance.downgrades) {
    const entry = decision.governance.downgrades[model];
    if (entry !== undefined) entries.push(entry);
  }
  for (const guard of index.before) {
    if (guard.redact.length === 0) continue;
    const models: string[] = [];
    for (const entry of entries) {
      if (!covers(guard, entry, route)) continue;
      for (const kind of guard.redact) if (!entry.redact.includes(kind)) entry.redact.push(kind);
      if (!models.includes(entry.model)) models.push(entry.model);
    }
    if (models.length > 0) {
      decision.guards.push({
        guard: guard.name,
        phase: 'before',
        action: 'redact',
        outcome: 'applies',
        models,
        kinds: guard.redact.slice(),
      });
    }
  }
  for (const guard of index.after) {
    const models: string[] = [];
    for (const entry of entries) {
      if (!covers(guard, entry, route)) continue;
      if (!entry.afterGuards.includes(guard.name)) entry.afterGuards.push(guard.name);
      if (!models.includes(entry.model)) models.push(entry.model);
    }
    if (models.length === 0) continue;
    const checks: ('schema' | 'block')[] = [];
    if (guard.schema !== null) checks.push('schema');
    if (guard.blocks.length > 0) checks.push('block');
    decision.guards.push({
      guard: guard.name,
      phase: 'after',
      action: 'check',
      outcome: 'applies',
      models,
      checks,
    });
  }
}

function covers(guard: GuardPlan, entry: ChainEntry, route: string): boolean {
  const target = guard.target;
  switch (target.kind) {
    case 'all':
      return true;
    case 'external':
      return !entry.private;
    case 'route':
      return target.route === route;
    case 'model':
      return target.model === entry.model;
  }
}
