/**
 * How Switchyard starts the Temporal CLI's dev server — one place for `switchyard dev`, the test
 * run's server and the benchmarks, so all three measure and test the same server.
 *
 * The dynamic configuration below is what a single-node dev server needs for request-sized
 * workflows (measured with `npm run bench`, 2-core machine; see docs/running.md "Latency"):
 *
 * - `history.transferProcessorMaxPollRPS` (default 20): the dev server has ONE history shard, and
 *   its transfer queue — which hands every new workflow task and activity task to matching — is
 *   read at most 20 times a second. Every hop of every workflow then waits up to 50 ms for the
 *   next read: an empty workflow took 49 ms, one activity 100 ms. Raised, they take ~21 and ~33 ms
 *   and throughput doubles. The visibility and timer queues have the same limit (search attributes,
 *   durable sleeps, timeouts).
 * - one task queue partition: a dev server has one matching node, and four partitions (the
 *   default) only add forwarding between them.
 * - `history.timerProcessorMaxTimeShift`: timers fire up to a second late by default; retry
 *   backoffs of 100 ms need better.
 */
import { SEARCH_ATTRIBUTES } from '../contract/index.js';

export const DEV_SERVER_DYNAMIC_CONFIG: readonly string[] = [
  'history.timerProcessorMaxTimeShift="1ms"',
  'history.transferProcessorMaxPollRPS=10000',
  'history.transferProcessorMaxPollHostRPS=10000',
  'history.visibilityProcessorMaxPollRPS=10000',
  'history.visibilityProcessorMaxPollHostRPS=10000',
  'history.timerProcessorMaxPollRPS=10000',
  'history.timerProcessorMaxPollHostRPS=10000',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

export interface DevServerOptions {
  port: number;
  /** The SQLite file (state survives restarts); in memory when absent. */
  db?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  namespace?: string;
}

/** The arguments of `temporal server start-dev` for Switchyard. */
export function devServerArgs(options: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(options.port)];
  if (options.db !== undefined) {
    // WAL, and no fsync per write: a dev server's file survives a killed process (kill -9), not
    // a power cut — the same trade as the CLI's in-memory default, with restarts kept.
    args.push(
      '--db-filename',
      options.db,
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=OFF',
    );
  }
  args.push('--log-level', options.logLevel ?? 'warn');
  for (const value of DEV_SERVER_DYNAMIC_CONFIG) args.push('--dynamic-config-value', value);
  // Requests are searchable by team, policy, route, model and status
  // (`temporal workflow list --query 'SwitchyardTeam="support"'`).
  for (const name of Object.values(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=Keyword`);
  if (options.namespace !== undefined && options.namespace !== 'default') {
    args.push('--namespace', options.namespace);
  }
  return args;
}
