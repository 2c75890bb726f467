/**
 * How the direct runner (direct.ts) performs what the workflow leaves to Temporal: retries of
 * store calls, timers the caller's signal cancels, and tracking the request in the store so that a
 * process dying mid-request still ends in one audit record (docs/language.md §4.9).
 */
import { RESERVATION_MARGIN_MS } from '../activities/ledger.js';
import type { PlanLookup } from '../activities/plans.js';
import type { ChainEntry, Decided, Decision, InferenceRequest } from '../plan/index.js';
import type { Store, TrackedRequest } from '../store/types.js';

/**
 * `fn`, tried up to `tries` times with a doubling pause (100 ms, 200 ms …, at most 2 s): the store
 * calls are idempotent (by key or request id), as the workflow's retried local activities are.
 */
export async function withRetries<T>(fn: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= tries) throw err;
      await sleepFor(Math.min(2_000, 100 * 2 ** (attempt - 1)));
    }
  }
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * How long a request may still hold a reservation: its deadline, else every attempt of every model
 * it may try (each retry after its longest backoff); plus two of its longest attempt timeouts and
 * the margin, as a reservation lives 3 × its attempt's timeout + the margin from when it is made —
 * so one write covers the request unless it waits, and a request still alive is never swept.
 */
export function aliveBoundMs(decision: Decision): number {
  const entries: ChainEntry[] = [...decision.chain, ...Object.values(decision.governance.downgrades)];
  let total = 0;
  let longest = 0;
  for (const e of entries) {
    total += (1 + e.retries) * (e.timeoutMs + e.backoffMs * 2 ** e.retries);
    longest = Math.max(longest, e.timeoutMs);
  }
  return (decision.deadlineMs ?? total) + 2 * longest + RESERVATION_MARGIN_MS;
}

/**
 * The request's row in the store's in-flight table: written with its first ledger write (the
 * same store transaction: `admit`/`reserve` take it as `track`), moved later only when a wait or a
 * reservation would outlive it; its audit record removes it.
 */
export class RequestTracker {
  private planHash: string | null = null;
  private decision: Decision | null = null;
  private expiresAt = 0;
  private startedAt: number | undefined;

  constructor(
    private readonly store: Store,
    private readonly plans: PlanLookup,
    private readonly request: InferenceRequest,
    private readonly now: () => number,
  ) {}

  decided(decided: Decided): void {
    this.planHash = decided.planHash;
    this.decision = decided.decision;
  }

  /**
   * The row to write with the next ledger write, or `undefined` when the one written still covers
   * it; `timeoutMs`: the attempt a reservation is for (it lives 3 × that + margin). Once that
   * write succeeded, say so with `written`.
   */
  due(timeoutMs?: number): TrackedRequest | undefined {
    if (this.decision === null) return undefined;
    const at = this.now();
    let until = this.expiresAt === 0 ? at + aliveBoundMs(this.decision) : this.expiresAt;
    if (timeoutMs !== undefined) until = Math.max(until, at + 3 * timeoutMs + RESERVATION_MARGIN_MS);
    return this.row(at, until);
  }

  written(row: TrackedRequest | undefined): void {
    if (row !== undefined) this.expiresAt = Math.max(this.expiresAt, row.expiresAt);
  }

  /** Before a sleep of `ms`: a tracked request that sleeps past its expiry moves it. */
  async extend(ms: number): Promise<void> {
    if (this.expiresAt === 0) return;
    const row = this.row(this.now(), this.now() + ms + RESERVATION_MARGIN_MS);
    if (row === undefined) return;
    await withRetries(() => this.store.trackRequest(row));
    this.written(row);
  }

  private row(at: number, until: number): TrackedRequest | undefined {
    if (until <= this.expiresAt || this.decision === null || this.planHash === null) return undefined;
    const r = this.request;
    const retainDays = this.plans.byHash(this.planHash)?.plan.audit.retainDays ?? null;
    const startedAt = (this.startedAt ??= at);
    return {
      requestId: r.id,
      policy: r.policy,
      planHash: this.planHash,
      route: this.decision.route,
      team: r.team ?? null,
      app: r.app ?? null,
      user: r.user ?? null,
      capability: r.capability ?? null,
      startedAt,
      expiresAt: until,
      retainDays,
    };
  }
}
