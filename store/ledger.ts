/**
 * The budget ledger (docs/architecture.md, decision 5) as transactions over the shared SQL
 * (sql.ts).
 *
 * - A reservation belongs to the windows that contain the instant it was made (`created_ms`); its
 *   commit charges the actual cost to those same windows, even if the commit comes after the
 *   window ended. So a window's total is decided by what was admitted in it.
 * - *Reserved* in a window = the live reservations (state `reserved`, `expires_ms` > now) made in
 *   it; *spent* = the committed costs charged to it. A reservation exceeds when
 *   spent + reserved + it > limit (docs/language.md §4.2).
 * - Reservations on one (budget, scope value) are serialised (sql.ts `lock`), and each operation
 *   is one transaction: concurrent reservations can never together pass a limit. Commits and
 *   releases lock the reservation rows they settle (see `lockedRows`).
 * - Expiry: a reservation not settled by `expires_ms` stops counting as reserved (it is reported
 *   as `expired`). Committing it later still charges the actual cost (the money was spent);
 *   releasing it changes no counter. `prune` deletes long-dead ones.
 */
import {
  all,
  allForUpdate,
  decodeScope,
  encodeScope,
  get,
  lock,
  num,
  run,
  type Param,
  type Tx,
} from './sql.js';
import {
  LEDGER_WINDOWS,
  type BudgetDefinition,
  type BudgetLimits,
  type LedgerReservation,
  type LedgerWindow,
  type ReservationState,
  type ReserveOutcome,
  type SettleOutcome,
  type WindowUsage,
} from './types.js';
import { windowEnd, windowStart } from './windows.js';

const BUDGET_LOCK = 'budget';

export function checkAmount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

export function validateReservations(reservations: readonly LedgerReservation[]): void {
  const key = reservations[0]?.key;
  const budgets = new Set<string>();
  for (const r of reservations) {
    if (typeof r.key !== 'string' || r.key === '') throw new TypeError('reserve: a reservation has no key');
    if (r.key !== key) {
      throw new TypeError(`reserve: one call reserves one attempt; got keys ${key} and ${r.key}`);
    }
    if (budgets.has(r.budget)) throw new TypeError(`reserve: budget ${r.budget} appears twice`);
    budgets.add(r.budget);
    checkAmount(`reservation ${r.key} ${r.budget} nanos`, r.nanos);
    checkAmount(`reservation ${r.key} ${r.budget} tokens`, r.tokens);
  }
}

const USAGE_SQL = `
SELECT 'spent' AS kind, spent_nanos AS nanos, spent_tokens AS tokens
  FROM ledger_spent
 WHERE budget = ? AND scope_value = ? AND win = ? AND window_start = ?
UNION ALL
SELECT 'reserved' AS kind, CAST(COALESCE(SUM(nanos), 0) AS BIGINT) AS nanos,
       CAST(COALESCE(SUM(tokens), 0) AS BIGINT) AS tokens
  FROM ledger_reservations
 WHERE budget = ? AND scope_value = ? AND state = 'reserved' AND expires_ms > ?
   AND created_ms >= ? AND created_ms < ?`;

export function* windowUsage(
  budget: string,
  scope: string,
  window: LedgerWindow,
  now: number,
): Tx<WindowUsage> {
  const start = windowStart(window, now);
  const end = windowEnd(window, now);
  const rows = yield* all<{ kind: string; nanos: unknown; tokens: unknown }>(USAGE_SQL, [
    budget,
    scope,
    window,
    start,
    budget,
    scope,
    now,
    start,
    end,
  ]);
  const usage: WindowUsage = {
    window,
    windowStart: start,
    windowEnd: end,
    spentNanos: 0,
    reservedNanos: 0,
    spentTokens: 0,
    reservedTokens: 0,
  };
  for (const row of rows) {
    if (row.kind === 'spent') {
      usage.spentNanos = num(row.nanos);
      usage.spentTokens = num(row.tokens);
    } else {
      usage.reservedNanos = num(row.nanos);
      usage.reservedTokens = num(row.tokens);
    }
  }
  return usage;
}

