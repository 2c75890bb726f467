/** A counting semaphore with a FIFO queue; waiting can be abandoned through an `AbortSignal`. */
export class Semaphore {
  private available: number;
  private readonly waiters: { grant: () => void }[] = [];

  constructor(readonly permits: number) {
    if (!Number.isInteger(permits) || permits < 1)
      throw new Error(`permits must be a positive integer: ${permits}`);
    this.available = permits;
  }

  /** Permits in use. */
  get active(): number {
    return this.permits - this.available;
  }

  /** Callers waiting for a permit. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a permit is free; rejects with `signal.reason` if aborted first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The permit passes straight to the next waiter, so `available` does not change.
      if (next) next.grant();
      else this.available++;
    };
  }
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
