/** The `Store` interface over a SQL driver (SQLite or PostgreSQL): the logic is shared, see sql.ts. */
import {
  appendTx,
  getTx,
  pruneAuditTx,
  queryTx,
  replayRow,
  replaySelect,
  tailTx,
  verifyTx,
} from './audit.js';
import { asBuffer, blobHash, checkBlobHash, getBlobTx, pruneBlobsTx, putBlobTx } from './blobs.js';
import { dueTx, sweepOneTx, trackTx, validateTracked } from './interrupted.js';
import {
  createKeyTx,
  keysVersionTx,
  listKeysTx,
  revokeKeyTx,
  rotateKeyTx,
  validateNewKey,
  verifyKeyTx,
} from './keys.js';
import {
  budgetDefinitionsTx,
  budgetScopesTx,
  checkAmount,
  commitTx,
  pruneTx,
  recordBudgetsTx,
  releaseTx,
  reserveTx,
  usageManyTx,
  validateReservations,
  windowUsage,
} from './ledger.js';
import { admitTx, rateUsageTx, validateUses } from './rate-limits.js';
import { makeScrubber, scrubbedJson, secretsFromEnv } from './scrub.js';
import { all, encodeScope, num, type Driver } from './sql.js';
import {
  AUDIT_STATUSES,
  DEFAULT_RESERVATION_TTL_MS,
  type AdmitOutcome,
  type AuditAppendOutcome,
  type AuditInput,
  type AuditPruneOutcome,
  type AuditQuery,
  type AuditRecord,
  type AuditReplayQuery,
  type AuditReplayRow,
  type AuditVerifyOutcome,
  type BudgetDefinition,
  type BudgetLimits,
  type CreatedKey,
  type KeyRecord,
  type KeyVerification,
  type LedgerReservation,
  type LedgerSettlement,
  type LedgerWindow,
  type RateLimitSpec,
  type RateUse,
  type RateWindowUsage,
  type ReserveOutcome,
  type SettleOutcome,
  type NewKey,
  type Store,
  type StoreOptions,
  type SweepOutcome,
  type TrackedRequest,
  type WindowUsage,
} from './types.js';

