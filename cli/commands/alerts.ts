/**
 * `switchyard alerts list` (docs/operations.md "Alerts"): every alert handed to a webhook, from
 * Temporal (one alert workflow per event and webhook): delivered (on which try), retrying (the last
 * error), or failed (why — a bad URL, say).
 */
import { Client, WorkflowFailedError, type WorkflowExecutionInfo } from '@temporalio/client';
import { ALERT_MEMO, ALERT_WORKFLOW_TYPE, type AlertDelivery } from '../../contract/alerts.js';
import { parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, configFrom, connectClient } from '../temporal.js';

export const alertsUsage = `usage: switchyard alerts list [--limit N] [--format text|json] [--address A] [--namespace N]

Lists the alerts sent to the webhooks of 'alerts:' in switchyard.yaml, newest first: when, which
webhook, what, and whether it was delivered (on which try), is being retried (the last error), or
failed (why). Each alert is a Temporal workflow, so this reads Temporal.
Exit status: 0 listed, 1 errors, 2 usage.

${CONNECTION_USAGE}`;

export interface AlertRow {
  id: string;
  at: string;
  webhook: string;
  kind: string;
  summary: string;
  state: 'delivered' | 'retrying' | 'failed';
  attempt: number | null;
  error: string | null;
}

export async function alerts(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { limit: { type: 'string' }, format: { type: 'string' }, ...CONNECTION_OPTIONS },
    alertsUsage,
  );
  if (values.help) return { stdout: alertsUsage, exitCode: 0 };
  if (positionals[0] !== 'list' || positionals.length !== 1)
    return { usage: `expected 'alerts list'\n${alertsUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') return { usage: `--format ${format}: expected text or json` };
  const limit = Number(values.limit ?? '100');
  if (!Number.isInteger(limit) || limit < 1) return { usage: `--limit must be a positive number` };
  const config = configFrom(values);
  const connection = await connectClient(config);
  try {
    const client = new Client({ connection, namespace: config.namespace });
    const rows: AlertRow[] = [];
    for await (const info of client.workflow.list({ query: `WorkflowType = '${ALERT_WORKFLOW_TYPE}'` })) {
      rows.push(await rowOf(client, info));
      if (rows.length >= limit) break;
    }
    rows.sort((a, b) => b.at.localeCompare(a.at) || a.id.localeCompare(b.id));
    if (format === 'json') return { stdout: JSON.stringify(rows, null, 2), exitCode: 0 };
    if (rows.length === 0) return { stdout: 'no alerts', exitCode: 0 };
    const lines = rows.map((r) => {
      const state =
        r.state === 'delivered'
          ? `delivered (try ${r.attempt})`
          : r.state === 'retrying'
            ? `retrying (try ${r.attempt ?? '?'}: ${r.error ?? 'pending'})`
            : `FAILED: ${r.error}`;
      return `${r.at}  ${r.webhook.padEnd(12)} ${r.kind.padEnd(17)} ${state}\n  ${r.summary}`;
    });
    return { stdout: lines.join('\n'), exitCode: 0 };
  } finally {
    await connection.close();
  }
}

async function rowOf(client: Client, info: WorkflowExecutionInfo): Promise<AlertRow> {
  const memo = (info.memo?.[ALERT_MEMO] ?? {}) as {
    kind?: string;
    summary?: string;
    webhook?: string;
    at?: string;
  };
  const row: AlertRow = {
    id: info.workflowId,
    at: memo.at ?? info.startTime.toISOString(),
    webhook: memo.webhook ?? '?',
    kind: memo.kind ?? '?',
    summary: memo.summary ?? '',
    state: 'retrying',
    attempt: null,
    error: null,
  };
  const handle = client.workflow.getHandle(info.workflowId, info.runId);
  if (info.status.name === 'COMPLETED') {
    const delivered = (await handle.result()) as AlertDelivery;
    return { ...row, state: 'delivered', attempt: delivered.attempt };
  }
  if (info.status.name === 'RUNNING') {
    const pending = (await handle.describe()).raw.pendingActivities?.[0];
    return {
      ...row,
      attempt: pending?.attempt ?? null,
      error: pending?.lastFailure?.message ?? null,
    };
  }
  let error = `the alert workflow is ${info.status.name.toLowerCase()}`;
  try {
    await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      let cause: Error | undefined = err.cause;
      while (cause?.cause instanceof Error) cause = cause.cause;
      error = cause?.message ?? err.message;
    }
  }
  return { ...row, state: 'failed', error };
}
