/**
 * The task queues a worker serves (docs/architecture.md decision 4): each provider's queue and its
 * concurrency, from the loaded plans; embedded models loaded ahead of their first attempt.
 */
import type { AttemptActivityOptions } from '../activities/index.js';
import { createProvider, EmbeddedProvider } from '../activities/providers/index.js';
import type { ProviderPlan } from '../plan/types.js';
import type { PlanRegistry } from './registry.js';

/** Attempts a provider may run at once on one worker: its concurrency × its endpoints. */
export function providerConcurrency(provider: ProviderPlan): number {
  const perEndpoint = Math.max(1, provider.concurrency || 1);
  return provider.kind === 'embedded' ? perEndpoint : perEndpoint * Math.max(1, provider.endpoints.length);
}

/** Provider task queues of the loaded plans: each queue's providers and summed concurrency. */
export function providerQueues(
  registry: PlanRegistry,
): Map<string, { concurrency: number; providers: Map<string, number> }> {
  const queues = new Map<string, { concurrency: number; providers: Map<string, number> }>();
  for (const { plan } of registry.plans()) {
    for (const provider of Object.values(plan.providers)) {
      let queue = queues.get(provider.queue);
      if (!queue) {
        queue = { concurrency: 0, providers: new Map() };
        queues.set(provider.queue, queue);
      }
      // The same provider in several plans counts once, at its largest concurrency.
      const n = providerConcurrency(provider);
      queue.providers.set(provider.name, Math.max(n, queue.providers.get(provider.name) ?? 0));
      queue.concurrency = [...queue.providers.values()].reduce((a, b) => a + b, 0);
    }
  }
  return queues;
}

/** A `--queues` entry that no loaded provider uses. */
export class QueueError extends Error {
  readonly code = 'E-QUEUE-UNKNOWN';
}

/** Throws {@link QueueError} when `restrict` names a queue neither the workflow's nor a provider's. */
export function checkQueues(registry: PlanRegistry, taskQueue: string, restrict: Set<string>): void {
  const known = new Set([taskQueue, ...providerQueues(registry).keys()]);
  const unknown = [...restrict].filter((q) => !known.has(q));
  if (unknown.length > 0) {
    throw new QueueError(
      `no provider of the loaded policies uses queue${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} ` +
        `(queues: ${[...known].join(', ')})`,
    );
  }
}

/** Loads embedded models now rather than on their first attempt (failures show up on the attempt). */
export function warmEmbedded(
  registry: PlanRegistry,
  restrict: Set<string> | undefined,
  providers: AttemptActivityOptions['providers'],
  log: (line: string) => void,
): void {
  for (const { plan, baseDir } of registry.plans()) {
    for (const provider of Object.values(plan.providers)) {
      if (provider.kind !== 'embedded' || (restrict && !restrict.has(provider.queue))) continue;
      const instance = createProvider(provider, { ...providers, baseDir });
      if (instance instanceof EmbeddedProvider) {
        instance.open().catch((err: unknown) => log(`switchyard worker: ${(err as Error).message}`));
      }
    }
  }
}
