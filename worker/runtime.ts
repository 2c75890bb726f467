/**
 * Temporal's process-wide parts for a Switchyard worker: the runtime (logger, no signal handlers)
 * and the workflow code bundle.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type LogEntry,
  type LogLevel,
  type WorkflowBundle,
} from '@temporalio/worker';

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow code, bundled once per process (a few seconds: webpack). */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: new DefaultLogger('WARN'),
  }).then((b) => ({ code: b.code }));
  return bundle;
}

/** `workflows/index` beside this room: `.ts` from source, `.js` from `dist/` (also from the CLI bundle). */
export function workflowsPath(): string {
  for (const candidate of ['../workflows/index.ts', '../workflows/index.js']) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new Error('workflows/index.js not found beside the worker (was the project built?)');
}

/**
 * Installs Temporal's runtime with a quieter logger (warnings and errors only, or `level`) and
 * without its own signal handlers: the CLI stops workers itself, in order. Call it before the first
 * connection; later calls do nothing (and return false).
 *
 * `prometheus`: where SDK Core serves its own metrics (`temporal_*`, `HOST:PORT`, at `/metrics`):
 * counters with `_total`, durations in seconds with their unit (Prometheus' conventions); the
 * CLI binds it to a free local port and appends it to Switchyard's `/metrics`
 * (docs/operations.md "Temporal's metrics").
 */
export function installRuntime(level: LogLevel = 'WARN', options: { prometheus?: string } = {}): boolean {
  try {
    Runtime.install({
      logger: new DefaultLogger(level, printLog),
      telemetryOptions: {
        // SDK Core's own messages go through the same logger, at the same level.
        logging: { filter: { core: level, other: 'ERROR' }, forward: {} },
        ...(options.prometheus !== undefined
          ? {
              metrics: {
                prometheus: {
                  bindAddress: options.prometheus,
                  countersTotalSuffix: true,
                  unitSuffix: true,
                  useSecondsForDurations: true,
                },
              },
            }
          : {}),
      },
      shutdownSignals: [],
    });
    return true;
  } catch {
    // Already installed (by an earlier call or by a connection): keep it.
    return false;
  }
}

/** Temporal's log lines on stderr, minus the expected: provider-queue workers run no workflows. */
function printLog(entry: LogEntry): void {
  if (entry.message.startsWith('No workflows registered')) return;
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { breakLength: Infinity, depth: 4 })}`;
  process.stderr.write(`${time} [${entry.level}] ${entry.message}${meta}\n`);
}
