/**
 * What a worker does besides running requests: store housekeeping (audit retention, old ledger
 * keys) on a timer, and hot reload of the policies.
 */
import type { Store } from '../store/types.js';
import type { PlanRegistry } from './registry.js';

/** Ledger reservations and rate-limit admissions are forgotten this long after they ended. */
export const LEDGER_KEEP_MS = 7 * 24 * 3_600_000;

export interface Pruner {
  /** Prunes now (unless a prune is running or the pruner stopped). */
  prune(): void;
  /** Stops the timer; resolves once a prune in flight finished (before the store closes). */
  stop(): Promise<void>;
}

/**
 * Prunes `store` — expired audit records (`store.pruneAudit`) and ledger keys older than
 * {@link LEDGER_KEEP_MS} (`store.prune`) — at once, then every `everyMs` on a timer that never
 * keeps the process alive (`0`: only when asked). A failure is logged, never fatal.
 */
export function startPruner(
  store: Store,
  options: { everyMs: number; clock?: () => number; log: (line: string) => void },
): Pruner {
  const { log } = options;
  let stopped = false;
  let pruning: Promise<void> | undefined;
  const prune = (): void => {
    if (stopped || pruning !== undefined) return;
    const at = (options.clock ?? Date.now)();
    pruning = (async () => {
      try {
        const audit = await store.pruneAudit(at);
        if (audit.deleted > 0) {
          log(
            `switchyard worker: pruned ${audit.deleted} expired audit record${audit.deleted === 1 ? '' : 's'}; the chain now starts after #${audit.floorSeq}`,
          );
        }
        if (audit.broken !== undefined) {
          log(
            `switchyard worker: audit pruning stopped at record #${audit.broken.seq} (${audit.broken.id}): ${audit.broken.reason}; run 'switchyard audit verify'`,
          );
        }
      } catch (err) {
        log(`switchyard worker: cannot prune the audit trail: ${(err as Error).message}`);
      }
      try {
        await store.prune(at - LEDGER_KEEP_MS);
      } catch (err) {
        log(`switchyard worker: cannot prune the ledger: ${(err as Error).message}`);
      }
    })().finally(() => {
      pruning = undefined;
    });
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.everyMs > 0) {
    prune();
    timer = setInterval(prune, options.everyMs);
    timer.unref();
  }
  return {
    prune,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pruning;
    },
  };
}

/**
 * Recompiles the policies when they change: reports errors (the plans loaded before keep
 * serving) and what changed, then calls `onChange` (record budgets, start workers for new
 * queues). Returns the function that stops watching.
 */
export function watchPolicies(
  registry: PlanRegistry,
  log: (line: string) => void,
  onChange: () => void,
): () => void {
  return registry.watch({
    onReload: (result) => {
      if (!result.ok) {
        log(`switchyard worker: policies changed but have errors; still serving the plans loaded before:`);
        for (const line of result.errors) log(line);
        return;
      }
      const what = [
        ...result.added.map((n) => `${n} (new)`),
        ...result.changed.map((n) => `${n} (changed)`),
        ...result.removed.map((n) => `${n} (removed)`),
      ];
      if (what.length === 0) return;
      log(`switchyard worker: reloaded policies: ${what.join(', ')}; new requests use the new plans`);
      onChange();
    },
  });
}
