/**
 * `switchyard run`, `worker` and `dev` as a user runs them (from source, as child processes),
 * against the run's Temporal dev server — and, for `dev`, its own server, killed and restarted.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardClient } from '../../client/index.js';
import type { InferenceResult } from '../../plan/index.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import {
  PROJECT_ROOT,
  request,
  spawnCli,
  startStack,
  temporalAddress,
  uniqueName,
  writePolicies,
  type CliProcess,
  type Stack,
} from '../support/temporal.js';
import { MAIN_POLICY, catalog } from './fixtures.js';

let server: ProviderServer;
let stack: Stack;
let tmp: string;
const children: CliProcess[] = [];

function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawnCli(args, options);
  children.push(child);
  return child;
}

function noStackTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
}

beforeAll(async () => {
  server = await startProviderServer();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-cli-exec-'));
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('cq')),
    'main.policy': MAIN_POLICY,
  });
  stack = await startStack({ dir, taskQueue: uniqueName('cli') });
});

afterAll(async () => {
  for (const child of children) child.child.kill('SIGKILL');
  await stack?.close();
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('switchyard run', () => {
  const base = () => ['--address', temporalAddress(), '--task-queue', stack.taskQueue];

  it('prints the result JSON and exits 0 when served', async () => {
    const file = path.join(tmp, 'served.json');
    const rid = uniqueName('req-cli');
    fs.writeFileSync(file, JSON.stringify(request(rid, 'main', { tags: { case: 'basic' } })));
    const run = cli(['run', '--request', file, ...base()]);
    expect(await run.exited).toBe(0);
    const result = JSON.parse(run.stdout) as InferenceResult;
    expect(result).toMatchObject({ id: rid, status: 'served', model: 'small', route: 'basic' });
  });

  it('reads standard input, and exits 1 when the request is rejected', async () => {
    const run = cli(['run', '--request', '-', ...base()]);
    run.child.stdin!.end(
      JSON.stringify(request(uniqueName('req-cli'), 'main', { tags: { case: 'poetry' } })),
    );
    expect(await run.exited).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'rejected', reason: 'no route for this case' });
  });

  it('refuses an invalid request with one line naming the field', async () => {
    const file = path.join(tmp, 'invalid.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ policy: 'main', capability: 'chat', messages: [], mode: 'fast' }),
    );
    const run = cli(['run', '--request', file, ...base()]);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(/^switchyard run: error E-REQUEST-INVALID field '(messages|mode)' .*\n$/);
  });

  it('says in one line when Temporal cannot be reached', async () => {
    const file = path.join(tmp, 'served.json');
    const port = await freePort();
    const run = cli(['run', '--request', file, '--address', `127.0.0.1:${port}`]);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(
      /^switchyard run: error E-TEMPORAL-UNREACHABLE cannot reach Temporal at 127\.0\.0\.1:\d+/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('switchyard worker', () => {
  it('refuses to start on policy errors, printing each at file:line:col', async () => {
    const dir = writePolicies({ 'bad.policy': 'policy p {\n  route r when true {\n    use gpt-5\n  }\n}\n' });
    const run = cli(['worker', '--policies', dir, '--address', temporalAddress()]);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(/bad\.policy:3:9: error \S+ .*gpt-5/);
    expect(run.stderr).toMatch(/switchyard worker: error E-POLICIES 1 error in .*; not starting\n$/);
    noStackTrace(run.stderr);
  });

  it('refuses a --queues entry no provider uses', async () => {
    const run = cli([
      'worker',
      '--policies',
      stack.dir,
      '--address',
      temporalAddress(),
      '--queues',
      'gpu-nowhere',
    ]);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(
      /error E-QUEUE-UNKNOWN no provider of the loaded policies uses queue gpu-nowhere/,
    );
  });

  it('rejects an unknown key in switchyard.yaml, naming it and the file', async () => {
    const file = path.join(tmp, 'switchyard.yaml');
    fs.writeFileSync(file, 'adress: 127.0.0.1:7233\n');
    const run = cli(['worker', '--policies', stack.dir, '--config', file]);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(
      /error E-CONFIG-INVALID .*switchyard\.yaml: unknown key 'adress' \(did you mean 'address'\?\)/,
    );
  });
});

describe('switchyard dev', () => {
  it('says what to install when no Temporal CLI is found', async () => {
    const cwd = fs.mkdtempSync(path.join(tmp, 'dev-missing-'));
    const run = cli(['dev', '--policies', stack.dir, '--port', String(await freePort())], {
      cwd,
      env: { SWITCHYARD_TEMPORAL_BIN: path.join(cwd, 'no-temporal') },
    });
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(/error E-TEMPORAL-MISSING SWITCHYARD_TEMPORAL_BIN names .*no-temporal/);
  });

  it('explains a port taken by something that is not Temporal', async () => {
    const blocker = net.createServer((socket) => {
      // The probe hangs up as soon as it sees this is not Temporal: a reset is expected here.
      socket.on('error', () => {});
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const cwd = fs.mkdtempSync(path.join(tmp, 'dev-port-'));
      const run = cli(['dev', '--policies', stack.dir, '--port', String(port)], { cwd });
      expect(await run.exited).toBe(1);
      expect(run.stderr).toMatch(/error E-PORT-IN-USE port \d+ is in use by something that is not Temporal/);
    } finally {
      blocker.close();
    }
  });

  it(
    'runs a server and a worker, keeps state across kill -9 and restarts, and stops on SIGTERM',
    { timeout: 120_000 },
    async () => {
      const cwd = fs.mkdtempSync(path.join(tmp, 'dev-'));
      const prefix = uniqueName('dq');
      const policies = path.join(cwd, 'policies');
      fs.mkdirSync(policies);
      fs.writeFileSync(path.join(policies, 'catalog.policy'), catalog(server.url, prefix));
      fs.writeFileSync(path.join(policies, 'main.policy'), MAIN_POLICY);
      const port = await freePort();
      const address = `127.0.0.1:${port}`;
      const env = { SWITCHYARD_TEMPORAL_BIN: path.join(PROJECT_ROOT, '.venv/bin/temporal') };
      const client = await (async () => {
        const first = cli(['dev', '--port', String(port)], { cwd, env });
        await first.waitFor(/switchyard dev ready on 127\.0\.0\.1:\d+/);
        expect(first.stdout).toContain(`SWITCHYARD_ADDRESS=${address}`);
        expect(fs.existsSync(path.join(cwd, '.switchyard', 'temporal.db'))).toBe(true);
        const c = await SwitchyardClient.connect({ address });
        const before = await c.infer(request('req-dev-1', 'main', { tags: { case: 'basic' } }));
        expect(before.status).toBe('served');

        // kill -9: the worker dies, the server it started lives on (an orphan) …
        first.child.kill('SIGKILL');
        await first.exited;
        return c;
      })();
      try {
        // … and the next `dev` adopts it.
        const second = cli(['dev', '--port', String(port)], { cwd, env });
        await second.waitFor(/switchyard dev ready/);
        expect(second.stdout).toMatch(/already running, pid \d+/);
        expect((await client.handle('req-dev-1').result()).status).toBe('served');
        const during = await client.infer(request('req-dev-2', 'main', { tags: { case: 'basic' } }));
        expect(during.status).toBe('served');
        second.child.kill('SIGTERM');
        expect(await second.exited).toBe(0);
        expect(second.stdout).toContain('switchyard dev: stopped');
        expect(await portOpen(port)).toBe(false);

        // A fresh server on the same SQLite file: everything is still there.
        const third = cli(['dev', '--port', String(port)], { cwd, env });
        await third.waitFor(/switchyard dev ready/);
        expect(third.stdout).not.toMatch(/already running/);
        expect((await client.handle('req-dev-1').result()).model).toBe('small');
        expect((await client.handle('req-dev-2').result()).status).toBe('served');
        third.child.kill('SIGINT');
        expect(await third.exited).toBe(0);
        expect(await portOpen(port)).toBe(false);
      } finally {
        await client.close();
      }
    },
  );
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
