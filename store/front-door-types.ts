/**
 * What the HTTP front door keeps in the store (docs/http.md, docs/store.md): API keys, blobs (large
 * prompts and answers kept out of workflow histories) and the direct-mode requests in flight, so
 * that one stopped mid-request still ends in exactly one audit record. Times are epoch ms (UTC).
 */

/** `active`, or why a key no longer works; computed against the clock when read. */
export type KeyStatus = 'active' | 'revoked' | 'expired';

/** An API key as the store keeps it: everything but the secret (only its hash is stored). */
export interface KeyRecord {
  /** The key's public id: the part between `sy-` and the secret. */
  id: string;
  /** The caller's team and app: a request's come from its key, never from its headers. */
  team: string;
  app: string | null;
  /** The key's default policy (`null`: the request names one). */
  policy: string | null;
  /** An admin key: the console and the operations endpoints, no inference requests. */
  admin: boolean;
  createdAt: number;
  /** `null`: never expires. */
  expiresAt: number | null;
  revokedAt: number | null;
  status: KeyStatus;
}

export interface NewKey {
  team: string;
  app?: string | null;
  policy?: string | null;
  admin?: boolean;
  /** Epoch ms; `null` or missing: never expires. */
  expiresAt?: number | null;
}

export interface CreatedKey {
  /** The secret, `sy-<id>-<43 characters>`: shown once, never stored. */
  key: string;
  record: KeyRecord;
}

export type KeyVerification =
  | { ok: true; record: KeyRecord }
  | {
      ok: false;
      /**
       * `malformed`: not shaped like a Switchyard key; `unknown`: no key with this id, or its secret
       * differs; `revoked`, `expired`: it was a key.
       */
      reason: 'malformed' | 'unknown' | 'revoked' | 'expired';
    };

/** A direct-mode request in flight (`trackRequest`), until its audit record is written. */
export interface TrackedRequest {
  requestId: string;
  policy: string;
  /** The plan hash (`sha256:…`). */
  planHash: string;
  route: string | null;
  team: string | null;
  app: string | null;
  user: string | null;
  capability: string | null;
  startedAt: number;
  /**
   * After this the request counts as interrupted (`sweepInterrupted`): no later than its
   * reservations' expiry, so the budget they hold is released by the sweep.
   */
  expiresAt: number;
  /** The policy's `audit { retain N days }` for the interrupted record; missing: kept forever. */
  retainDays?: number | null;
}

export interface SweepOutcome {
  /** Requests recorded as `interrupted` by this call. */
  interrupted: string[];
  /** Reservations (one per budget of each attempt) released by this call. */
  released: number;
  /** Tracked requests that had their audit record after all: forgotten, nothing written. */
  finished: number;
}

/** The store's part of the front door; `Store` extends it. */
export interface FrontDoorStore {
  /**
   * A new key for `team`: a random 256-bit secret, of which only the sha256 is stored. Bumps
   * `keysVersion`.
   */
  createKey(key: NewKey, now?: number): Promise<CreatedKey>;
  /** Every key, oldest first, with its status at `now`. */
  listKeys(now?: number): Promise<KeyRecord[]>;
  /** Revokes at once (idempotent); throws `E-KEY-UNKNOWN` for an unknown id. Bumps `keysVersion`. */
  revokeKey(id: string, now?: number): Promise<KeyRecord>;
  /**
   * A new key with the same team, app, policy, admin flag and expiry window (a key created for 90
   * days gets 90 days from now); the old one is revoked in the same transaction. Throws
   * `E-KEY-UNKNOWN`, or `E-KEY-REVOKED` for a revoked key (rotating it twice would leave two
   * successors). Bumps `keysVersion`.
   */
  rotateKey(id: string, now?: number): Promise<CreatedKey>;
  /** Checks a presented key: its hash, compared in constant time, then revocation and expiry. */
  verifyKey(key: string, now?: number): Promise<KeyVerification>;
  /**
   * A counter bumped by every create, revoke and rotate: a front door that caches verified keys
   * re-verifies them when it changed (so a revocation takes effect at once), and checks the
   * cached `expiresAt` against the clock on every use.
   */
  keysVersion(): Promise<number>;

  /** Stores bytes by content (idempotent); returns their sha256, 64 lowercase hex digits. */
  putBlob(bytes: Uint8Array, now?: number): Promise<string>;
  /** The bytes whose sha256 is `hash`; `undefined` when the store has none. */
  getBlob(hash: string): Promise<Uint8Array | undefined>;
  /**
   * Deletes the blobs last stored before `before` (epoch ms). Blobs back workflow histories: keep
   * them longer than the Temporal namespace's retention and than any request may run.
   */
  pruneBlobs(before: number): Promise<number>;

  /**
   * Records a direct-mode request in flight (idempotent; a second call only moves `expiresAt`
   * later). Its audit record, when appended, forgets it in the same transaction.
   */
  trackRequest(request: TrackedRequest): Promise<void>;
  /**
   * For every tracked request past its `expiresAt` with no audit record: releases its
   * reservations still held (keys `<request id>#<n>`), appends one audit record with status
   * `interrupted`, and forgets it — one transaction per request, so concurrent sweepers (any
   * number of processes) write each record once.
   */
  sweepInterrupted(now?: number): Promise<SweepOutcome>;
}
