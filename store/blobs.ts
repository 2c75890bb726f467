/**
 * Blobs by content hash: large prompts and answers kept out of Temporal's workflow histories
 * (client/large-payloads.ts; docs/store.md "Blobs"). Storing the same bytes again keeps one row
 * and only moves `used_ms`, which retention (`pruneBlobs`) goes by.
 */
import { createHash } from 'node:crypto';
import { get, run, type Tx } from './sql.js';

const HASH = /^[0-9a-f]{64}$/;

export function blobHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A blob's hash as `getBlob` takes it; throws a clear error for anything else. */
export function checkBlobHash(hash: unknown): string {
  if (typeof hash !== 'string' || !HASH.test(hash))
    throw new TypeError(`getBlob: ${String(hash).slice(0, 80)} is not a sha256 (64 lowercase hex digits)`);
  return hash;
}

/** A Buffer over the same memory (both drivers bind Buffers). */
export function asBuffer(bytes: Uint8Array): Buffer {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('putBlob: expected bytes (a Uint8Array)');
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function* putBlobTx(hash: string, bytes: Buffer, now: number): Tx<void> {
  // Check first so that bytes already stored are not sent again; ON CONFLICT covers a race.
  const existing = yield* get('SELECT size FROM blobs WHERE sha256 = ?', [hash]);
  if (existing !== undefined) {
    yield* run('UPDATE blobs SET used_ms = ? WHERE sha256 = ? AND used_ms < ?', [now, hash, now]);
    return;
  }
  yield* run(
    `INSERT INTO blobs (sha256, bytes, size, created_ms, used_ms) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (sha256) DO NOTHING`,
    [hash, bytes, bytes.byteLength, now, now],
  );
}

export function* getBlobTx(hash: string): Tx<Uint8Array | undefined> {
  const row = yield* get<{ bytes: Uint8Array }>('SELECT bytes FROM blobs WHERE sha256 = ?', [hash]);
  return row?.bytes;
}

export function* pruneBlobsTx(before: number): Tx<number> {
  return yield* run('DELETE FROM blobs WHERE used_ms < ?', [before]);
}
