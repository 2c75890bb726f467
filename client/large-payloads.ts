/**
 * Large prompts and answers kept out of workflow histories (docs/store.md "Blobs").
 *
 * Temporal refuses a payload over 2 MB and every payload is copied into the workflow's history, so
 * a large request would fail, or bloat every replay. `largePayloadCodec` is a `PayloadCodec` that
 * stores each payload over a threshold in the store, by sha256, and sends a small reference in its
 * place; decoding fetches it back and checks its hash. The client and every worker must use the
 * same codec over the same store:
 *
 *   const codec = largePayloadCodec(store);
 *   new Client({ connection, dataConverter: { payloadCodecs: [codec] } });
 *   Worker.create({ …, dataConverter: { payloadCodecs: [codec] } });
 *
 * The store is typed structurally (the client may not import `store/`); `Store` fits.
 */
import { createHash } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';

/** What the codec needs of the store. */
export interface BlobStore {
  /** Stores the bytes (idempotent); returns their sha256 as 64 lowercase hex digits. */
  putBlob(bytes: Uint8Array): Promise<string>;
  /** The bytes whose sha256 is `hash`, or `undefined`. */
  getBlob(hash: string): Promise<Uint8Array | undefined>;
}

export interface LargePayloadOptions {
  /**
   * Payloads larger than this (data and metadata, in bytes) are stored aside.
   * @default 131072 (128 KiB): well under Temporal's 2 MB payload limit, and small enough that
   * histories of many requests stay light.
   */
  thresholdBytes?: number;
}

/** The `encoding` metadata of a reference payload. */
export const BLOB_REF_ENCODING = 'switchyard/blob-ref';

/** What a reference payload's data holds (JSON). */
interface BlobRef {
  sha256: string;
  /** The original payload's data length. */
  size: number;
  /** The original payload's metadata, values in base64. */
  metadata: Record<string, string>;
}

/** A stored payload that cannot be read back; `code` is stable. */
export class MissingBlobError extends Error {
  readonly code = 'E-BLOB-MISSING';
  constructor(
    readonly sha256: string,
    message: string,
  ) {
    super(message);
    this.name = 'MissingBlobError';
  }
}

const text = new TextEncoder();
const untext = new TextDecoder();

function sizeOf(payload: Payload): number {
  let size = payload.data?.byteLength ?? 0;
  for (const [key, value] of Object.entries(payload.metadata ?? {}))
    size += key.length + (value?.byteLength ?? 0);
  return size;
}

function isRef(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && untext.decode(encoding) === BLOB_REF_ENCODING;
}

export function largePayloadCodec(blobs: BlobStore, options: LargePayloadOptions = {}): PayloadCodec {
  const threshold = options.thresholdBytes ?? 128 * 1024;
  if (!Number.isSafeInteger(threshold) || threshold < 0)
    throw new TypeError(`largePayloadCodec: thresholdBytes ${threshold} is not a number of bytes`);

  async function encodeOne(payload: Payload): Promise<Payload> {
    if (sizeOf(payload) <= threshold || isRef(payload)) return payload;
    const data = payload.data ?? new Uint8Array();
    const sha256 = await blobs.putBlob(data);
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(payload.metadata ?? {}))
      if (value) metadata[key] = Buffer.from(value).toString('base64');
    const ref: BlobRef = { sha256, size: data.byteLength, metadata };
    return {
      metadata: { encoding: text.encode(BLOB_REF_ENCODING) },
      data: text.encode(JSON.stringify(ref)),
    };
  }

  async function decodeOne(payload: Payload): Promise<Payload> {
    if (!isRef(payload)) return payload;
    let ref: BlobRef;
    try {
      ref = JSON.parse(untext.decode(payload.data ?? new Uint8Array())) as BlobRef;
      if (typeof ref?.sha256 !== 'string' || typeof ref.metadata !== 'object') throw new Error('bad shape');
    } catch {
      throw new MissingBlobError('', `a ${BLOB_REF_ENCODING} payload does not name a blob`);
    }
    const bytes = await blobs.getBlob(ref.sha256);
    if (bytes === undefined) {
      throw new MissingBlobError(
        ref.sha256,
        `blob sha256:${ref.sha256} (${ref.size} bytes) is not in the store: the client and every worker must share one store (SWITCHYARD_STORE), and blobs must outlive the workflows that use them`,
      );
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== ref.sha256)
      throw new MissingBlobError(
        ref.sha256,
        `blob sha256:${ref.sha256} in the store has other bytes (sha256:${actual})`,
      );
    const metadata: Record<string, Uint8Array> = {};
    for (const [key, value] of Object.entries(ref.metadata)) metadata[key] = Buffer.from(value, 'base64');
    return { metadata, data: bytes };
  }

  return {
    encode: (payloads) => Promise.all(payloads.map(encodeOne)),
    decode: (payloads) => Promise.all(payloads.map(decodeOne)),
  };
}
