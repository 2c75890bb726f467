/**
 * Calendar windows in UTC (see plan/windows.ts, where the pure functions live so that the workflow
 * computes waits with the very rules the ledger counts by).
 */
export { windowStart, windowEnd, untilWindowReset } from '../plan/windows.js';
