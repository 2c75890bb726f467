/**
 * SQLite's group commit (store/sqlite.ts): writes asked for in one turn of the event loop share one
 * COMMIT, each in its own savepoint — one that fails rolls back alone and rejects alone, the others
 * are committed; a write is answered only once it is committed (a second connection sees it); and
 * concurrent ledger writes through the store still charge exactly once each.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../store/index.js';
import { run, type Driver } from '../../store/sql.js';
import type { Store } from '../../store/types.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
let dir: string;
let store: Store | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<{ store: Store; driver: Driver; file: string }> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-group-commit-'));
  const file = path.join(dir, 'state.db');
  store = await openStore(`sqlite:${file}`);
  return { store, driver: (store as unknown as { driver: Driver }).driver, file };
}

const lockRow = (name: string) =>
  run('INSERT INTO scope_locks (kind, name, scope_value) VALUES (?, ?, ?)', ['test', name, '']);

describe('SQLite group commit', () => {
  it('a write that fails in a batch rolls back alone; the others are committed before they answer', async () => {
    const { driver, file } = await open();
    const other = new Database(file, { readonly: true });
    try {
      const seen = () =>
        (
          other.prepare("SELECT name FROM scope_locks WHERE kind = 'test' ORDER BY name").all() as {
            name: string;
          }[]
        ).map((r) => r.name);
      // Asked for in one turn: one batch.
      const a = driver.transaction(function* () {
        yield* lockRow('a');
        return 'a';
      }, 'write');
      const b = driver.transaction(function* () {
        yield* lockRow('b');
        throw new Error('b changed its mind');
      }, 'write');
      const duplicate = driver.transaction(function* () {
        yield* lockRow('c');
        yield* lockRow('c'); // a constraint violation: SQLite's own error
        return 'never';
      }, 'write');
      const d = driver.transaction(function* () {
        yield* lockRow('d');
        return 'd';
      }, 'write');
      // Nothing is committed before the end of this turn.
      expect(seen()).toEqual([]);
      const [ra, rb, rc, rd] = await Promise.allSettled([a, b, duplicate, d]);
      expect(ra).toEqual({ status: 'fulfilled', value: 'a' });
      expect(rb).toMatchObject({ status: 'rejected', reason: { message: 'b changed its mind' } });
      expect(rc).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' } });
      expect(rd).toEqual({ status: 'fulfilled', value: 'd' });
      expect(seen()).toEqual(['a', 'd']);
    } finally {
      other.close();
    }
  });

  it('closing the store commits the writes still waiting', async () => {
    const { store: s, driver, file } = await open();
    const write = driver.transaction(() => lockRow('late'), 'write');
    await s.close();
    store = undefined;
    await expect(write).resolves.toBe(1);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM scope_locks WHERE name = 'late'").get()).toEqual({ n: 1 });
    db.close();
  });

  it('200 concurrent reservations against one budget: exactly the limit is reserved, each commit charges once', async () => {
    const { store: s } = await open();
    const limits = {
      'p/monthly': { limits: [{ kind: 'money' as const, amount: 100, window: 'month' as const }] },
    };
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        s.reserve([{ key: `k${i}`, budget: 'p/monthly', scopeValue: 't', nanos: 1, tokens: 0 }], limits, NOW),
      ),
    );
    const reserved = outcomes.map((o, i) => (o.ok ? i : -1)).filter((i) => i >= 0);
    expect(reserved).toHaveLength(100);
    // Each commit twice, concurrently: charged once.
    await Promise.all(reserved.flatMap((i) => [s.commit(`k${i}`, 1, 0, NOW), s.commit(`k${i}`, 1, 0, NOW)]));
    const usage = await s.usage('p/monthly', 't', 'month', NOW);
    expect(usage.spentNanos).toBe(100);
    expect(usage.reservedNanos).toBe(0);
  });
});
