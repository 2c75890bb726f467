/**
 * Every budget's counters now: for each budget definition (recorded by the workers from the
 * plans), each scope value the ledger has seen (or the one bucket of a budget nobody used yet),
 * each of its limits with the usage in that limit's current window. One reading for
 * `switchyard budget show` and the budget gauges of `GET /metrics` (docs/operations.md).
 */
import type { BudgetDefinition, LedgerLimit, Store, WindowUsage } from './types.js';

export interface BudgetStatus {
  /** The ledger's name, `<policy>/<budget>`. */
  budget: string;
  policy: string;
  name: string;
  /** `team`, `app`, `user`, `policy` …; `?` when the budget has usage but no definition. */
  scope: string;
  /** The scope's value (`null`: the one shared bucket). */
  scopeValue: string | null;
  onExceed: string;
  /** False for a budget the ledger has usage for but no definition (its limits are unknown). */
  known: boolean;
  /** Each limit with its window's usage; an unknown budget has this month's counters and no limit. */
  limits: { limit: LedgerLimit | null; usage: WindowUsage }[];
}

export async function budgetStatus(
  store: Pick<Store, 'budgetScopes' | 'usageMany'>,
  definitions: Omit<BudgetDefinition, 'updatedAt'>[],
  now: number,
  /** Only this policy's budgets. */
  policy?: string,
): Promise<BudgetStatus[]> {
  const scopes = await store.budgetScopes();
  const byBudget = new Map<string, (string | null)[]>();
  for (const s of scopes) byBudget.set(s.budget, [...(byBudget.get(s.budget) ?? []), s.scopeValue]);
  const rows: BudgetStatus[] = [];
  const known = new Set(definitions.map((d) => d.budget));
  const wanted = (p: string): boolean => policy === undefined || p === policy;

  for (const d of definitions) {
    if (!wanted(d.policy)) continue;
    const values = byBudget.get(d.budget) ?? [d.scope === 'policy' ? d.policy : null];
    const windows = [...new Set(d.limits.map((l) => l.window))];
    const usages = await store.usageMany(
      values.map((scopeValue) => ({ budget: d.budget, scopeValue, windows })),
      now,
    );
    values.forEach((scopeValue, i) => {
      const byWindow = new Map((usages[i] ?? []).map((u) => [u.window, u]));
      rows.push({
        budget: d.budget,
        policy: d.policy,
        name: d.name,
        scope: d.scope,
        scopeValue,
        onExceed: d.onExceed,
        known: true,
        limits: d.limits.map((limit) => ({ limit, usage: byWindow.get(limit.window)! })),
      });
    });
  }
  // Budgets with usage but no definition: this month's counters.
  for (const [budget, values] of byBudget) {
    if (known.has(budget)) continue;
    const [p = '', ...rest] = budget.split('/');
    if (!wanted(p)) continue;
    const usages = await store.usageMany(
      values.map((scopeValue) => ({ budget, scopeValue, windows: ['month'] })),
      now,
    );
    values.forEach((scopeValue, i) => {
      rows.push({
        budget,
        policy: p,
        name: rest.join('/'),
        scope: '?',
        scopeValue,
        onExceed: '?',
        known: false,
        limits: [{ limit: null, usage: usages[i]![0]! }],
      });
    });
  }
  return rows.sort(
    (a, b) => a.budget.localeCompare(b.budget) || String(a.scopeValue).localeCompare(String(b.scopeValue)),
  );
}
