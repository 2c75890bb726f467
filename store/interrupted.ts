/**
 * Direct-mode requests in flight, and the sweep that ends those whose front door stopped
 * (docs/language.md §4.9, docs/store.md "Interrupted requests"): every request that
 * reserved budget ends in exactly one audit record, and nothing is charged twice.
 *
 * `trackRequest` writes a row when the request starts; its audit record deletes the row in the
 * same transaction (audit.ts `appendTx`). A row past its `expires_ms` belongs to a front door that
 * died: `sweepOneTx` locks it, releases the request's reservations still held, appends the
 * `interrupted` record and deletes the row, all in one transaction. A second sweeper waits on the
 * row lock (PostgreSQL) or the write lock (SQLite) and then finds the row gone. Locks are taken in
 * the order row → reservations → audit head, the same order as an append (row → head).
 */
import { formatDollars } from '../plan/money.js';
import { appendTx } from './audit.js';
import { releaseTx } from './ledger.js';
import { all, decodeScope, get, getForUpdate, num, run, type Tx } from './sql.js';
import type { AuditInput, JsonValue, TrackedRequest } from './types.js';

export const INTERRUPTED_REASON = 'the front door stopped before the request finished';

interface TrackedRow {
  request_id: string;
  policy: string;
  plan_hash: string;
  route: string | null;
  team: string | null;
  app: string | null;
  user_name: string | null;
  capability: string | null;
  started_ms: unknown;
  expires_ms: unknown;
  retain_days: unknown;
}

const COLUMNS =
  'request_id, policy, plan_hash, route, team, app, user_name, capability, started_ms, expires_ms, retain_days';

export function validateTracked(r: TrackedRequest): void {
  if (typeof r?.requestId !== 'string' || r.requestId === '')
    throw new TypeError('trackRequest: requestId is required');
  if (typeof r.policy !== 'string' || r.policy === '')
    throw new TypeError('trackRequest: policy is required');
  if (typeof r.planHash !== 'string' || r.planHash === '')
    throw new TypeError('trackRequest: planHash is required');
  for (const name of ['startedAt', 'expiresAt'] as const) {
    if (!Number.isSafeInteger(r[name])) throw new TypeError(`trackRequest: ${name} is not a time (epoch ms)`);
  }
  const days = r.retainDays;
  if (days !== undefined && days !== null && !(Number.isFinite(days) && days > 0))
    throw new TypeError(`trackRequest: retainDays ${String(days)} is not a positive number of days`);
}

export function* trackTx(r: TrackedRequest): Tx<void> {
  // A request already audited is finished: tracking it again (a retried call) must not revive it.
  if ((yield* get('SELECT seq FROM audit_records WHERE id = ?', [r.requestId])) !== undefined) return;
  yield* run(
    `INSERT INTO inflight_requests (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (request_id) DO UPDATE SET expires_ms = CASE
       WHEN excluded.expires_ms > inflight_requests.expires_ms THEN excluded.expires_ms
       ELSE inflight_requests.expires_ms END`,
    [
      r.requestId,
      r.policy,
      r.planHash,
      r.route ?? null,
      r.team ?? null,
      r.app ?? null,
      r.user ?? null,
      r.capability ?? null,
      r.startedAt,
      r.expiresAt,
      r.retainDays ?? null,
    ],
  );
}

/** Tracked requests past their expiry, in id order after `after` (a page of the sweep). */
export function* dueTx(now: number, after: string, limit: number): Tx<string[]> {
  const rows = yield* all<{ request_id: string }>(
    `SELECT request_id FROM inflight_requests WHERE expires_ms <= ? AND request_id > ?
      ORDER BY request_id LIMIT ${Math.floor(limit)}`,
    [now, after],
  );
  return rows.map((row) => row.request_id);
}

