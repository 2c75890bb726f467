/**
 * `switchyard demo`, the README's main job, end to end: it starts its own dev stack (a real
 * Temporal dev server, a worker with an embedded GGUF model), sends its requests and stops. The
 * quick-start model is not needed: the same policy name runs here on the repository's test model.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/temporal.js';

const MODEL = path.resolve(PROJECT_ROOT, 'test/fixtures/models/stories260K.gguf');
let tmp: string;

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

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-demo-'));
  const policies = path.join(tmp, 'policies');
  fs.mkdirSync(policies);
  const source = fs.readFileSync(path.join(PROJECT_ROOT, 'examples/quickstart/quickstart.policy'), 'utf8');
  fs.writeFileSync(
    path.join(policies, 'quickstart.policy'),
    source
      .replace(/model-file "[^"]+"/, `model-file ${JSON.stringify(MODEL)}`)
      .replace('context 2k', 'context 512'),
  );
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('switchyard demo', () => {
  it('starts the stack, serves chat and summarize on the embedded model, refuses the rest, stops', async () => {
    const port = await freePort();
    const result = spawnSync(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'bin/switchyard.js'),
        'demo',
        '--policies',
        path.join(tmp, 'policies'),
        '--port',
        String(port),
      ],
      { cwd: tmp, encoding: 'utf8', timeout: 170_000 },
    );
    expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(
      /served {4}by smollm on in-process via route chat \(capability == "chat"\); \d+ in \/ \d+ out tokens, \$0\.\d+, 1 attempt\(s\)/,
    );
    expect(out).toMatch(/served {4}by smollm on in-process via route summarize/);
    expect(out).toMatch(/rejected {2}this quick start serves chat and summarize/);
    expect(out).toContain('the dev stack is stopped');
    // The dev server kept its state in the working directory, and nothing is left listening.
    expect(fs.existsSync(path.join(tmp, '.switchyard', 'temporal.db'))).toBe(true);
    const stillOpen = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    expect(stillOpen).toBe(false);
  }, 180_000);
});
