/**
 * `switchyard serve` as a real process: with its own worker (`--worker`), and alone beside workers
 * in another process — killed with SIGKILL mid-request: the durable request completes, and a retry
 * with the same Idempotency-Key through a new front door gets its answer, with one provider call.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../execution/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import {
  spawnCli,
  startStack,
  temporalAddress,
  uniqueName,
  writePolicies,
  type CliProcess,
  type Stack,
} from '../support/temporal.js';
import { httpRelay } from '../../frontdoor/relay-client.js';
import { openStore } from '../../store/index.js';
import { FRONT_POLICY, callsWith } from './fixtures.js';

let server: ProviderServer;
let dir: string;
let storeUrl: string;
let key: string;
/** A key the first test revokes. */
let doomed: string;
const children: CliProcess[] = [];

beforeAll(async () => {
  server = await startProviderServer();
  dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('fdcli')),
    'front.policy': FRONT_POLICY('durable'),
  });
  storeUrl = `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fd-cli-')), 'state.db')}`;
  const store = await openStore(storeUrl);
  key = (await store.createKey({ team: 'support', policy: 'front' })).key;
  doomed = (await store.createKey({ team: 'support', policy: 'front' })).key;
  await store.close();
});

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await server?.close();
});

async function serve(args: string[]): Promise<{ cli: CliProcess; url: string }> {
  const cli = spawnCli(
    ['serve', '--port', '0', '--policies', dir, '--store', storeUrl, '--address', temporalAddress(), ...args],
    { env: { SWITCHYARD_STORE: storeUrl } },
  );
  children.push(cli);
  await cli.waitFor(/listening on (http:\/\/\S+)\/v1/, 120_000);
  const url = /listening on (http:\/\/\S+)\/v1/.exec(cli.stdout)![1]!;
  return { cli, url };
}

const openai = (url: string, apiKey = key) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

describe('switchyard serve', () => {
  it('serves with a worker in the same process, and stops on SIGTERM', async () => {
    const { cli, url } = await serve(['--worker', '--task-queue', uniqueName('fdcli-q'), '--no-watch']);
    const answer = await openai(url).chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Once upon a time [cli-1]' }],
    });
    expect(answer.model).toBe('small');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    // `switchyard keys revoke` in another process: this front door, which cached the key, refuses it.
    expect((await openai(url, doomed).models.list()).data.length).toBeGreaterThan(0);
    const revoke = spawnCli(['keys', 'revoke', doomed.split('-')[1]!, '--store', storeUrl]);
    expect(await revoke.exited).toBe(0);
    const refused = await openai(url, doomed)
      .models.list()
      .then(
        () => undefined,
        (err: unknown) => (err as { status?: number }).status,
      );
    expect(refused).toBe(401);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('streams a durable request across processes: the worker here, the front door there (relay over HTTP)', async () => {
    const taskQueue = uniqueName('fdcli-relay');
    const stack: Stack = await startStack({ dir, taskQueue, storeUrl, relay: httpRelay });
    try {
      const door = await serve(['--task-queue', taskQueue]);
      const { data: stream, response } = await openai(door.url)
        .chat.completions.create({
          model: 'long',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'Once upon a time [relay-1]' }],
        })
        .withResponse();
      let text = '';
      let pieces = 0;
      for await (const chunk of stream) {
        const piece = chunk.choices[0]?.delta.content;
        if (piece) {
          text += piece;
          pieces++;
        }
      }
      const result = await stack.client.handle(response.headers.get('x-switchyard-request-id')!).result();
      expect(text).toBe(result.output!.content);
      // Token by token through the relay, not one piece from the result at the end.
      expect(pieces).toBeGreaterThan(3);
      door.cli.child.kill('SIGTERM');
      await door.cli.exited;
    } finally {
      await stack.close();
    }
  });

  it('kill -9 mid-request: the durable request completes; the same Idempotency-Key gets it', async () => {
    const taskQueue = uniqueName('fdcli-kill');
    const stack: Stack = await startStack({ dir, taskQueue, storeUrl });
    try {
      const first = await serve(['--task-queue', taskQueue]);
      server.faults.add({ model: 'small', delayMs: 1_500, times: 1 });
      const body = {
        model: 'chat',
        messages: [{ role: 'user' as const, content: 'Once upon a time [kill-1]' }],
      };
      const idem = `kill-${Date.now()}`;
      const pending = openai(first.url)
        .chat.completions.create(body, { headers: { 'idempotency-key': idem } })
        .catch((err: unknown) => err);
      // The provider got the call: the workflow runs; now the front door dies.
      const deadline = Date.now() + 10_000;
      while (callsWith(server, 'kill-1') === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      first.cli.child.kill('SIGKILL');
      expect(await pending).toBeInstanceOf(Error);
      const result = await stack.client.handle(`idem/support/${idem}`).result();
      expect(result.status).toBe('served');

      const second = await serve(['--task-queue', taskQueue]);
      const { data, response } = await openai(second.url)
        .chat.completions.create(body, { headers: { 'idempotency-key': idem } })
        .withResponse();
      expect(data.choices[0]!.message.content).toBe(result.output!.content);
      expect(response.headers.get('x-switchyard-idempotent-replay')).toBe('true');
      expect(callsWith(server, 'kill-1')).toBe(1);
      second.cli.child.kill('SIGTERM');
      await second.cli.exited;
    } finally {
      server.faults.clear();
      await stack.close();
    }
  });
});