export function* reserveTx(
  reservations: readonly LedgerReservation[],
  limits: Record<string, BudgetLimits>,
  now: number,
  ttlMs: number,
): Tx<ReserveOutcome> {
  const first = reservations[0];
  if (first === undefined) return { ok: true, key: '', expiresAt: now + ttlMs, replayed: false };
  const key = first.key;
  yield* lock(
    BUDGET_LOCK,
    reservations.map((r) => [r.budget, encodeScope(r.scopeValue)]),
  );

  const existing = yield* get<{ expires_ms: unknown }>(
    'SELECT expires_ms FROM ledger_reservations WHERE reservation_key = ? LIMIT 1',
    [key],
  );
  if (existing !== undefined) return { ok: true, key, expiresAt: num(existing.expires_ms), replayed: true };

  for (const r of reservations) {
    const spec = limits[r.budget];
    if (spec === undefined) throw new TypeError(`reserve: no limits given for budget ${r.budget}`);
    if (spec.enforce === false) continue;
    for (const limit of spec.limits) {
      const usage = yield* windowUsage(r.budget, encodeScope(r.scopeValue), limit.window, now);
      const used =
        limit.kind === 'money'
          ? usage.spentNanos + usage.reservedNanos + r.nanos
          : usage.spentTokens + usage.reservedTokens + r.tokens;
      if (used > limit.amount) {
        return {
          ok: false,
          budget: r.budget,
          scopeValue: r.scopeValue,
          limit,
          usage,
          nanos: r.nanos,
          tokens: r.tokens,
        };
      }
    }
  }

  const expiresAt = now + ttlMs;
  for (const r of reservations) {
    yield* run(
      `INSERT INTO ledger_reservations
         (reservation_key, budget, scope_value, nanos, tokens, created_ms, expires_ms, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved')`,
      [key, r.budget, encodeScope(r.scopeValue), r.nanos, r.tokens, now, expiresAt],
    );
  }
  return { ok: true, key, expiresAt, replayed: false };
}

interface ReservationRow {
  budget: string;
  scope_value: string;
  state: ReservationState;
  created_ms: unknown;
  expires_ms: unknown;
  actual_nanos: unknown;
  actual_tokens: unknown;
}

/**
 * The reservations of `key`, locked until the transaction ends (PostgreSQL: row locks, so a
 * duplicate commit or release waits and then sees this one's result; SQLite: the write lock).
 * Settling needs no scope lock: a reservation's usage read is one statement (one snapshot), and a
 * commit moves cost from reserved to spent atomically, so a concurrent reservation sees either side.
 */
function* lockedRows(key: string): Tx<ReservationRow[]> {
  return yield* allForUpdate<ReservationRow>(
    `SELECT budget, scope_value, state, created_ms, expires_ms, actual_nanos, actual_tokens
       FROM ledger_reservations WHERE reservation_key = ? ORDER BY budget`,
    [key],
  );
}

/** The stored state, with a lapsed live reservation reported as `expired`. */
function stateOf(row: ReservationRow, now: number): ReservationState {
  return row.state === 'reserved' && num(row.expires_ms) <= now ? 'expired' : row.state;
}

/** Adds a cost to every window kind's counter for the windows containing `at`. */
function* charge(budget: string, scope: string, at: number, nanos: number, tokens: number): Tx<void> {
  const values: string[] = [];
  const params: Param[] = [];
  for (const window of LEDGER_WINDOWS) {
    values.push('(?, ?, ?, ?, ?, ?)');
    params.push(budget, scope, window, windowStart(window, at), nanos, tokens);
  }
  yield* run(
    `INSERT INTO ledger_spent (budget, scope_value, win, window_start, spent_nanos, spent_tokens)
     VALUES ${values.join(', ')}
     ON CONFLICT (budget, scope_value, win, window_start) DO UPDATE SET
       spent_nanos = ledger_spent.spent_nanos + excluded.spent_nanos,
       spent_tokens = ledger_spent.spent_tokens + excluded.spent_tokens`,
    params,
  );
}

export function* commitTx(key: string, nanos: number, tokens: number, now: number): Tx<SettleOutcome> {
  const rows = yield* lockedRows(key);
  if (rows.length === 0) return { key, found: false, budgets: [] };
  const budgets: SettleOutcome['budgets'] = [];
  for (const row of rows) {
    const scopeValue = decodeScope(row.scope_value);
    const previous = stateOf(row, now);
    if (previous === 'committed') {
      budgets.push({
        budget: row.budget,
        scopeValue,
        previous,
        state: 'committed',
        charged: false,
        chargedNanos: num(row.actual_nanos),
        chargedTokens: num(row.actual_tokens),
      });
      continue;
    }
    const changed = yield* run(
      `UPDATE ledger_reservations SET state = 'committed', actual_nanos = ?, actual_tokens = ?, settled_ms = ?
        WHERE reservation_key = ? AND budget = ? AND state <> 'committed'`,
      [nanos, tokens, now, key, row.budget],
    );
    if (changed !== 1) throw new Error(`commit ${key}: reservation ${row.budget} changed while locked`);
    yield* charge(row.budget, row.scope_value, num(row.created_ms), nanos, tokens);
    budgets.push({
      budget: row.budget,
      scopeValue,
      previous,
      state: 'committed',
      charged: true,
      chargedNanos: nanos,
      chargedTokens: tokens,
    });
  }
  return { key, found: true, budgets };
}

