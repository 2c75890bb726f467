/**
 * Workflow time. Inside Temporal's workflow sandbox `Date.now()` is not the machine's clock: it is
 * the time of the current workflow activation, taken from history, so a replay sees exactly the
 * values the first run saw. This is the one place the workflow reads it.
 */
export function workflowNow(): number {
  // eslint-disable-next-line no-restricted-properties -- deterministic in the workflow sandbox (see above)
  return Date.now();
}
