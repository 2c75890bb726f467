/**
 * The alert workflow (contract/alerts.ts, docs/operations.md "Alerts"): one event to one webhook,
 * as one activity that Temporal retries — 1 s, then doubling up to a minute, ten tries — until the
 * webhook takes it. A URL that cannot be called at all fails at once (the activity says so), and
 * `switchyard alerts list` shows why.
 */
import * as wf from '@temporalio/workflow';
import type { AlertActivities, AlertDelivery, AlertWorkflowInput } from '../contract/alerts.js';

const activities = wf.proxyActivities<AlertActivities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

export async function alertWorkflow(input: AlertWorkflowInput): Promise<AlertDelivery> {
  return activities.deliverAlert(input);
}
