/**
 * A provider's endpoints, used in turn (round-robin). An endpoint that fails `failureThreshold`
 * times in a row without answering (connection errors, timeouts, 5xx) cools down for `cooldownMs`
 * and is skipped meanwhile — unless every endpoint is cooling down, in which case the one that
 * recovers first is used anyway (better a probably-failing attempt than none).
 *
 * After a cool-down an endpoint is on probation: one more failure cools it down again, one success
 * clears its record.
 *
 * State is per process (one pool per provider instance): each worker learns on its own.
 */
import type { ClassifiedError } from './errors.js';

export interface EndpointPoolOptions {
  /**
   * Consecutive failures that start a cool-down.
   * @default 3
   */
  failureThreshold?: number;
  /**
   * How long a failing endpoint is skipped, in ms.
   * @default 30_000
   */
  cooldownMs?: number;
  /**
   * The clock, epoch ms.
   * @default Date.now
   */
  now?: () => number;
}

export interface EndpointState {
  endpoint: string;
  consecutiveFailures: number;
  /** Epoch ms until which the endpoint is skipped; 0 = available. */
  coolingUntil: number;
}

/** Whether a failure says something about the endpoint's health (rather than about the request). */
export function isEndpointFailure(error: ClassifiedError): boolean {
  if (error.status === undefined) return error.errorClass === 'retryable' || error.errorClass === 'timeout';
  return error.status >= 500;
}

export class EndpointPool {
  private readonly states: EndpointState[];
  private cursor = 0;
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(endpoints: readonly string[], options: EndpointPoolOptions = {}) {
    if (endpoints.length === 0) throw new Error('an endpoint pool needs at least one endpoint');
    this.states = endpoints.map((endpoint) => ({ endpoint, consecutiveFailures: 0, coolingUntil: 0 }));
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 3);
    this.cooldownMs = Math.max(0, options.cooldownMs ?? 30_000);
    this.now = options.now ?? Date.now;
  }

  /** The endpoint for the next attempt. */
  next(): string {
    const now = this.now();
    const n = this.states.length;
    for (let i = 0; i < n; i++) {
      const index = (this.cursor + i) % n;
      const state = this.states[index]!;
      if (state.coolingUntil <= now) {
        this.cursor = (index + 1) % n;
        return state.endpoint;
      }
    }
    // Everything is cooling down: take the one that recovers first.
    let best = this.states[0]!;
    for (const state of this.states) if (state.coolingUntil < best.coolingUntil) best = state;
    this.cursor = (this.states.indexOf(best) + 1) % n;
    return best.endpoint;
  }

  /** The endpoint answered (any answer below 500 counts: it is alive). */
  success(endpoint: string): void {
    const state = this.find(endpoint);
    if (!state) return;
    state.consecutiveFailures = 0;
    state.coolingUntil = 0;
  }

  /** Record a failed attempt; only endpoint-health failures count (see `isEndpointFailure`). */
  failure(endpoint: string, error: ClassifiedError): void {
    const state = this.find(endpoint);
    if (!state) return;
    if (!isEndpointFailure(error)) {
      this.success(endpoint);
      return;
    }
    state.consecutiveFailures++;
    if (state.consecutiveFailures >= this.failureThreshold) state.coolingUntil = this.now() + this.cooldownMs;
  }

  /** A snapshot, for diagnostics and tests. */
  snapshot(): EndpointState[] {
    return this.states.map((s) => ({ ...s }));
  }

  private find(endpoint: string): EndpointState | undefined {
    return this.states.find((s) => s.endpoint === endpoint);
  }
}
