/**
 * The audit trail (ARCHITECTURE.md decision 6): append-only, one record per request, hash-chained.
 *
 * A record's `hash` is `sha256:` + the sha256 of the canonical JSON (canonical.ts) of the record
 * without `seq` and `hash` — so it covers `prevHash`, the previous record's hash (`GENESIS_HASH`
 * for the first). Appends lock the single `audit_head` row and move it in the same transaction, so
 * concurrent appends form one chain without forks. `verify` recomputes every hash in `seq` order,
 * checks each `prevHash` link, that `seq` has no gaps, that the columns queries use agree with the
 * hashed body, and that the head names the last record (so cutting records off the end shows).
 */
import { GENESIS_HASH, canonicalJson, sha256 } from './canonical.js';
import { all, get, getForUpdate, num, run, type Param, type Tx } from './sql.js';
import type { AuditAppendOutcome, AuditInput, AuditQuery, AuditRecord, AuditVerifyOutcome } from './types.js';

interface RecordRow {
  seq: unknown;
  id: string;
  time_ms: unknown;
  team: string | null;
  app: string | null;
  user_name: string | null;
  policy: string;
  model: string | null;
  models: string;
  status: string;
  body: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS =
  'seq, id, time_ms, team, app, user_name, policy, model, models, status, body, prev_hash, hash';

/** Every model attempted or answering: ` a b ` (a space at each end, for `LIKE '% m %'`). */
function modelsOf(body: AuditInput): string {
  const names = new Set<string>();
  for (const attempt of body.attempts) names.add(attempt.model);
  if (body.model !== null) names.add(body.model);
  return ` ${[...names].join(' ')} `;
}

function toRecord(row: RecordRow): AuditRecord {
  const body = JSON.parse(row.body) as Omit<AuditRecord, 'seq' | 'hash'>;
  return { ...body, seq: num(row.seq), hash: row.hash };
}

/** `body`: the record without `seq`, `hash` and `prevHash`, already normalised and scrubbed. */
export function* appendTx(body: AuditInput & { time: string }): Tx<AuditAppendOutcome> {
  const head = yield* getForUpdate<{ seq: unknown; hash: string }>(
    'SELECT seq, hash FROM audit_head WHERE id = 1',
  );
  if (head === undefined) throw new Error('audit: the chain head row is missing (store not migrated?)');
  const existing = yield* get<RecordRow>(`SELECT ${COLUMNS} FROM audit_records WHERE id = ?`, [body.id]);
  if (existing !== undefined) return { record: toRecord(existing), replayed: true };

  const seq = num(head.seq) + 1;
  const hashed = { ...body, prevHash: head.hash };
  const text = canonicalJson(hashed);
  const hash = sha256(text);
  const timeMs = Date.parse(body.time);
  if (!Number.isFinite(timeMs)) throw new TypeError(`audit: time ${body.time} is not an ISO 8601 time`);
  yield* run(`INSERT INTO audit_records (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    seq,
    body.id,
    timeMs,
    body.caller.team,
    body.caller.app,
    body.caller.user,
    body.policy,
    body.model,
    modelsOf(body),
    body.status,
    text,
    head.hash,
    hash,
  ]);
  yield* run('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [seq, hash]);
  return { record: { ...hashed, seq, hash }, replayed: false };
}

const PAGE = 1000;

function describe(row: RecordRow): { seq: number; id: string } {
  return { seq: num(row.seq), id: row.id };
}

/** Why `row` is not a valid link after a record whose hash is `prev` at `seq - 1`; `null` if it is. */
function check(row: RecordRow, prev: string, expectedSeq: number): string | null {
  const seq = num(row.seq);
  if (seq !== expectedSeq) {
    return seq - expectedSeq === 1
      ? `record #${expectedSeq} is missing before it`
      : `records #${expectedSeq}–#${seq - 1} are missing before it`;
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(row.body) as Record<string, unknown>;
  } catch {
    return 'its body is not valid JSON';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'its body is not an object';
  if (body.prevHash !== row.prev_hash) return 'its prevHash column differs from the hashed record';
  if (row.prev_hash !== prev)
    return `its prevHash ${row.prev_hash} is not the previous record's hash ${prev}`;
  let computed: string;
  try {
    computed = sha256(canonicalJson(body));
  } catch (error) {
    return `its body cannot be hashed: ${(error as Error).message}`;
  }
  if (computed !== row.hash) return `its content was modified (hash ${row.hash}, recomputed ${computed})`;
  return columnMismatch(row, body);
}

/** A column that queries use and that differs from the hashed body; `null` when all agree. */
function columnMismatch(row: RecordRow, body: Record<string, unknown>): string | null {
  let columns: [string, unknown, unknown][];
  try {
    const caller = (body.caller ?? {}) as Record<string, unknown>;
    columns = [
      ['id', row.id, body.id],
      ['time', num(row.time_ms), Date.parse(String(body.time))],
      ['team', row.team, caller.team ?? null],
      ['app', row.app, caller.app ?? null],
      ['user', row.user_name, caller.user ?? null],
      ['policy', row.policy, body.policy],
      ['model', row.model, body.model ?? null],
      ['status', row.status, body.status],
      ['models', row.models, modelsOf(body as unknown as AuditInput)],
    ];
  } catch {
    return 'its body is not an audit record';
  }
  for (const [name, column, hashedValue] of columns) {
    if (column !== hashedValue)
      return `its ${name} column (${String(column)}) differs from the hashed record`;
  }
  return null;
}

export function* verifyTx(): Tx<AuditVerifyOutcome> {
  const head = yield* get<{ seq: unknown; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1');
  if (head === undefined) {
    return { ok: false, count: 0, broken: { seq: 0, id: null, reason: 'the chain head row is missing' } };
  }
  let prev = GENESIS_HASH;
  let count = 0;
  let after = 0;
  for (;;) {
    const rows = yield* all<RecordRow>(
      `SELECT ${COLUMNS} FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`,
      [after],
    );
    for (const row of rows) {
      const reason = check(row, prev, count + 1);
      if (reason !== null) return { ok: false, count, broken: { ...describe(row), reason } };
      prev = row.hash;
      count += 1;
    }
    if (rows.length < PAGE) break;
    after = count;
  }
  if (num(head.seq) !== count || head.hash !== prev) {
    return {
      ok: false,
      count,
      broken: {
        seq: num(head.seq),
        id: null,
        reason: `the chain head names record #${num(head.seq)} (${head.hash}) but the last record is #${count} (${prev}): records were removed from the end`,
      },
    };
  }
  return { ok: true, count, head: head.hash };
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function* queryTx(query: AuditQuery): Tx<AuditRecord[]> {
  const where: string[] = [];
  const params: Param[] = [];
  const eq = (column: string, value: string | undefined): void => {
    if (value === undefined) return;
    where.push(`${column} = ?`);
    params.push(value);
  };
  eq('team', query.team);
  eq('app', query.app);
  eq('user_name', query.user);
  eq('policy', query.policy);
  eq('status', query.status);
  if (query.model !== undefined) {
    where.push("models LIKE ? ESCAPE '\\'");
    params.push(`% ${likeEscape(query.model)} %`);
  }
  if (query.since !== undefined) {
    where.push('time_ms >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('time_ms < ?');
    params.push(query.until);
  }
  const limit = Math.max(1, Math.min(query.limit ?? 100, 100_000));
  const rows = yield* all<RecordRow>(
    `SELECT ${COLUMNS} FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq DESC LIMIT ${Math.floor(limit)}`,
    params,
  );
  return rows.reverse().map(toRecord);
}

export function* tailTx(n: number): Tx<AuditRecord[]> {
  const rows = yield* all<RecordRow>(
    `SELECT ${COLUMNS} FROM audit_records ORDER BY seq DESC LIMIT ${Math.max(0, Math.floor(n))}`,
  );
  return rows.reverse().map(toRecord);
}

export function* getTx(id: string): Tx<AuditRecord | null> {
  const row = yield* get<RecordRow>(`SELECT ${COLUMNS} FROM audit_records WHERE id = ?`, [id]);
  return row === undefined ? null : toRecord(row);
}
