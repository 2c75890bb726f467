/**
 * `GET /v1/models` (docs/http.md "Request mapping"): what a key may ask for. A "model" of the front door is a
 * capability of a policy — the capabilities its routes' conditions name (`capability == "chat"`,
 * `capability in [...]`), read from the same index the evaluator chooses routes with. The key's own
 * policy lists bare capability names; a key for any policy sees `POLICY/CAPABILITY` for each.
 */
import { indexPlan } from '../plan/plan-index.js';
import type { Plan } from '../plan/types.js';
import type { Caller } from './auth.js';

const capabilityCache = new WeakMap<Plan, ReadonlySet<string>>();

/** The capabilities the routes of `plan` name. */
export function capabilitiesOf(plan: Plan): ReadonlySet<string> {
  let set = capabilityCache.get(plan);
  if (set === undefined) {
    set = new Set([...indexPlan(plan).byCapability.keys()].sort());
    capabilityCache.set(plan, set);
  }
  return set;
}

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** The OpenAI model list for a caller: its policy's capabilities, or every policy's. */
export function modelList(
  caller: Caller,
  plans: { plan: Plan; loadedAt?: number }[],
): {
  object: 'list';
  data: ModelEntry[];
} {
  const data: ModelEntry[] = [];
  if (caller.key.admin) return { object: 'list', data };
  for (const { plan, loadedAt } of plans) {
    if (caller.key.policy !== null && caller.key.policy !== plan.name) continue;
    const created = Math.floor((loadedAt ?? Date.now()) / 1000);
    for (const capability of capabilitiesOf(plan)) {
      const id = caller.key.policy === null ? `${plan.name}/${capability}` : capability;
      data.push({ id, object: 'model', created, owned_by: `switchyard:${plan.name}` });
    }
  }
  return { object: 'list', data };
}
