/**
 * The audit trail (docs/architecture.md, decision 6): append-only, one record per request,
 * hash-chained.
 *
 * A record's `hash` is `sha256:` + the sha256 of the canonical JSON (canonical.ts) of the record
 * without `seq` and `hash` — so it covers `prevHash`, the previous record's hash (`GENESIS_HASH`
 * for the first). Appends lock the single `audit_head` row and move it in the same transaction, so
 * concurrent appends form one chain without forks. `verify` recomputes every hash in `seq` order,
 * checks each `prevHash` link, that `seq` has no gaps, that the columns queries use agree with the
 * hashed body, and that the head names the last record (so cutting records off the end shows).
 *
 * Retention (`audit { retain N days }`): a record's `expires_ms` is its time + N days (NULL = kept
 * forever), outside the hashed body. Since the chain is one line, only a prefix can go: `prune`
 * deletes the longest prefix whose records are all expired — a record kept forever, or not yet
 * expired, holds back every later one — after checking each link as `verify` does (a broken record
 * is never pruned away; pruning stops there). The head row's `floor_seq` / `floor_hash` name the
 * last record pruned; `verify` starts there, and reports records left at or before it.
 */
import { canonicalJson, sha256 } from './canonical.js';
import { all, get, getForUpdate, num, run, type Param, type Tx } from './sql.js';
import type {
  AuditAppendOutcome,
  AuditInput,
  AuditPruneOutcome,
  AuditQuery,
  AuditRecord,
  AuditReplayQuery,
  AuditReplayRow,
  AuditStatus,
  AuditVerifyOutcome,
} from './types.js';

const DAY_MS = 86_400_000;

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
  routing: string | null;
  input_tokens: unknown;
  route: string | null;
  rule: string | null;
  usage_input: unknown;
  usage_output: unknown;
  cost_nanos: unknown;
}

/** The columns `replay` reads instead of the body (migration 008), in INSERT order. */
const REPLAY_COLUMNS = 'routing, input_tokens, route, rule, usage_input, usage_output, cost_nanos';

const COLUMNS = `seq, id, time_ms, team, app, user_name, policy, model, models, status, body, prev_hash, hash, ${REPLAY_COLUMNS}`;

type ReplayValues = [string, number, string | null, string | null, number, number, number];
const NO_REPLAY_VALUES = [null, null, null, null, null, null, null] as const;

/**
 * The replay columns of a record: its routing facts as canonical JSON without the input-token
 * count, that count, the route, the decision's rejecting rule, usage and cost; all NULL when the
 * record has no routing facts.
 */
function replayValues(body: Record<string, unknown>): ReplayValues | typeof NO_REPLAY_VALUES {
  const routing = body.routing as Record<string, unknown> | undefined | null;
  if (routing === undefined || routing === null || typeof routing !== 'object') return NO_REPLAY_VALUES;
  // The caller (team, app, user: replay takes the caller's columns, which the audit activity fills
  // from the same request) and the count (`input_tokens`) are left out: what is left repeats from
  // request to request, so `replay` reads each distinct text once.
  const { inputTokens, team: _team, app: _app, user: _user, ...rest } = routing;
  if (typeof inputTokens !== 'number') return NO_REPLAY_VALUES;
  const usage = (body.usage ?? {}) as { inputTokens?: unknown; outputTokens?: unknown };
  const extra = (body.extra ?? {}) as { rule?: unknown };
  // And how the prompt was kept: replay reads the body only when it was kept in full.
  const prompts = (body.prompts ?? {}) as { mode?: unknown };
  return [
    canonicalJson({ ...rest, prompts: typeof prompts.mode === 'string' ? prompts.mode : null }),
    Number(inputTokens),
    (body.route ?? null) as string | null,
    typeof extra.rule === 'string' ? extra.rule : null,
    Number(usage.inputTokens ?? 0),
    Number(usage.outputTokens ?? 0),
    Number(body.costNanos ?? 0),
  ];
}

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