interface ReservationRow {
  reservation_key: string;
  budget: string;
  scope_value: string;
  nanos: unknown;
  tokens: unknown;
  state: string;
  actual_nanos: unknown;
  actual_tokens: unknown;
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export type SweepOne = { kind: 'gone' } | { kind: 'finished' } | { kind: 'interrupted'; released: number };

/**
 * Ends one tracked request if it is still due. `normalise` turns the record into what the audit
 * chain stores (a time, plain JSON, secrets scrubbed), as `appendAudit` does.
 */
export function* sweepOneTx(
  requestId: string,
  now: number,
  normalise: (input: Omit<AuditInput, 'retainDays'>) => Omit<AuditInput, 'retainDays'> & { time: string },
): Tx<SweepOne> {
  const row = yield* getForUpdate<TrackedRow>(
    `SELECT ${COLUMNS} FROM inflight_requests WHERE request_id = ?`,
    [requestId],
  );
  if (row === undefined || num(row.expires_ms) > now) return { kind: 'gone' };
  if ((yield* get('SELECT seq FROM audit_records WHERE id = ?', [requestId])) !== undefined) {
    yield* run('DELETE FROM inflight_requests WHERE request_id = ?', [requestId]);
    return { kind: 'finished' };
  }
  const prefix = `${requestId}#`;
  const rows = (yield* all<ReservationRow>(
    `SELECT reservation_key, budget, scope_value, nanos, tokens, state, actual_nanos, actual_tokens
         FROM ledger_reservations WHERE reservation_key LIKE ? ESCAPE '\\'
        ORDER BY reservation_key, budget`,
    [`${likeEscape(prefix)}%`],
  )).filter((r) => /^\d+$/.test(r.reservation_key.slice(prefix.length)));

  let released = 0;
  for (const key of new Set(rows.filter((r) => r.state === 'reserved').map((r) => r.reservation_key))) {
    const outcome = yield* releaseTx(key, now);
    released += outcome.budgets.filter((b) => b.previous === 'reserved' || b.previous === 'expired').length;
  }
  // What the request did to its budgets: committed attempts stay charged (the money was spent);
  // each attempt's cost counts once, although every budget it reserved against carries it.
  const budgets: JsonValue[] = [];
  const cost = new Map<string, { nanos: number; tokens: number }>();
  for (const r of rows) {
    const committed = r.state === 'committed';
    const attempt = Number(r.reservation_key.slice(prefix.length));
    budgets.push({
      budget: r.budget,
      scopeValue: decodeScope(r.scope_value),
      attempt,
      outcome: committed ? 'committed' : 'released',
      nanos: committed ? num(r.actual_nanos) : num(r.nanos),
      tokens: committed ? num(r.actual_tokens) : num(r.tokens),
    });
    if (committed) cost.set(r.reservation_key, { nanos: num(r.actual_nanos), tokens: num(r.actual_tokens) });
  }
  const costNanos = [...cost.values()].reduce((sum, c) => sum + c.nanos, 0);
  const chargedTokens = [...cost.values()].reduce((sum, c) => sum + c.tokens, 0);
  const record = normalise({
    id: requestId,
    time: new Date(now).toISOString(),
    caller: { team: row.team, app: row.app, user: row.user_name },
    capability: row.capability,
    classification: null,
    mode: null,
    policy: row.policy,
    plan: row.plan_hash,
    route: row.route,
    model: null,
    provider: null,
    status: 'interrupted',
    reason: INTERRUPTED_REASON,
    attempts: [],
    usage: { inputTokens: 0, outputTokens: 0 },
    costNanos,
    cost: formatDollars(costNanos),
    guards: [],
    budgets,
    rateLimits: [],
    prompts: { mode: 'none', messages: [], answer: null },
    extra: {
      startedAt: new Date(num(row.started_ms)).toISOString(),
      expiredAt: new Date(num(row.expires_ms)).toISOString(),
      // Input and output are not known apart once the front door is gone; the ledger knows the sum.
      chargedTokens,
    },
  });
  const retainDays = row.retain_days === null || row.retain_days === undefined ? null : num(row.retain_days);
  // Deletes the tracked row too.
  yield* appendTx(record, retainDays);
  return { kind: 'interrupted', released };
}
