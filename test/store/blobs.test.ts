/**
 * Blobs (docs/store.md "Blobs") on SQLite and PostgreSQL, and the large-payload codec
 * (client/large-payloads.ts) on the run's real Temporal dev server: an 8 MB input and answer go
 * through a workflow while its history carries only small references.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Worker,
  bundleWorkflowCode,
  type WorkflowBundle,
} from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOB_REF_ENCODING, MissingBlobError, largePayloadCodec } from '../../client/large-payloads.js';
import type { Store } from '../../store/types.js';
import { installRuntime } from '../../worker/worker.js';
import { temporalAddress, uniqueName } from '../support/temporal.js';
import { backends, freshStore, type Backend } from './backends.js';

const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);
const DAY = 86_400_000;
const MB = 1024 * 1024;

const BACKENDS = await backends();
let bundle: WorkflowBundle;

beforeAll(async () => {
  installRuntime('ERROR');
  bundle = await bundleWorkflowCode({
    workflowsPath: path.join(import.meta.dirname, 'fixtures/echo-workflow.ts'),
    logger: new DefaultLogger('WARN'),
  });
}, 120_000);

afterAll(async () => {
  for (const backend of BACKENDS) await backend.cleanup();
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s store: blobs', (_name, backend: Backend) => {
  if (backend.broken !== undefined) {
    it('reaches the PostgreSQL server it was given', () => {
      throw new Error(backend.broken);
    });
    return;
  }
  if (backend.unavailable !== null) {
    it.skip(`skipped: ${backend.unavailable}`, () => undefined);
    return;
  }

  const stores: Store[] = [];
  async function open(): Promise<{ url: string; store: Store }> {
    const opened = await freshStore(backend);
    stores.push(opened.store);
    return opened;
  }
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
  });

  it('stores bytes by their sha256, once, and gives back exactly those bytes', async () => {
    const { url, store } = await open();
    const bytes = randomBytes(3 * MB);
    const hash = await store.putBlob(bytes, NOW);
    expect(hash).toBe(sha256(bytes));
    expect(await store.putBlob(new Uint8Array(bytes), NOW + 1)).toBe(hash);
    const back = await store.getBlob(hash);
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(Buffer.from(back!), bytes)).toBe(0);
    // Empty bytes are a blob too; an unknown hash is undefined; a non-hash is refused.
    const empty = await store.putBlob(new Uint8Array(), NOW);
    expect((await store.getBlob(empty))?.byteLength).toBe(0);
    expect(await store.getBlob('0'.repeat(64))).toBeUndefined();
    await expect(store.getBlob('sha256:abc')).rejects.toThrow(/not a sha256/);
    const raw = await backend.raw(url);
    try {
      const rows = await raw.query('SELECT sha256, size FROM blobs ORDER BY size');
      expect(rows.map((r) => [r.sha256, Number(r.size)])).toEqual([
        [empty, 0],
        [hash, 3 * MB],
      ]);
    } finally {
      await raw.close();
    }
  });

  it('pruneBlobs deletes what was last stored before the time given; storing again keeps a blob', async () => {
    const { store } = await open();
    const old = await store.putBlob(Buffer.from('old answer'), NOW - 40 * DAY);
    const renewed = await store.putBlob(Buffer.from('asked again'), NOW - 40 * DAY);
    await store.putBlob(Buffer.from('asked again'), NOW - DAY);
    const recent = await store.putBlob(Buffer.from('recent'), NOW);
    expect(await store.pruneBlobs(NOW - 30 * DAY)).toBe(1);
    expect(await store.getBlob(old)).toBeUndefined();
    expect(await store.getBlob(renewed)).toBeDefined();
    expect(await store.getBlob(recent)).toBeDefined();
  });

  it('the codec: an 8 MB input (the largest request the front door is asked to serve) and answer round-trip a real workflow; the history holds references only', async () => {
    const { store } = await open();
    const codec = largePayloadCodec(store);
    const address = temporalAddress();
    const taskQueue = uniqueName('blobs');
    const native = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowBundle: bundle,
      dataConverter: { payloadCodecs: [codec] },
    });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, dataConverter: { payloadCodecs: [codec] } });
    try {
      const text = randomBytes((8 * MB) / 2).toString('hex'); // 8 MB of text
      const workflowId = uniqueName('echo');
      const result = await worker.runUntil(
        client.workflow.execute('echo', { taskQueue, workflowId, args: [{ text }] }),
      );
      expect(result).toEqual({ text, length: text.length });

      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const events = history.events ?? [];
      const input = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const output = events.find((e) => e.workflowExecutionCompletedEventAttributes)
        ?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
      for (const payload of [input, output]) {
        expect(new TextDecoder().decode(payload!.metadata!.encoding!)).toBe(BLOB_REF_ENCODING);
        expect(payload!.data!.byteLength).toBeLessThan(512);
      }
      // The whole history is a few KB, not 6 MB.
      const historyBytes = events.reduce(
        (sum, e) =>
          sum +
          (e.workflowExecutionStartedEventAttributes?.input?.payloads ?? [])
            .concat(e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? [])
            .reduce((s, p) => s + (p.data?.byteLength ?? 0), 0),
        0,
      );
      expect(historyBytes).toBeLessThan(4096);
      const ref = JSON.parse(new TextDecoder().decode(input!.data!)) as { sha256: string; size: number };
      expect(ref.size).toBeGreaterThan(8 * MB);
      expect(await store.getBlob(ref.sha256)).toBeDefined();

      // Without the codec, Temporal refuses even 3 MB of it (over 4 MB, the gRPC message limit
      // refuses it first, after retries): the codec is what makes it fit.
      const plain = new Client({ connection });
      const refused = await plain.workflow
        .start('echo', {
          taskQueue,
          workflowId: uniqueName('echo-plain'),
          args: [{ text: text.slice(0, 3 * MB) }],
        })
        .catch((e: unknown) => e);
      expect(String((refused as Error).cause)).toMatch(/Blob data size exceeds limit/);
    } finally {
      await connection.close();
      await native.close();
    }
  }, 120_000);

  it('the codec leaves small payloads alone and says which blob is missing', async () => {
    const { store } = await open();
    const codec = largePayloadCodec(store, { thresholdBytes: 1024 });
    const small = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"hi"') };
    expect(await codec.encode([small])).toEqual([small]);
    const big = {
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from(`"${'x'.repeat(5000)}"`),
    };
    const [ref] = await codec.encode([big]);
    expect(new TextDecoder().decode(ref!.metadata!.encoding!)).toBe(BLOB_REF_ENCODING);
    const [back] = await codec.decode([ref!]);
    expect(Buffer.from(back!.data!).equals(big.data)).toBe(true);
    expect(Buffer.from(back!.metadata!.encoding!).toString()).toBe('json/plain');

    // A store without the blob (another store, say): the error names the hash.
    const other = await open();
    const error = await largePayloadCodec(other.store)
      .decode([ref!])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingBlobError);
    expect(error).toMatchObject({ code: 'E-BLOB-MISSING', sha256: sha256(big.data) });
    expect((error as Error).message).toContain(`sha256:${sha256(big.data)}`);
  });
});