export function* releaseTx(key: string, now: number): Tx<SettleOutcome> {
  const rows = yield* lockedRows(key);
  if (rows.length === 0) return { key, found: false, budgets: [] };
  const budgets: SettleOutcome['budgets'] = [];
  for (const row of rows) {
    const scopeValue = decodeScope(row.scope_value);
    const previous = stateOf(row, now);
    const committed = previous === 'committed';
    if (row.state === 'reserved') {
      yield* run(
        `UPDATE ledger_reservations SET state = 'released', settled_ms = ?
          WHERE reservation_key = ? AND budget = ? AND state = 'reserved'`,
        [now, key, row.budget],
      );
    }
    budgets.push({
      budget: row.budget,
      scopeValue,
      previous,
      state: committed ? 'committed' : 'released',
      charged: false,
      chargedNanos: committed ? num(row.actual_nanos) : 0,
      chargedTokens: committed ? num(row.actual_tokens) : 0,
    });
  }
  return { key, found: true, budgets };
}

export function* usageManyTx(
  queries: readonly { budget: string; scopeValue: string | null; windows: LedgerWindow[] }[],
  now: number,
): Tx<WindowUsage[][]> {
  const out: WindowUsage[][] = [];
  for (const q of queries) {
    const usages: WindowUsage[] = [];
    for (const window of q.windows) {
      usages.push(yield* windowUsage(q.budget, encodeScope(q.scopeValue), window, now));
    }
    out.push(usages);
  }
  return out;
}

export function* budgetScopesTx(): Tx<{ budget: string; scopeValue: string | null }[]> {
  const rows = yield* all<{ name: string; scope_value: string }>(
    'SELECT name, scope_value FROM scope_locks WHERE kind = ? ORDER BY name, scope_value',
    [BUDGET_LOCK],
  );
  return rows.map((row) => ({ budget: row.name, scopeValue: decodeScope(row.scope_value) }));
}

export function* recordBudgetsTx(
  definitions: readonly Omit<BudgetDefinition, 'updatedAt'>[],
  now: number,
): Tx<void> {
  for (const d of definitions) {
    yield* run(
      `INSERT INTO budget_definitions (budget, policy, name, scope, limits, on_exceed, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (budget) DO UPDATE SET policy = excluded.policy, name = excluded.name,
         scope = excluded.scope, limits = excluded.limits, on_exceed = excluded.on_exceed,
         updated_ms = excluded.updated_ms`,
      [d.budget, d.policy, d.name, d.scope, JSON.stringify(d.limits), d.onExceed, now],
    );
  }
}

export function* budgetDefinitionsTx(): Tx<BudgetDefinition[]> {
  const rows = yield* all<{
    budget: string;
    policy: string;
    name: string;
    scope: string;
    limits: string;
    on_exceed: string;
    updated_ms: unknown;
  }>(
    'SELECT budget, policy, name, scope, limits, on_exceed, updated_ms FROM budget_definitions ORDER BY budget',
  );
  return rows.map((row) => ({
    budget: row.budget,
    policy: row.policy,
    name: row.name,
    scope: row.scope,
    limits: JSON.parse(row.limits) as BudgetDefinition['limits'],
    onExceed: row.on_exceed,
    updatedAt: num(row.updated_ms),
  }));
}

export function* pruneTx(before: number): Tx<{ reservations: number; admissions: number }> {
  const reservations = yield* run(
    `DELETE FROM ledger_reservations
      WHERE (state <> 'reserved' AND settled_ms < ?) OR (state = 'reserved' AND expires_ms < ?)`,
    [before, before],
  );
  const admissions = yield* run('DELETE FROM rate_admissions WHERE created_ms < ?', [before]);
  return { reservations, admissions };
}
