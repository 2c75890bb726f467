/**
 * Calendar windows in UTC. A budget or rate limit `per day` counts from 00:00 UTC to the next
 * 00:00 UTC; `week` is the ISO week (Monday 00:00 UTC); `month` starts on the 1st at 00:00 UTC.
 * `minute` and `hour` are the UTC clock's. Counters reset when a new window starts; nothing rolls.
 */
import type { LedgerWindow } from './types.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Epoch ms of the first instant of the window of kind `window` that contains `now`. */
export function windowStart(window: LedgerWindow, now: number): number {
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
export function windowEnd(window: LedgerWindow, now: number): number {
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