/**
 * `body`: the record without `seq`, `hash` and `prevHash`, already normalised and scrubbed.
 * `retainDays`: the policy's retention (`null`: kept forever); sets `expires_ms`, not hashed.
 * `settle`: the request's last ledger writes, run once its in-flight row is gone and before the
 * head is locked (the sweep's lock order: tracked row, reservations, head).
 */
export function* appendTx(
  body: Omit<AuditInput, 'retainDays'> & { time: string },
  retainDays: number | null,
  settle?: () => Tx<void>,
): Tx<AuditAppendOutcome> {
  // The request is finished: it is no longer in flight (interrupted.ts). First, so that locks are
  // taken in the sweep's order (tracked row, then the head).
  yield* run('DELETE FROM inflight_requests WHERE request_id = ?', [body.id]);
  if (settle !== undefined) yield* settle();
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
  const expiresMs = retainDays === null ? null : timeMs + Math.round(retainDays * DAY_MS);
  yield* run(
    `INSERT INTO audit_records (${COLUMNS}, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
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
      ...replayValues(hashed as unknown as Record<string, unknown>),
      expiresMs,
    ],
  );
  yield* run('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [seq, hash]);
  return { record: { ...hashed, seq, hash }, replayed: false };
}

const PAGE = 1000;

function nullableNum(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

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
  let replay: readonly unknown[];
  try {
    replay = replayValues(body);
  } catch {
    return 'its routing facts cannot be read';
  }
  const names = REPLAY_COLUMNS.split(', ');
  const stored = [
    row.routing ?? null,
    nullableNum(row.input_tokens),
    row.route ?? null,
    row.rule ?? null,
    nullableNum(row.usage_input),
    nullableNum(row.usage_output),
    nullableNum(row.cost_nanos),
  ];
  // Records written before migration 008 have no routing facts and NULL in every replay column.
  for (let i = 0; i < names.length; i++) columns.push([names[i]!, stored[i], replay[i]]);
  for (const [name, column, hashedValue] of columns) {
    if (column !== hashedValue)
      return `its ${name} column (${String(column)}) differs from the hashed record`;
  }
  return null;
}

interface HeadRow {
  seq: unknown;
  hash: string;
  floor_seq: unknown;
  floor_hash: string;
}

const HEAD = 'SELECT seq, hash, floor_seq, floor_hash FROM audit_head WHERE id = 1';

export function* verifyTx(): Tx<AuditVerifyOutcome> {
  const head = yield* get<HeadRow>(HEAD);
  if (head === undefined) {
    return {
      ok: false,
      count: 0,
      pruned: 0,
      broken: { seq: 0, id: null, reason: 'the chain head row is missing' },
    };
  }
  const floor = num(head.floor_seq);
  const pruned = floor;
  // Records at or before the floor should have been deleted with it: one left behind is outside the
  // verified chain, so it is reported rather than trusted.
  const stale = yield* get<RecordRow>(
    `SELECT ${COLUMNS} FROM audit_records WHERE seq <= ? ORDER BY seq LIMIT 1`,
    [floor],
  );
  if (stale !== undefined) {
    return {
      ok: false,
      count: 0,
      pruned,
      broken: {
        ...describe(stale),
        reason: `it is at or before the chain's floor (#${floor}, the last record pruned) but is still there`,
      },
    };
  }
  let prev = head.floor_hash;
  let count = 0;
  for (;;) {
    const rows = yield* all<RecordRow>(
      `SELECT ${COLUMNS} FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`,
      [floor + count],
    );
    for (const row of rows) {
      const reason = check(row, prev, floor + count + 1);
      if (reason !== null) return { ok: false, count, pruned, broken: { ...describe(row), reason } };
      prev = row.hash;
      count += 1;
    }
    if (rows.length < PAGE) break;
  }
  const last = floor + count;
  if (num(head.seq) !== last || head.hash !== prev) {
    return {
      ok: false,
      count,
      pruned,
      broken: {
        seq: num(head.seq),
        id: null,
        reason: `the chain head names record #${num(head.seq)} (${head.hash}) but the last record is #${last} (${prev}): records were removed from the end`,
      },
    };
  }
  return { ok: true, count, pruned, head: head.hash };
}

