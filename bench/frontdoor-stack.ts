/**
 * The processes of the front-door benchmark (bench/frontdoor.ts), beyond the Temporal dev server and
 * the GGUF provider server of bench/temporal.ts's stack: the provider test server in its
 * canned-answer mode, `switchyard serve --worker` in its own process (so the load generator does not
 * share its event loop), and the floor — the empty workflow of bench/floor-workflow.ts on the same
 * dev server, started eagerly on the worker's connection as bench/temporal.ts measures it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, type Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { portInUse } from '../worker/dev-server-process.js';
import { freePort, waitFor } from './temporal.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code once it exited. */
  exited: Promise<number | null>;
  output(): string;
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, pid: child.pid!, exited, output: () => output };
}

/** The provider test server answering every chat with `text` (same APIs, exact usage). */
export async function startCannedProvider(text: string): Promise<Spawned & { port: number }> {
  const port = await freePort();
  const p = spawnNode([
    '--import',
    TSX_LOADER,
    path.join(ROOT, 'test/support/provider-server-main.ts'),
    '--port',
    String(port),
    '--canned',
    text,
    '--no-record',
  ]);
  await waitFor(() => portInUse(port), 'the canned provider server');
  return { ...p, port };
}

/**
 * `switchyard serve --worker` from source (as test/frontdoor/cli.test.ts runs it), resolved with
 * its URL once it listens. `profileDir`: run it under `node --cpu-prof` (written when it stops).
 */
export async function startFrontDoor(options: {
  policies: string;
  store: string;
  address: string;
  taskQueue: string;
  profileDir?: string;
  /** How the worker runs attempts (`serve --attempts`). @default remote, serve's default */
  attempts?: 'local' | 'remote';
}): Promise<Spawned & { url: string }> {
  const p = spawnNode(
    [
      ...(options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : []),
      '--import',
      TSX_LOADER,
      path.join(ROOT, 'test/support/cli-main.ts'),
      'serve',
      '--port',
      '0',
      '--policies',
      options.policies,
      '--store',
      options.store,
      '--address',
      options.address,
      '--task-queue',
      options.taskQueue,
      '--worker',
      '--no-watch',
      ...(options.attempts ? ['--attempts', options.attempts] : []),
    ],
    { SWITCHYARD_STORE: options.store },
  );
  const deadline = Date.now() + 120_000;
  let match: RegExpExecArray | null = null;
  while (!(match = /listening on (http:\/\/\S+)\/v1/.exec(p.output()))) {
    if (p.child.exitCode !== null || Date.now() > deadline) {
      p.child.kill('SIGKILL');
      throw new Error(`switchyard serve did not start:\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...p, url: match[1]! };
}

/** Stops a process with SIGTERM (SIGKILL after 15 s) and waits for it. */
export async function stop(p: Spawned): Promise<void> {
  if (p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}

export interface Floor {
  /** Runs one empty workflow, eagerly started, to its end. */
  once(): Promise<unknown>;
  close(): Promise<void>;
}

/** The floor: an empty workflow's worker and eager-starting client, in this process. */
export async function startFloor(address: string): Promise<Floor> {
  const connection = await NativeConnection.connect({ address });
  const taskQueue = `floor-${Math.random().toString(36).slice(2, 8)}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'bench/floor-workflow.ts'),
    logger: new DefaultLogger('ERROR'),
  });
  const worker = await Worker.create({ connection, taskQueue, workflowBundle });
  const running = worker.run();
  const client = new Client({ connection: connection as unknown as Connection });
  let i = 0;
  return {
    once: () =>
      client.workflow.execute('bareWorkflow', {
        taskQueue,
        workflowId: `${taskQueue}-${i++}`,
        requestEagerStart: true,
      }),
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
