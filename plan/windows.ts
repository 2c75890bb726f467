/**
 * Calendar windows in UTC, as budgets and rate limits count them (docs/language.md §4.2). A window
 * `per day` counts from 00:00 UTC to the next 00:00 UTC; `week` is the ISO week (Monday 00:00 UTC);
 * `month` starts on the 1st at 00:00 UTC; `minute` and `hour` are the UTC clock's. Counters reset
 * when a new window starts; nothing rolls.
 *
 * Pure functions of an epoch-millisecond instant: no clock is read here (the store passes its
 * `now`, the workflow its workflow time), so they run in the workflow sandbox too.
 */
import type { Window } from './types.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Epoch ms of the first instant of the window of kind `window` that contains `now`. */
export function windowStart(window: Window, now: number): number {
  switch (window) {
    case 'minute':
      return Math.floor(now / MINUTE) * MINUTE;
    case 'hour':
      return Math.floor(now / HOUR) * HOUR;
    case 'day':
      return Math.floor(now / DAY) * DAY;
    case 'week': {
      const day = Math.floor(now / DAY) * DAY;
      // getUTCDay: 0 = Sunday … 6 = Saturday; days since Monday:
      const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
      return day - sinceMonday * DAY;
    }
    case 'month': {
      const date = new Date(now);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    }
  }
}

/** Epoch ms of the first instant of the next window: when the window containing `now` resets. */
export function windowEnd(window: Window, now: number): number {
  const start = windowStart(window, now);
  switch (window) {
    case 'minute':
      return start + MINUTE;
    case 'hour':
      return start + HOUR;
    case 'day':
      return start + DAY;
    case 'week':
      return start + 7 * DAY;
    case 'month': {
      const date = new Date(start);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    }
  }
}

/** Milliseconds from `now` until the window containing `now` resets (always > 0). */
export function untilWindowReset(window: Window, now: number): number {
  return windowEnd(window, now) - now;
}

/**
 * Slept beyond a window's reset before looking again: the ledger and the workflow read different
 * clocks (an activity's, the workflow task's), and a wake-up a hair early would find the old window.
 */
export const WAIT_MARGIN_MS = 50;

/**
 * How long to sleep for a `wait` step at `now` (epoch ms, workflow time): until the limit's window
 * resets — the ledger's `retryAfterMs` when it gave one, else the calendar window's end — plus
 * {@link WAIT_MARGIN_MS}, and never longer than the step's `maxWaitMs` (what is left of the rate
 * limit's `wait` or of the deadline).
 */
export function waitLength(
  step: { window: Window; maxWaitMs: number | null; retryAfterMs?: number },
  now: number,
): number {
  const untilReset = (step.retryAfterMs ?? untilWindowReset(step.window, now)) + WAIT_MARGIN_MS;
  return Math.max(0, step.maxWaitMs === null ? untilReset : Math.min(untilReset, step.maxWaitMs));
}