/** At most this many records are deleted per transaction by `pruneAuditTx`. */
export const PRUNE_PAGE = 1000;

/**
 * One page of retention: deletes, from the floor on, the records that are expired (`expires_ms` ≤
 * `now`), in seq order, stopping at the first that is not (NULL = kept forever), at the first that
 * does not verify, or after `limit`; moves the floor to the last one deleted. `more`: the page was
 * full, so there may be more to prune.
 */
export function* pruneAuditTx(
  now: number,
  limit: number = PRUNE_PAGE,
): Tx<AuditPruneOutcome & { more: boolean }> {
  const head = yield* getForUpdate<HeadRow>(HEAD);
  if (head === undefined) throw new Error('audit: the chain head row is missing (store not migrated?)');
  const floor = num(head.floor_seq);
  const rows = yield* all<RecordRow & { expires_ms: unknown }>(
    `SELECT ${COLUMNS}, expires_ms FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ${Math.floor(limit)}`,
    [floor],
  );
  let prev = head.floor_hash;
  let last = floor;
  let broken: AuditPruneOutcome['broken'];
  for (const row of rows) {
    if (row.expires_ms === null || row.expires_ms === undefined || num(row.expires_ms) > now) break;
    const reason = check(row, prev, last + 1);
    if (reason !== null) {
      broken = { ...describe(row), reason };
      break;
    }
    prev = row.hash;
    last = num(row.seq);
  }
  const deleted = last - floor;
  if (deleted > 0) {
    yield* run('DELETE FROM audit_records WHERE seq > ? AND seq <= ?', [floor, last]);
    yield* run('UPDATE audit_head SET floor_seq = ?, floor_hash = ? WHERE id = 1', [last, prev]);
  }
  return {
    deleted,
    floorSeq: last,
    more: deleted === rows.length && rows.length === Math.floor(limit),
    ...(broken ? { broken } : {}),
  };
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

/** The statement behind `replayRows`: the replay columns of the matching records, in chain order. */
export function replaySelect(query: AuditReplayQuery): { sql: string; params: Param[] } {
  const where: string[] = [];
  const params: Param[] = [];
  if (query.team !== undefined) {
    where.push('team = ?');
    params.push(query.team);
  }
  if (query.since !== undefined) {
    where.push('time_ms >= ?');
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push('time_ms < ?');
    params.push(query.until);
  }
  // Only the body of a record whose prompt was kept in full (its routing column says so) is read:
  // the others never leave the database.
  const body = query.withBody === true ? `, CASE WHEN routing LIKE '%"prompts":"full"%' THEN body END` : '';
  return {
    sql: `SELECT seq, id, time_ms, policy, model, models, status, team, app, user_name, ${REPLAY_COLUMNS}${body} FROM audit_records ${
      where.length ? `WHERE ${where.join(' AND ')}` : ''
    } ORDER BY seq`,
    params,
  };
}

/** A row of `replaySelect` (as an array, in its column order). */
export function replayRow(row: unknown[]): AuditReplayRow {
  const routing = (row[10] ?? null) as string | null;
  const out: AuditReplayRow = {
    seq: num(row[0]),
    id: row[1] as string,
    timeMs: num(row[2]),
    policy: row[3] as string,
    model: (row[4] ?? null) as string | null,
    models: row[5] as string,
    status: row[6] as AuditStatus,
    team: (row[7] ?? null) as string | null,
    app: (row[8] ?? null) as string | null,
    user: (row[9] ?? null) as string | null,
    routing,
    inputTokens: routing === null ? null : num(row[11]),
    route: (row[12] ?? null) as string | null,
    rule: (row[13] ?? null) as string | null,
    usageInput: routing === null ? null : num(row[14]),
    usageOutput: routing === null ? null : num(row[15]),
    costNanos: routing === null ? null : num(row[16]),
  };
  if (row.length > 17 && row[17] !== null && row[17] !== undefined) out.body = row[17] as string;
  return out;
}
