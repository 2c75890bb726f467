import { createHash } from 'node:crypto';
import { canonicalJson } from '../../plan/canonical.js';
import type { Plan } from '../../plan/types.js';

/**
 * The plan's identity: `sha256:<hex>` of its canonical JSON with `hash` set to the empty string, so
 * a plan's stored hash can be checked by recomputing it (`hashPlan(plan) === plan.hash`).
 */
export function hashPlan(plan: Plan): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ ...plan, hash: '' }), 'utf8')
    .digest('hex');
  return `sha256:${digest}`;
}
