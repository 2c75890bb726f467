/**
 * `Idempotency-Key` (docs/http.md "Idempotency"): the key becomes the request id, scoped to the
 * caller's team so two teams never collide, and a hash of the request body travels with it so the
 * same key with another body is told apart (409 `idempotency_key_conflict`).
 *
 * - durable: the id names the workflow and the body hash is in the workflow's memo; a retry —
 *   through any front door, after a restart — attaches to the same workflow and gets its result.
 * - direct: there is no workflow to attach to; this process remembers the requests it ran (and
 *   runs) by id for {@link DIRECT_MEMORY_MS}, so a retry to the same front door gets the same
 *   result without running again. A retry that reaches another process runs again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../plan/canonical.js';
import type { InferenceRequest, InferenceResult } from '../plan/index.js';
import { badRequest, idempotencyConflict } from './errors.js';

const SAFE = /^[A-Za-z0-9._:@-]+$/;
const KEY_CHARS = /^[A-Za-z0-9._:@/-]+$/;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The request id: `idem/<team>/<key>` for an `Idempotency-Key` (a team or key that cannot be an id
 * as written is replaced by its sha256), else a fresh `req-<uuid>`.
 */
export function requestIdFor(team: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return `req-${randomUUID()}`;
  if (idempotencyKey === '' || idempotencyKey.length > 255) {
    throw badRequest('invalid_value', 'Idempotency-Key must be 1 to 255 characters', 'Idempotency-Key');
  }
  const teamPart = SAFE.test(team) && team.length <= 64 ? team : `sha256-${sha256(team).slice(0, 32)}`;
  const keyPart =
    KEY_CHARS.test(idempotencyKey) && idempotencyKey.length <= 120
      ? idempotencyKey
      : `sha256-${sha256(idempotencyKey)}`;
  return `idem/${teamPart}/${keyPart}`;
}

/**
 * What identifies the request's content: every field but its id and where its stream goes (a retry
 * without `stream: true` asks for the same answer), canonical, hashed.
 */
export function bodyHash(request: InferenceRequest): string {
  const { id: _id, stream: _stream, ...rest } = request as InferenceRequest & { stream?: unknown };
  return `sha256:${sha256(canonicalJson(rest))}`;
}

/** How long a direct-mode front door remembers a request by its Idempotency-Key. */
export const DIRECT_MEMORY_MS = 10 * 60_000;

interface Remembered {
  hash: string;
  result: Promise<InferenceResult>;
  expires: number;
}

/** The direct-mode memory of requests by id (see the module's notes). */
export class DirectMemory {
  private readonly entries = new Map<string, Remembered>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The result of the request with this id: the remembered one when there is one (a 409 when its
   * body differs), else `run()`'s, remembered.
   */
  run(
    id: string,
    hash: string,
    run: () => Promise<InferenceResult>,
  ): { result: Promise<InferenceResult>; attached: boolean } {
    this.sweep();
    const known = this.entries.get(id);
    if (known !== undefined) {
      if (known.hash !== hash) throw idempotencyConflict();
      return { result: known.result, attached: true };
    }
    const result = run();
    this.entries.set(id, { hash, result, expires: this.now() + DIRECT_MEMORY_MS });
    // A request that threw (the runner itself failed) is not remembered: a retry runs it.
    result.catch(() => this.entries.delete(id));
    return { result, attached: false };
  }

  /** Forgets a request: a retry with its key runs again. */
  forget(id: string): void {
    this.entries.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(id);
    }
  }
}
