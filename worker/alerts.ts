/**
 * The alert watcher (docs/operations.md "Alerts"): every `checkSeconds`, the budgets as the store
 * has them now (store/budget-status.ts) become events (operations/alerts.ts), and each event is
 * handed to each webhook as one alert workflow (workflows/alert.ts) whose id names both: Temporal
 * refuses a second workflow with that id, so an event reaches a webhook once — whichever worker
 * saw it, however often, across restarts.
 */
import { Client, WorkflowExecutionAlreadyStartedError, type Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { ALERT_MEMO, ALERT_WORKFLOW_TYPE, alertWorkflowId, type AlertWorkflow } from '../contract/alerts.js';
import { budgetAlerts, DEFAULT_THRESHOLDS, type AlertsConfig } from '../operations/alerts.js';
import { budgetStatus } from '../store/budget-status.js';
import type { Store } from '../store/types.js';

const MAX_REMEMBERED = 10_000;

export interface AlertWatcher {
  /** One check now (the timer calls it too). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export function startAlertWatcher(options: {
  config: AlertsConfig;
  store: Store;
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  log: (line: string) => void;
  clock?: () => number;
}): AlertWatcher {
  const { config, store, log } = options;
  const now = options.clock ?? (() => Date.now());
  // A worker's native connection serves a client too (as `serve --worker`'s front door does).
  const client = new Client({
    connection: options.connection as unknown as Connection,
    namespace: options.namespace,
  });

  const thresholds = config.thresholds ?? DEFAULT_THRESHOLDS;
  /**
   * Workflow ids started (or found started) by this watcher: not asked again. Forgotten past
   * {@link MAX_REMEMBERED} (asking Temporal again is harmless: it refuses the duplicate).
   */
  const handed = new Set<string>();
  let running: Promise<void> | undefined;

  const checkOnce = async () => {
    const at = now();
    const events = budgetAlerts(
      await budgetStatus(store, await store.budgetDefinitions(), at),
      thresholds,
      at,
    );
    for (const event of events) {
      for (const webhook of config.webhooks) {
        const workflowId = alertWorkflowId(event, webhook);
        if (handed.has(workflowId)) continue;
        try {
          await client.workflow.start<AlertWorkflow>(ALERT_WORKFLOW_TYPE, {
            taskQueue: options.taskQueue,
            workflowId,
            args: [{ event, webhook }],
            memo: {
              [ALERT_MEMO]: { kind: event.kind, summary: event.summary, webhook: webhook.name, at: event.at },
            },
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
          });
          log(`switchyard alerts: ${event.summary} → ${webhook.name}`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
        if (handed.size >= MAX_REMEMBERED) handed.clear();
        handed.add(workflowId);
      }
    }
  };
  const check = () => {
    running ??= checkOnce()
      .catch((err: unknown) => log(`switchyard alerts: cannot check the budgets: ${(err as Error).message}`))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void check(), Math.max(0.05, config.checkSeconds ?? 10) * 1000);
  timer.unref();
  void check();
  return {
    check,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