const STATUSES = new Set<string>(AUDIT_STATUSES);
/** Tracked requests looked at per read of the sweep. */
const SWEEP_PAGE = 200;

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  private readonly scrub: (text: string) => string;

  constructor(
    private readonly driver: Driver,
    readonly url: string,
    options: StoreOptions = {},
    extraSecrets: string[] = [],
  ) {
    this.kind = driver.kind;
    this.scrub = makeScrubber([
      ...secretsFromEnv(options.env ?? process.env),
      ...(options.secrets ?? []),
      ...extraSecrets,
    ]);
  }

  async reserve(
    reservations: LedgerReservation[],
    limits: Record<string, BudgetLimits>,
    now: number = Date.now(),
    ttlMs: number = DEFAULT_RESERVATION_TTL_MS,
    track?: TrackedRequest,
  ): Promise<ReserveOutcome> {
    validateReservations(reservations);
    checkAmount('reserve: ttlMs', ttlMs);
    if (track !== undefined) validateTracked(track);
    return this.driver.transaction(function* () {
      if (track !== undefined) yield* trackTx(track);
      return yield* reserveTx(reservations, limits, now, ttlMs);
    }, 'write');
  }

  async commit(
    key: string,
    actualNanos: number,
    actualTokens: number,
    now: number = Date.now(),
  ): Promise<SettleOutcome> {
    checkAmount(`commit ${key}: nanos`, actualNanos);
    checkAmount(`commit ${key}: tokens`, actualTokens);
    return this.driver.transaction(() => commitTx(key, actualNanos, actualTokens, now), 'write');
  }

  async release(key: string, now: number = Date.now()): Promise<SettleOutcome> {
    return this.driver.transaction(() => releaseTx(key, now), 'write');
  }

  async usage(
    budget: string,
    scopeValue: string | null,
    window: LedgerWindow,
    now: number = Date.now(),
  ): Promise<WindowUsage> {
    return this.driver.transaction(() => windowUsage(budget, encodeScope(scopeValue), window, now), 'read');
  }

  async usageMany(
    queries: { budget: string; scopeValue: string | null; windows: LedgerWindow[] }[],
    now: number = Date.now(),
  ): Promise<WindowUsage[][]> {
    return this.driver.transaction(() => usageManyTx(queries, now), 'read');
  }

  async budgetScopes(): Promise<{ budget: string; scopeValue: string | null }[]> {
    return this.driver.transaction(() => budgetScopesTx(), 'read');
  }

  async recordBudgets(
    definitions: Omit<BudgetDefinition, 'updatedAt'>[],
    now: number = Date.now(),
  ): Promise<void> {
    if (definitions.length === 0) return;
    return this.driver.transaction(() => recordBudgetsTx(definitions, now), 'write');
  }

  async budgetDefinitions(): Promise<BudgetDefinition[]> {
    return this.driver.transaction(() => budgetDefinitionsTx(), 'read');
  }

  async admit(
    key: string,
    uses: RateUse[],
    limits: Record<string, RateLimitSpec[]>,
    now: number = Date.now(),
    track?: TrackedRequest,
  ): Promise<AdmitOutcome> {
    if (typeof key !== 'string' || key === '')
      throw new TypeError('admit: a key (the request id) is required');
    validateUses(uses);
    if (track !== undefined) validateTracked(track);
    return this.driver.transaction(function* () {
      if (track !== undefined) yield* trackTx(track);
      return yield* admitTx(key, uses, limits, now);
    }, 'write');
  }

  async rateUsage(
    rateLimit: string,
    scopeValue: string | null,
    window: LedgerWindow,
    now: number = Date.now(),
  ): Promise<RateWindowUsage> {
    return this.driver.transaction(() => rateUsageTx(rateLimit, scopeValue, window, now), 'read');
  }

  async appendAudit(
    input: AuditInput,
    now: number = Date.now(),
    settle: LedgerSettlement[] = [],
  ): Promise<AuditAppendOutcome> {
    const { retainDays = null, ...record } = input ?? ({} as AuditInput);
    if (
      retainDays !== null &&
      !(typeof retainDays === 'number' && Number.isFinite(retainDays) && retainDays > 0)
    )
      throw new TypeError(`appendAudit: retainDays ${String(retainDays)} is not a positive number of days`);
    for (const s of settle) {
      if (s.action !== 'commit') continue;
      checkAmount(`commit ${s.key}: nanos`, s.nanos);
      checkAmount(`commit ${s.key}: tokens`, s.tokens);
    }
    const body = this.normalise(record, now);
    if (settle.length === 0) return this.driver.transaction(() => appendTx(body, retainDays), 'write');
    return this.driver.transaction(function* () {
      const settled: SettleOutcome[] = [];
      // After the request's in-flight row and before the chain head: the sweep's lock order.
      const outcome = yield* appendTx(body, retainDays, function* () {
        for (const s of settle) {
          settled.push(
            s.action === 'commit'
              ? yield* commitTx(s.key, s.nanos, s.tokens, now)
              : yield* releaseTx(s.key, now),
          );
        }
      });
      return { ...outcome, settled };
    }, 'write');
  }

  async verifyAudit(): Promise<AuditVerifyOutcome> {
    return this.driver.transaction(() => verifyTx(), 'read');
  }

  async pruneAudit(now: number = Date.now()): Promise<AuditPruneOutcome> {
    if (!Number.isFinite(now)) throw new TypeError(`pruneAudit: now ${now} is not a time`);
    let deleted = 0;
    // One transaction per page: a large backlog never holds the write lock (and the head row that
    // every append locks) for long.
    for (;;) {
      const page = await this.driver.transaction(() => pruneAuditTx(now), 'write');
      deleted += page.deleted;
      if (page.broken !== undefined) return { deleted, floorSeq: page.floorSeq, broken: page.broken };
      if (!page.more) return { deleted, floorSeq: page.floorSeq };
    }
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.driver.transaction(() => queryTx(query), 'read');
  }

  async tailAudit(n: number): Promise<AuditRecord[]> {
    return this.driver.transaction(() => tailTx(n), 'read');
  }

  async *replayRows(query: AuditReplayQuery, page = 4096): AsyncGenerator<AuditReplayRow[]> {
    const { sql, params } = replaySelect(query);
    for await (const rows of this.driver.stream(sql, params, page)) {
      const out: AuditReplayRow[] = new Array<AuditReplayRow>(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = replayRow(rows[i]!);
      yield out;
    }
  }

  async getAudit(id: string): Promise<AuditRecord | null> {
    return this.driver.transaction(() => getTx(id), 'read');
  }

  async prune(before: number): Promise<{ reservations: number; admissions: number }> {
    return this.driver.transaction(() => pruneTx(before), 'write');
  }

  async createKey(key: NewKey, now: number = Date.now()): Promise<CreatedKey> {
    validateNewKey(key);
    return this.driver.transaction(() => createKeyTx(key, now), 'write');
  }

  async listKeys(now: number = Date.now()): Promise<KeyRecord[]> {
    return this.driver.transaction(() => listKeysTx(now), 'read');
  }

  async revokeKey(id: string, now: number = Date.now()): Promise<KeyRecord> {
    return this.driver.transaction(() => revokeKeyTx(String(id), now), 'write');
  }

  async rotateKey(id: string, now: number = Date.now()): Promise<CreatedKey> {
    return this.driver.transaction(() => rotateKeyTx(String(id), now), 'write');
  }

  async verifyKey(key: string, now: number = Date.now()): Promise<KeyVerification> {
    return this.driver.transaction(() => verifyKeyTx(key, now), 'single');
  }

  async keysVersion(): Promise<number> {
    return this.driver.transaction(() => keysVersionTx(), 'single');
  }

  async putBlob(bytes: Uint8Array, now: number = Date.now()): Promise<string> {
    const buffer = asBuffer(bytes);
    const hash = blobHash(buffer);
    await this.driver.transaction(() => putBlobTx(hash, buffer, now), 'write');
    return hash;
  }

  async getBlob(hash: string): Promise<Uint8Array | undefined> {
    const key = checkBlobHash(hash);
    return this.driver.transaction(() => getBlobTx(key), 'single');
  }

  async pruneBlobs(before: number): Promise<number> {
    if (!Number.isFinite(before)) throw new TypeError(`pruneBlobs: before ${before} is not a time`);
    return this.driver.transaction(() => pruneBlobsTx(before), 'write');
  }

  async trackRequest(request: TrackedRequest): Promise<void> {
    validateTracked(request);
    return this.driver.transaction(() => trackTx(request), 'write');
  }

  async sweepInterrupted(now: number = Date.now()): Promise<SweepOutcome> {
    const outcome: SweepOutcome = { interrupted: [], released: 0, finished: 0 };
    const normalise = (input: Omit<AuditInput, 'retainDays'>) => this.normalise(input, now);
    let after = '';
    for (;;) {
      const due = await this.driver.transaction(() => dueTx(now, after, SWEEP_PAGE), 'read');
      // One transaction per request: a long backlog never holds the audit head for long.
      for (const id of due) {
        const one = await this.driver.transaction(() => sweepOneTx(id, now, normalise), 'write');
        if (one.kind === 'finished') outcome.finished += 1;
        if (one.kind === 'interrupted') {
          outcome.interrupted.push(id);
          outcome.released += one.released;
        }
      }
      if (due.length < SWEEP_PAGE) return outcome;
      after = due[due.length - 1]!;
    }
  }

  async migrations(): Promise<{ version: number; name: string }[]> {
    return this.driver.transaction(function* () {
      const rows = yield* all<{ version: unknown; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      return rows.map((row) => ({ version: num(row.version), name: row.name }));
    }, 'read');
  }

  async close(): Promise<void> {
    return this.driver.close();
  }

  /** Plain JSON (no `undefined`, no class instances), a time, and no secrets. */
  private normalise(
    input: Omit<AuditInput, 'retainDays'>,
    now: number,
  ): Omit<AuditInput, 'retainDays'> & { time: string } {
    if (typeof input?.id !== 'string' || input.id === '')
      throw new TypeError('appendAudit: the record has no id');
    if (!STATUSES.has(input.status))
      throw new TypeError(`appendAudit: status ${String(input.status)} is not ${AUDIT_STATUSES.join('|')}`);
    if (!Array.isArray(input.attempts)) throw new TypeError('appendAudit: attempts must be an array');
    // Deterministic: a retried append of the same request scrubs to the same id.
    const plain = scrubbedJson(input, this.scrub);
    if (plain.time !== undefined && plain.time !== null) return plain as typeof plain & { time: string };
    return { ...plain, time: this.scrub(new Date(now).toISOString()) };
  }
}
