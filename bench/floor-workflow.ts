/**
 * The floor under every request workflow: a workflow that does nothing (bench/temporal.ts runs it
 * to show what the dev server and the SDK cost before Switchyard does anything).
 */
export async function bareWorkflow(): Promise<number> {
  return 1;
}
