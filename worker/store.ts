/**
 * The worker's ledger and audit store: the one it was given (used, left open), or one it opens
 * from `storeUrl` (default `SWITCHYARD_STORE`, else `sqlite:.switchyard/state.db`) when its
 * workflow worker starts, and closes on shutdown. Only a worker that polls the workflow task
 * queue needs one.
 */
import { budgetDefinitions } from '../activities/ledger.js';
import { openStore, storeUrl } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { PlanRegistry } from './registry.js';

export class WorkerStore {
  private store: Store | undefined;
  private owned = false;

  constructor(private readonly options: { store?: Store; storeUrl?: string }) {
    this.store = options.store;
  }

  /** The store, if given or opened. */
  get current(): Store | undefined {
    return this.store;
  }

  async open(): Promise<Store> {
    if (this.store === undefined) {
      this.store = await openStore(this.options.storeUrl ?? storeUrl());
      this.owned = true;
    }
    return this.store;
  }

  /** Closes the store if this worker opened it; never throws. */
  async close(): Promise<void> {
    if (this.owned) await this.store?.close().catch(() => undefined);
  }
}

/** Records the definitions of every loaded budget (`switchyard budget show` prints their limits). */
export async function recordBudgets(store: Store, registry: PlanRegistry): Promise<void> {
  const definitions = budgetDefinitions(registry.plans().map((p) => p.plan));
  if (definitions.length > 0) await store.recordBudgets(definitions);
}
