import { formatDollars } from '../../plan/money.js';
import { limitText } from '../../plan/governance.js';
import type { BudgetLimit, Plan } from '../../plan/types.js';
import { budgetStatus } from '../../store/budget-status.js';
import type { BudgetDefinition, Store, WindowUsage } from '../../store/types.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { compileFiles } from '../plans.js';
import { asCliError, openForReading } from './store-access.js';

export const budgetUsage = `usage: switchyard budget show [--policy P] [--policies DIR] [--store URL] [--format text|json]

Shows every budget's usage per scope value in its current windows (calendar windows in UTC):
spent, reserved (reservations in flight), remaining, and when the window resets.
Limits come from the plans compiled from --policies DIR when given, else from the definitions
workers recorded in the store. The store is --store URL, else SWITCHYARD_STORE, else
sqlite:.switchyard/state.db.
Exit status: 0 shown, 1 errors, 2 usage.`;

interface LimitRow {
  kind: 'money' | 'tokens';
  window: string;
  limit: string;
  amount: number;
  spent: number;
  reserved: number;
  remaining: number;
  windowStart: string;
  resetsAt: string;
}

interface BudgetRow {
  budget: string;
  policy: string;
  name: string;
  scope: string;
  scopeValue: string | null;
  onExceed: string;
  /** False when the limits are unknown (a budget the store has usage for but no definition). */
  known: boolean;
  limits: LimitRow[];
}

function definitionsFromPlans(plans: Iterable<Plan>): Omit<BudgetDefinition, 'updatedAt'>[] {
  const out: Omit<BudgetDefinition, 'updatedAt'>[] = [];
  for (const plan of plans) {
    for (const b of plan.budgets) {
      out.push({
        budget: `${plan.name}/${b.name}`,
        policy: plan.name,
        name: b.name,
        scope: b.scope,
        limits: b.limits,
        onExceed: b.onExceed.action === 'downgrade' ? `downgrade ${b.onExceed.model}` : b.onExceed.action,
      });
    }
  }
  return out;
}

function limitRow(limit: BudgetLimit, usage: WindowUsage): LimitRow {
  const money = limit.kind === 'money';
  const spent = money ? usage.spentNanos : usage.spentTokens;
  const reserved = money ? usage.reservedNanos : usage.reservedTokens;
  return {
    kind: limit.kind,
    window: limit.window,
    limit: limitText(limit),
    amount: limit.amount,
    spent,
    reserved,
    remaining: Math.max(0, limit.amount - spent - reserved),
    windowStart: new Date(usage.windowStart).toISOString(),
    resetsAt: new Date(usage.windowEnd).toISOString(),
  };
}

/** The store's reading (store/budget-status.ts) as rows; a budget without limits shows its spending. */
async function gather(
  store: Store,
  definitions: Omit<BudgetDefinition, 'updatedAt'>[],
  policy: string | undefined,
  now: number,
): Promise<BudgetRow[]> {
  const status = await budgetStatus(store, definitions, now, policy);
  return status.map(({ limits, ...row }) => ({
    ...row,
    limits: limits.map(({ limit, usage }) =>
      limit !== null
        ? limitRow(limit as BudgetLimit, usage)
        : {
            kind: 'money' as const,
            window: usage.window,
            limit: 'limit unknown',
            amount: 0,
            spent: usage.spentNanos,
            reserved: usage.reservedNanos,
            remaining: 0,
            windowStart: new Date(usage.windowStart).toISOString(),
            resetsAt: new Date(usage.windowEnd).toISOString(),
          },
    ),
  }));
}

function amount(kind: 'money' | 'tokens', value: number): string {
  return kind === 'money' ? `$${formatDollars(value)}` : `${value} tokens`;
}

function render(rows: BudgetRow[]): string {
  if (rows.length === 0) return 'no budgets (none recorded in the store; pass --policies DIR to name them)';
  const lines: string[] = [];
  let last = '';
  for (const row of rows) {
    if (row.budget !== last) {
      lines.push(
        row.known
          ? `${row.budget}  per ${row.scope}  on-exceed ${row.onExceed}`
          : `${row.budget}  (limits unknown: pass --policies DIR)`,
      );
      last = row.budget;
    }
    for (const l of row.limits) {
      const scope = row.scopeValue ?? '(none)';
      const head = `  ${scope.padEnd(14)} ${l.limit.padEnd(22)}`;
      const counters = `spent ${amount(l.kind, l.spent)}  reserved ${amount(l.kind, l.reserved)}`;
      const remaining = row.known ? `  remaining ${amount(l.kind, l.remaining)}` : '';
      lines.push(`${head} ${counters}${remaining}  resets ${l.resetsAt}`);
    }
  }
  return lines.join('\n');
}

export async function budget(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      policy: { type: 'string' },
      policies: { type: 'string' },
      store: { type: 'string' },
      format: { type: 'string' },
    },
    budgetUsage,
  );
  if (values.help) return { stdout: budgetUsage, exitCode: 0 };
  if (positionals[0] !== 'show' || positionals.length !== 1)
    return { usage: `expected 'budget show'\n${budgetUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') return { usage: `--format ${format}: expected text or json` };

  let definitions: Omit<BudgetDefinition, 'updatedAt'>[] | null = null;
  if (values.policies !== undefined) {
    const compiled = await compileFiles([values.policies as string]);
    if (compiled.errors.length > 0) return { stderr: compiled.errors.join('\n'), exitCode: 1 };
    definitions = definitionsFromPlans(compiled.allPlans.values());
  }
  const policy = values.policy as string | undefined;
  const store = await openForReading(values.store as string | undefined);
  try {
    definitions ??= await store.budgetDefinitions();
    if (
      policy !== undefined &&
      values.policies !== undefined &&
      !definitions.some((d) => d.policy === policy)
    ) {
      throw new CliError('E-NO-POLICY', `no policy '${policy}' with budgets in ${String(values.policies)}`);
    }
    const rows = await gather(store, definitions, policy, Date.now());
    return { stdout: format === 'json' ? JSON.stringify(rows, null, 2) : render(rows), exitCode: 0 };
  } catch (error) {
    throw asCliError(error);
  } finally {
    await store.close();
  }
}
