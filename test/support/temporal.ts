/**
 * Helpers for tests against the run's real Temporal dev server (temporal-global-setup.ts): policy
 * directories, a worker stack in the test process, the CLI as a child process, histories and replay.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import {
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  DefaultLogger,
  type WorkflowBundle,
} from '@temporalio/worker';
import { inject } from 'vitest';
import { SwitchyardClient } from '../../client/index.js';
import {
  installRuntime,
  startWorkers,
  workflowsPath,
  type StartWorkersOptions,
  type WorkersHandle,
} from '../../worker/worker.js';
import { PlanRegistry } from '../../worker/registry.js';
import type { InferenceRequest } from '../../plan/types.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

export function temporalAddress(): string {
  return inject('temporalAddress');
}

/**
 * The workflow bundle, built once per test run and shared by every test process through the run's
 * scratch directory (webpack takes seconds).
 */
export async function testWorkflowBundle(): Promise<WorkflowBundle> {
  const file = path.join(inject('temporalScratch'), 'workflows.bundle.js');
  if (fs.existsSync(file)) return { code: fs.readFileSync(file, 'utf8') };
  const bundle = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: new DefaultLogger('WARN'),
  });
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, bundle.code);
  fs.renameSync(tmp, file);
  return { code: bundle.code };
}

/** Writes policy files into a fresh temporary directory. */
export function writePolicies(files: Record<string, string>, prefix = 'switchyard-policies-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A name unique to this test process, for task queues. */
export function uniqueName(base: string): string {
  return `${base}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface Stack {
  dir: string;
  taskQueue: string;
  client: SwitchyardClient;
  workers: WorkersHandle;
  registry: PlanRegistry;
  /** The ledger and audit store the workers use. */
  store: Store;
  close(): Promise<void>;
}

/** A fresh SQLite store URL in a temporary directory (the workers' ledger and audit log). */
export function tempStoreUrl(prefix = 'switchyard-store-'): string {
  return `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), 'state.db')}`;
}

/** Workers (every queue of the policies) and a client, in this process. */
export async function startStack(options: {
  dir: string;
  taskQueue: string;
  watch?: boolean;
  /** The store's URL; default: a fresh SQLite file. */
  storeUrl?: string;
  /** The governance activities' clock. */
  clock?: () => number;
  governance?: 'local' | 'remote';
  /** How attempts run (worker/worker.ts); default remote. */
  attempts?: 'local' | 'remote';
  /** Worker log lines (default: dropped). */
  log?: (line: string) => void;
  /** The workers' store pruning interval (worker/worker.ts `pruneEveryMs`). */
  pruneEveryMs?: number;
  /** Wraps the opened store before the workers get it (to make it fail, say). */
  wrapStore?: (store: Store) => Store;
  /** Where streamed attempts write their text (the front door's relay). */
  relay?: StartWorkersOptions['relay'];
  /** The workers' payload codecs, over the opened store (the large-payload codec). */
  payloadCodecs?: (store: Store) => NonNullable<StartWorkersOptions['payloadCodecs']>;
}): Promise<Stack> {
  installRuntime('ERROR');
  const address = temporalAddress();
  const connection = await NativeConnection.connect({ address });
  const registry = await PlanRegistry.load(options.dir);
  const opened = await openStore(options.storeUrl ?? tempStoreUrl());
  const store = options.wrapStore ? options.wrapStore(opened) : opened;
  const workers = await startWorkers({
    connection,
    registry,
    store,
    taskQueue: options.taskQueue,
    watch: options.watch ?? false,
    workflowBundle: await testWorkflowBundle(),
    shutdownGraceMs: 0,
    log: options.log ?? (() => undefined),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.governance ? { governance: options.governance } : {}),
    ...(options.attempts ? { attempts: options.attempts } : {}),
    ...(options.pruneEveryMs !== undefined ? { pruneEveryMs: options.pruneEveryMs } : {}),
    ...(options.relay ? { relay: options.relay } : {}),
    ...(options.payloadCodecs ? { payloadCodecs: options.payloadCodecs(store) } : {}),
  });
  const client = await SwitchyardClient.connect({ address, taskQueue: options.taskQueue });
  return {
    dir: options.dir,
    taskQueue: options.taskQueue,
    client,
    workers,
    registry,
    store,
    async close() {
      await client.close();
      await workers.shutdown();
      await connection.close();
      await opened.close();
    },
  };
}

/** A request for `policy` whose message carries its id, so the provider server's records can be matched. */
export function request(id: string, policy: string, extra: Partial<InferenceRequest> = {}): InferenceRequest {
  return {
    id,
    policy,
    capability: 'chat',
    messages: [{ role: 'user', content: `Once upon a time [${id}]` }],
    ...extra,
  };
}

export async function fetchHistories(ids: string[]): Promise<{ workflowId: string; history: History }[]> {
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const client = new Client({ connection });
    const out: { workflowId: string; history: History }[] = [];
    for (const id of ids)
      out.push({ workflowId: id, history: await client.workflow.getHandle(id).fetchHistory() });
    return out;
  } finally {
    await connection.close();
  }
}

/** Replays histories through the bundled workflow code; returns the ids that failed, with why. */
export async function replay(
  histories: { workflowId: string; history: History }[],
): Promise<{ workflowId: string; error: string }[]> {
  installRuntime('ERROR');
  const failures: { workflowId: string; error: string }[] = [];
  const results = Worker.runReplayHistories({ workflowBundle: await testWorkflowBundle() }, histories);
  for await (const result of results) {
    if (result.error) failures.push({ workflowId: result.workflowId, error: String(result.error) });
  }
  return failures;
}

let cliStore: string | undefined;
function defaultCliStore(): string {
  cliStore ??= tempStoreUrl('switchyard-cli-store-');
  return cliStore;
}

/** tsx's loader, by URL: `--import tsx` would resolve from the child's working directory. */
const TSX_LOADER = pathToFileURL(path.join(PROJECT_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** The CLI from source, as a child process (`node --import tsx`). */
export function spawnCli(
  args: string[],
  /** `detached`: the CLI leads its own process group (kill it whole with `process.kill(-pid, …)`). */
  options: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {},
): CliProcess {
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, path.join(PROJECT_ROOT, 'test/support/cli-main.ts'), ...args],
    {
      cwd: options.cwd ?? PROJECT_ROOT,
      // Workers keep their ledger in a throwaway store unless the test names one.
      env: {
        ...process.env,
        SWITCHYARD_STORE: process.env.SWITCHYARD_STORE ?? defaultCliStore(),
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))),
  );
  return {
    child,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exited,
    async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out.stdout + out.stderr)) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`the CLI exited before printing ${pattern}:\n${out.stdout}\n${out.stderr}`);
        }
        if (Date.now() > deadline)
          throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${out.stdout}\n${out.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Waits until `check` holds (polling), or fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
