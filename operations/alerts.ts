/**
 * Alerts that reach people (docs/operations.md "Alerts"): which budget facts are alerts, and what a
 * webhook receives. Delivery is durable elsewhere — one Temporal workflow per event and webhook
 * (workflows/alert.ts), started by the worker's watcher (worker/alerts.ts), its one activity
 * posting here-made bodies (activities/alerts.ts).
 *
 * - A budget crossing a threshold (`alerts.thresholds`, percent of a limit, default 80 and 100):
 *   `budget_threshold`, once per budget, scope value, limit window and threshold.
 * - A budget whose `on-exceed` is `alert` reaching its limit: `budget_exceeded` (instead of its
 *   thresholds of 100% and more), once per window.
 *
 * An event's id names the fact (budget, scope value, window and its start, threshold), so seeing
 * it again — the next check, another worker, a restart — is the same event.
 */
import { createHmac } from 'node:crypto';
import type { AlertEvent, AlertWebhook } from '../contract/alerts.js';
import { formatDollars } from '../plan/money.js';
import type { BudgetStatus } from '../store/budget-status.js';

/** `alerts:` of switchyard.yaml. */
export interface AlertsConfig {
  /** Percent of a limit; default [80, 100]. */
  thresholds?: number[];
  /** How often budgets are checked, in seconds; default 10. */
  checkSeconds?: number;
  webhooks: AlertWebhook[];
}

export const DEFAULT_THRESHOLDS = [80, 100];

/** The alerts `rows` (store/budget-status.ts) call for now. */
export function budgetAlerts(rows: BudgetStatus[], thresholds: number[], now: number): AlertEvent[] {
  const events: AlertEvent[] = [];
  const at = new Date(now).toISOString();
  for (const row of rows) {
    if (!row.known) continue;
    const alertBudget = row.onExceed === 'alert';
    for (const { limit, usage } of row.limits) {
      if (limit === null || limit.amount <= 0) continue;
      const money = limit.kind === 'money';
      const spent = money ? usage.spentNanos : usage.spentTokens;
      const percent = (spent / limit.amount) * 100;
      const start = new Date(usage.windowStart).toISOString();
      const who = `${row.policy}/${row.name}/${row.scopeValue ?? '-'}/${limit.window}/${start}`;
      const base = {
        at,
        policy: row.policy,
        budget: row.name,
        scope: row.scope,
        scopeValue: row.scopeValue,
        window: limit.window,
        unit: money ? ('nanodollars' as const) : ('tokens' as const),
        spent,
        limit: limit.amount,
      };
      const amount = (n: number) => (money ? `$${formatDollars(n)}` : `${n} tokens`);
      const scope = row.scopeValue === null ? '' : ` (${row.scope} ${row.scopeValue})`;
      const said = `${amount(spent)} of ${amount(limit.amount)} per ${limit.window} spent`;
      for (const threshold of thresholds) {
        if (percent < threshold || (alertBudget && threshold >= 100)) continue;
        events.push({
          ...base,
          id: `budget-threshold/${who}/${threshold}`,
          kind: 'budget_threshold',
          percent: threshold,
          summary: `Budget ${row.policy}/${row.name}${scope} crossed ${threshold}%: ${said}`,
        });
      }
      if (alertBudget && spent >= limit.amount) {
        events.push({
          ...base,
          id: `budget-exceeded/${who}`,
          kind: 'budget_exceeded',
          percent: 100,
          summary: `Budget ${row.policy}/${row.name}${scope} exceeded (on-exceed alert): ${said}`,
        });
      }
    }
  }
  return events;
}

/** The header carrying a `json` webhook's signature: `sha256=<hex HMAC-SHA256 of the body>`. */
export const SIGNATURE_HEADER = 'x-switchyard-signature';
/** The header carrying the event's id (the receiver's deduplication key). */
export const ALERT_ID_HEADER = 'x-switchyard-alert-id';

/** What `webhook` receives for `event`: the body and its headers. */
export function alertRequest(
  event: AlertEvent,
  webhook: AlertWebhook,
  secret: string | undefined,
): { body: string; headers: Record<string, string> } {
  const body =
    webhook.format === 'slack' ? JSON.stringify({ text: event.summary }) : JSON.stringify({ ...event });
  const headers: Record<string, string> = { 'content-type': 'application/json', [ALERT_ID_HEADER]: event.id };
  if (webhook.format === 'json' && secret !== undefined)
    headers[SIGNATURE_HEADER] = `sha256=${sign(body, secret)}`;
  return { body, headers };
}

/** HMAC-SHA256 of `body` with `secret`, hex. */
export function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}
