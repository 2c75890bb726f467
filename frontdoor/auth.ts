/**
 * Who is calling: the `Authorization: Bearer KEY` of a request, verified by the store (which keeps
 * only a hash of each key), cached in memory. The cache never outlives a change: every use asks the
 * store for its keys version (one cheap read) and drops the cache when it moved, so a key revoked
 * by `switchyard keys revoke` in another process is refused at once; expiry is checked on every use
 * (docs/http.md "Keys").
 *
 * The secret itself is never kept: the cache is keyed by its sha256, and no error or log line
 * repeats it.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FrontDoorStore, KeyRecord } from '../store/front-door-types.js';
import { forbidden, unauthorized } from './errors.js';

export type { KeyRecord } from '../store/front-door-types.js';

export type VerifyOutcome = { ok: true; record: KeyRecord } | { ok: false; reason: string };

/** What the front door needs from the store's keys. */
export interface KeyVerifier {
  verify(secret: string): Promise<VerifyOutcome>;
  /** Moves whenever a key is created, revoked or rotated. */
  version(): Promise<number | string>;
}

/** The store's keys (`verifyKey`, `keysVersion`) as a {@link KeyVerifier}. */
export function storeKeys(store: Pick<FrontDoorStore, 'verifyKey' | 'keysVersion'>): KeyVerifier {
  return {
    verify: (secret) => store.verifyKey(secret),
    version: () => store.keysVersion(),
  };
}

export interface Caller {
  key: KeyRecord;
}

export class KeyCache {
  private readonly entries = new Map<string, KeyRecord>();
  private seenVersion: number | string | undefined;
  private versionRead: Promise<number | string> | undefined;

  constructor(
    private readonly keys: KeyVerifier,
    private readonly now: () => number = Date.now,
  ) {}

  /** The caller of a request, or a 401 that says why (never which key). */
  async authenticate(headers: IncomingHttpHeaders): Promise<Caller> {
    const auth = headers.authorization;
    if (auth === undefined || auth === '') {
      throw unauthorized(
        'no API key: send your Switchyard key as "Authorization: Bearer KEY" (the api_key of an OpenAI SDK)',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match === null) throw unauthorized('the Authorization header must be "Bearer KEY"');
    const secret = match[1]!;
    const hash = createHash('sha256').update(secret).digest('hex');

    await this.refresh();
    let record = this.entries.get(hash);
    if (record === undefined) {
      const outcome = await this.keys.verify(secret);
      if (!outcome.ok) throw unauthorized(`invalid API key (${outcome.reason})`);
      record = outcome.record;
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(hash, record);
    }
    if (record.revokedAt !== null || record.status === 'revoked') {
      throw unauthorized(`invalid API key: key ${record.id} was revoked`);
    }
    if (record.expiresAt !== null && record.expiresAt <= this.now()) {
      throw unauthorized(`invalid API key: key ${record.id} expired`);
    }
    return { key: record };
  }

  /** Drops every cached key when the store's keys version moved (concurrent callers share one read). */
  private async refresh(): Promise<void> {
    this.versionRead ??= this.keys.version().finally(() => {
      this.versionRead = undefined;
    });
    const version = await this.versionRead;
    if (version !== this.seenVersion) {
      this.entries.clear();
      this.seenVersion = version;
    }
  }
}

/** 403 unless the key may send inference requests for `policy`. */
export function checkPolicyAllowed(caller: Caller, policy: string): void {
  if (caller.key.admin) {
    throw forbidden(
      'admin_key',
      `key ${caller.key.id} is an admin key: it serves the console and operations endpoints, not inference`,
    );
  }
  if (caller.key.policy !== null && caller.key.policy !== policy) {
    throw forbidden(
      'policy_not_allowed',
      `key ${caller.key.id} may use policy ${caller.key.policy} only, not ${policy}`,
    );
  }
}
