/**
 * The alert activity (workflows/alert.ts, docs/operations.md "Alerts"): one POST of one event to
 * one webhook. A webhook that answers 2xx took it; any other answer, a timeout or a refused
 * connection is thrown, and Temporal retries. A URL that is not an http(s) URL, or a signing
 * secret whose variable is unset, cannot get better by retrying: it fails at once, for `switchyard
 * alerts list` to show.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AlertActivities, AlertDelivery, AlertWorkflowInput } from '../contract/alerts.js';
import { alertRequest } from '../operations/alerts.js';
import { recordAlertTry } from '../operations/metrics.js';

export function createAlertActivities(
  options: { env?: NodeJS.ProcessEnv; fetch?: typeof fetch } = {},
): AlertActivities {
  const env = options.env ?? process.env;
  const post = options.fetch ?? fetch;
  return {
    async deliverAlert(input: AlertWorkflowInput): Promise<AlertDelivery> {
      try {
        const delivered = await deliver(input);
        recordAlertTry(input.webhook.name, input.event.kind, 'delivered');
        return delivered;
      } catch (err) {
        const invalid = err instanceof ApplicationFailure && err.nonRetryable;
        recordAlertTry(input.webhook.name, input.event.kind, invalid ? 'invalid' : 'refused');
        throw err;
      }
    },
  };

  async function deliver({ event, webhook }: AlertWorkflowInput): Promise<AlertDelivery> {
    let url: URL;
    try {
      url = new URL(webhook.url);
    } catch {
      throw ApplicationFailure.nonRetryable(
        `webhook ${webhook.name}: not a URL: ${webhook.url}`,
        'BadWebhook',
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw ApplicationFailure.nonRetryable(
        `webhook ${webhook.name}: not an http(s) URL: ${webhook.url}`,
        'BadWebhook',
      );
    }
    const secret = webhook.secretEnv !== undefined ? env[webhook.secretEnv] : undefined;
    if (webhook.secretEnv !== undefined && !secret) {
      throw ApplicationFailure.nonRetryable(
        `webhook ${webhook.name}: the signing secret variable ${webhook.secretEnv} is not set`,
        'BadWebhook',
      );
    }
    const { body, headers } = alertRequest(event, webhook, secret);
    const attempt = Context.current().info.attempt;
    let res: Response;
    try {
      res = await post(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new Error(`webhook ${webhook.name}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    await res.body?.cancel();
    if (res.status < 200 || res.status > 299) {
      throw new Error(`webhook ${webhook.name}: answered ${res.status}`);
    }
    return { status: res.status, attempt };
  }
}
