/**
 * Alerts that reach people (docs/operations.md "Alerts"): the alert workflow's name, input and
 * result, and its one activity. One workflow per event and webhook, its id made of both, so an
 * event is delivered to a webhook once however often it is seen; the activity is retried by
 * Temporal until the webhook takes it (or the URL cannot be called at all).
 */

/** Something worth telling people. Its `id` is the same every time the same fact is seen. */
export interface AlertEvent {
  /** Stable: `budget-threshold/<policy>/<budget>/<scope value>/<window>/<window start>/<percent>`. */
  id: string;
  kind: 'budget_threshold' | 'budget_exceeded';
  /** One line for people (Slack's `text`). */
  summary: string;
  /** ISO 8601: when it was seen. */
  at: string;
  policy: string;
  budget: string;
  scope: string;
  scopeValue: string | null;
  window: string;
  /** The threshold crossed, in percent of the limit (100 for `budget_exceeded`). */
  percent: number;
  /** `money` (nano-dollars) or `tokens`. */
  unit: 'nanodollars' | 'tokens';
  spent: number;
  limit: number;
}

/** A webhook from `alerts.webhooks` in switchyard.yaml, as the activity needs it. */
export interface AlertWebhook {
  name: string;
  url: string;
  /** `slack`: `{"text": …}`; `json`: the event, signed with HMAC-SHA256 when a secret is named. */
  format: 'slack' | 'json';
  /** The environment variable holding the signing secret (read by the activity, never carried). */
  secretEnv?: string;
}

export interface AlertWorkflowInput {
  event: AlertEvent;
  webhook: AlertWebhook;
}

export interface AlertDelivery {
  /** The webhook's HTTP status. */
  status: number;
  /** Which try delivered it (1 = the first). */
  attempt: number;
}

export type AlertWorkflow = (input: AlertWorkflowInput) => Promise<AlertDelivery>;

export const ALERT_WORKFLOW_TYPE = 'alertWorkflow';

/** The workflow id of `event` for `webhook`: the deduplication key. */
export function alertWorkflowId(event: AlertEvent, webhook: AlertWebhook): string {
  return `alert/${webhook.name}/${event.id}`;
}

/** The alert activity (activities/alerts.ts). */
export interface AlertActivities {
  deliverAlert(input: AlertWorkflowInput): Promise<AlertDelivery>;
}

/** The memo of an alert workflow, for `switchyard alerts list`. */
export const ALERT_MEMO = 'switchyardAlert';
