/**
 * API keys of the HTTP front door (docs/http.md, docs/store.md "API keys").
 *
 * A key is `sy-<id>-<secret>`: `sy-` makes it recognisable (to secret scanners and to people), the
 * 12-hex-digit `id` is public and names the key in `keys list`, and the secret is 32 random bytes
 * in base64url (43 characters). The store keeps only the sha256 of the whole key. A plain hash is
 * enough here — unlike a password, a 256-bit random secret cannot be guessed from its hash, so a
 * deliberately slow hash (bcrypt, argon2) would protect nothing and cost every uncached request
 * tens of milliseconds. Hashes are compared with `crypto.timingSafeEqual`.
 *
 * No key material leaves this file: errors and records name the id only.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StoreError } from './errors.js';
import { all, get, getForUpdate, num, run, type Tx } from './sql.js';
import type { CreatedKey, KeyRecord, KeyStatus, KeyVerification, NewKey } from './types.js';

const KEY_SHAPE = /^sy-([0-9a-f]{12})-([A-Za-z0-9_-]{43})$/;

interface KeyRow {
  id: string;
  team: string;
  app: string | null;
  policy: string | null;
  admin: unknown;
  key_sha256: string;
  created_ms: unknown;
  expires_ms: unknown;
  revoked_ms: unknown;
}

const COLUMNS = 'id, team, app, policy, admin, key_sha256, created_ms, expires_ms, revoked_ms';

function optionalTime(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

function statusOf(revokedAt: number | null, expiresAt: number | null, now: number): KeyStatus {
  if (revokedAt !== null) return 'revoked';
  if (expiresAt !== null && expiresAt <= now) return 'expired';
  return 'active';
}

function toRecord(row: KeyRow, now: number): KeyRecord {
  const expiresAt = optionalTime(row.expires_ms);
  const revokedAt = optionalTime(row.revoked_ms);
  return {
    id: row.id,
    team: row.team,
    app: row.app,
    policy: row.policy,
    admin: num(row.admin) === 1,
    createdAt: num(row.created_ms),
    expiresAt,
    revokedAt,
    status: statusOf(revokedAt, expiresAt, now),
  };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function unknownKey(id: string): StoreError {
  return new StoreError('E-KEY-UNKNOWN', `no API key with id ${id} (see 'switchyard keys list')`);
}

/** Checks what `createKey` is given; a bad value is a caller's mistake, named without any secret. */
export function validateNewKey(key: NewKey): void {
  const text = (name: string, value: unknown, required: boolean): void => {
    if (value === undefined || value === null) {
      if (required) throw new TypeError(`createKey: ${name} is required`);
      return;
    }
    if (typeof value !== 'string' || value.trim() === '' || value.length > 200)
      throw new TypeError(`createKey: ${name} must be a non-empty string of at most 200 characters`);
  };
  text('team', key?.team, true);
  text('app', key.app, false);
  text('policy', key.policy, false);
  if (key.admin !== undefined && typeof key.admin !== 'boolean')
    throw new TypeError('createKey: admin must be true or false');
  if (key.expiresAt !== undefined && key.expiresAt !== null && !Number.isSafeInteger(key.expiresAt))
    throw new TypeError(`createKey: expiresAt ${String(key.expiresAt)} is not a time (epoch ms)`);
}

/** Inserts a new key (a fresh id and secret on every run of the transaction, so retries are safe). */
function* insertKeyTx(key: NewKey, now: number): Tx<CreatedKey> {
  let id: string;
  // 48-bit ids: a collision is rare enough that trying again is the whole answer.
  do id = randomBytes(6).toString('hex');
  while ((yield* get('SELECT id FROM api_keys WHERE id = ?', [id])) !== undefined);
  const secret = `sy-${id}-${randomBytes(32).toString('base64url')}`;
  const row: KeyRow = {
    id,
    team: key.team,
    app: key.app ?? null,
    policy: key.policy ?? null,
    admin: key.admin === true ? 1 : 0,
    key_sha256: digest(secret).toString('hex'),
    created_ms: now,
    expires_ms: key.expiresAt ?? null,
    revoked_ms: null,
  };
  yield* run(`INSERT INTO api_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    row.id,
    row.team,
    row.app,
    row.policy,
    row.admin as number,
    row.key_sha256,
    now,
    row.expires_ms as number | null,
    null,
  ]);
  return { key: secret, record: toRecord(row, now) };
}

function* bumpVersion(): Tx<void> {
  yield* run('UPDATE api_keys_version SET version = version + 1 WHERE id = 1');
}

export function* createKeyTx(key: NewKey, now: number): Tx<CreatedKey> {
  const created = yield* insertKeyTx(key, now);
  yield* bumpVersion();
  return created;
}

export function* listKeysTx(now: number): Tx<KeyRecord[]> {
  const rows = yield* all<KeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_ms, id`);
  return rows.map((row) => toRecord(row, now));
}

export function* revokeKeyTx(id: string, now: number): Tx<KeyRecord> {
  const row = yield* getForUpdate<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, [id]);
  if (row === undefined) throw unknownKey(id);
  if (row.revoked_ms !== null && row.revoked_ms !== undefined) return toRecord(row, now);
  yield* run('UPDATE api_keys SET revoked_ms = ? WHERE id = ?', [now, id]);
  yield* bumpVersion();
  return toRecord({ ...row, revoked_ms: now }, now);
}

export function* rotateKeyTx(id: string, now: number): Tx<CreatedKey> {
  const row = yield* getForUpdate<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, [id]);
  if (row === undefined) throw unknownKey(id);
  const old = toRecord(row, now);
  if (old.revokedAt !== null) {
    throw new StoreError(
      'E-KEY-REVOKED',
      `API key ${id} is revoked: it cannot be rotated (create a new key with 'switchyard keys create')`,
    );
  }
  // The same lifetime from now: a key made for 90 days is replaced by one for 90 days.
  const expiresAt = old.expiresAt === null ? null : now + Math.max(0, old.expiresAt - old.createdAt);
  const created = yield* insertKeyTx(
    { team: old.team, app: old.app, policy: old.policy, admin: old.admin, expiresAt },
    now,
  );
  yield* run('UPDATE api_keys SET revoked_ms = ? WHERE id = ?', [now, id]);
  yield* bumpVersion();
  return created;
}

/** The id a presented key claims, or `null` when it is not shaped like a Switchyard key. */
export function keyId(key: unknown): string | null {
  if (typeof key !== 'string') return null;
  return KEY_SHAPE.exec(key)?.[1] ?? null;
}

export function* verifyKeyTx(key: string, now: number): Tx<KeyVerification> {
  const id = keyId(key);
  if (id === null) return { ok: false, reason: 'malformed' };
  const row = yield* get<KeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, [id]);
  if (row === undefined) return { ok: false, reason: 'unknown' };
  const stored = Buffer.from(row.key_sha256, 'hex');
  const presented = digest(key);
  if (stored.length !== presented.length || !timingSafeEqual(stored, presented))
    return { ok: false, reason: 'unknown' };
  const record = toRecord(row, now);
  if (record.status !== 'active') return { ok: false, reason: record.status };
  return { ok: true, record };
}

export function* keysVersionTx(): Tx<number> {
  const row = yield* get<{ version: unknown }>('SELECT version FROM api_keys_version WHERE id = 1');
  return num(row?.version);
}
