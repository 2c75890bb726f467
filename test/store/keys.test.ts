/**
 * API keys in the store (docs/store.md "API keys"), on SQLite and PostgreSQL: only a hash is kept,
 * verification refuses revoked and expired keys at once, rotation keeps the key's lifetime, and
 * `keysVersion` moves with every change so a front door's cache notices.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { openStore, StoreError } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { backends, freshStore, PROJECT_ROOT, sqliteBackend, type Backend } from './backends.js';

/** tsx's loader by URL, as test/support/temporal.ts spawns the CLI. */
const TSX_LOADER = pathToFileURL(path.join(PROJECT_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

const NOW = Date.UTC(2026, 11, 5, 9, 0, 0);
const DAY = 86_400_000;

const BACKENDS = await backends();

afterAll(async () => {
  for (const backend of BACKENDS) await backend.cleanup();
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))('%s store: API keys', (_name, backend: Backend) => {
  if (backend.broken !== undefined) {
    it('reaches the PostgreSQL server it was given', () => {
      throw new Error(backend.broken);
    });
    return;
  }
  if (backend.unavailable !== null) {
    it.skip(`skipped: ${backend.unavailable}`, () => undefined);
    return;
  }

  const stores: Store[] = [];
  async function open(): Promise<{ url: string; store: Store }> {
    const opened = await freshStore(backend);
    stores.push(opened.store);
    return opened;
  }
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
  });

  it('a created key verifies, names its team, app and policy, and only its sha256 is stored', async () => {
    const { url, store } = await open();
    const { key, record } = await store.createKey(
      { team: 'support', app: 'helpdesk', policy: 'support', expiresAt: NOW + 90 * DAY },
      NOW,
    );
    expect(key).toMatch(/^sy-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$/);
    expect(key.slice(3, 15)).toBe(record.id);
    expect(record).toEqual({
      id: record.id,
      team: 'support',
      app: 'helpdesk',
      policy: 'support',
      admin: false,
      createdAt: NOW,
      expiresAt: NOW + 90 * DAY,
      revokedAt: null,
      status: 'active',
    });
    expect(await store.verifyKey(key, NOW + DAY)).toEqual({ ok: true, record });

    const raw = await backend.raw(url);
    try {
      const rows = await raw.query('SELECT * FROM api_keys');
      expect(rows).toHaveLength(1);
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain(key.slice(16));
      expect(rows[0]!.key_sha256).toBe(createHash('sha256').update(key).digest('hex'));
    } finally {
      await raw.close();
    }
  });

  it('refuses malformed, unknown, altered, revoked and expired keys, each with its reason', async () => {
    const { store } = await open();
    const { key, record } = await store.createKey({ team: 'research', expiresAt: NOW + DAY }, NOW);
    const other = await store.createKey({ team: 'research' }, NOW);
    expect(await store.verifyKey('sk-not-ours', NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(await store.verifyKey(`${key} `, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(await store.verifyKey(`sy-000000000000-${key.slice(16)}`, NOW)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    // The right id with another key's secret: unknown, not a hint that the id exists.
    const altered = `sy-${record.id}-${other.key.slice(16)}`;
    expect(await store.verifyKey(altered, NOW)).toEqual({ ok: false, reason: 'unknown' });
    // Expiry is checked against the clock on every call; the instant of expiry is already expired.
    expect((await store.verifyKey(key, NOW + DAY - 1)).ok).toBe(true);
    expect(await store.verifyKey(key, NOW + DAY)).toEqual({ ok: false, reason: 'expired' });
    expect((await store.verifyKey(other.key, NOW + 1000 * DAY)).ok).toBe(true);
    await store.revokeKey(other.record.id, NOW + 5);
    expect(await store.verifyKey(other.key, NOW + 6)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('every create, revoke and rotate bumps keysVersion; a repeated revoke changes nothing', async () => {
    const { store } = await open();
    const v0 = await store.keysVersion();
    const a = await store.createKey({ team: 'support' }, NOW);
    const v1 = await store.keysVersion();
    expect(v1).toBeGreaterThan(v0);
    const revoked = await store.revokeKey(a.record.id, NOW + 1);
    expect(revoked).toMatchObject({ id: a.record.id, revokedAt: NOW + 1, status: 'revoked' });
    const v2 = await store.keysVersion();
    expect(v2).toBeGreaterThan(v1);
    expect(await store.revokeKey(a.record.id, NOW + 2)).toEqual(revoked);
    expect(await store.keysVersion()).toBe(v2);
    const b = await store.createKey({ team: 'support' }, NOW);
    const v3 = await store.keysVersion();
    await store.rotateKey(b.record.id, NOW + 3);
    expect(await store.keysVersion()).toBeGreaterThan(v3);
  });

  it('rotate: a new key with the same team, app, policy, admin flag and lifetime; the old one is revoked', async () => {
    const { store } = await open();
    const old = await store.createKey(
      { team: 'ops', app: 'console', policy: 'ops', admin: true, expiresAt: NOW + 30 * DAY },
      NOW,
    );
    const later = NOW + 10 * DAY;
    const rotated = await store.rotateKey(old.record.id, later);
    expect(rotated.key).not.toBe(old.key);
    expect(rotated.record).toMatchObject({
      team: 'ops',
      app: 'console',
      policy: 'ops',
      admin: true,
      createdAt: later,
      expiresAt: later + 30 * DAY,
      status: 'active',
    });
    expect(rotated.record.id).not.toBe(old.record.id);
    expect(await store.verifyKey(old.key, later)).toEqual({ ok: false, reason: 'revoked' });
    expect(await store.verifyKey(rotated.key, later)).toEqual({ ok: true, record: rotated.record });

    // A key that never expires is replaced by one that never expires.
    const forever = await store.createKey({ team: 'ops' }, NOW);
    expect((await store.rotateKey(forever.record.id, later)).record.expiresAt).toBeNull();

    // Rotating a revoked key (or the same key twice) is refused: one key, one successor.
    const twice = await store.rotateKey(old.record.id, later).catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(StoreError);
    expect(twice).toMatchObject({ code: 'E-KEY-REVOKED' });
    expect((twice as Error).message).toContain(old.record.id);
  });

  it('list: every key with its status at the time asked; unknown ids are an error with a code', async () => {
    const { store } = await open();
    const a = await store.createKey({ team: 'a', expiresAt: NOW + DAY }, NOW);
    const b = await store.createKey({ team: 'b' }, NOW + 1);
    const c = await store.createKey({ team: 'c' }, NOW + 2);
    await store.revokeKey(c.record.id, NOW + 3);
    const listed = await store.listKeys(NOW + 2 * DAY);
    expect(listed.map((k) => [k.id, k.team, k.status])).toEqual([
      [a.record.id, 'a', 'expired'],
      [b.record.id, 'b', 'active'],
      [c.record.id, 'c', 'revoked'],
    ]);
    for (const call of [() => store.revokeKey('0123456789ab'), () => store.rotateKey('nope')]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'E-KEY-UNKNOWN' });
    }
  });

  it('a key that reaches an audit record (pasted into a prompt, say) is scrubbed to its id', async () => {
    const { store } = await open();
    const { key, record } = await store.createKey({ team: 'support' }, NOW);
    const { record: audited } = await store.appendAudit({
      id: 'leak-1',
      caller: { team: 'support', app: null, user: null },
      capability: 'chat',
      classification: null,
      mode: null,
      policy: 'support',
      plan: 'sha256:plan',
      route: null,
      model: null,
      provider: null,
      status: 'rejected',
      reason: `refused: my key is ${key}.`,
      attempts: [],
      usage: { inputTokens: 0, outputTokens: 0 },
      costNanos: 0,
      cost: '0',
      guards: [],
      budgets: [],
      rateLimits: [],
      prompts: { mode: 'full', messages: [{ role: 'user', content: `use ${key}` }], answer: null },
    });
    expect(audited.reason).toBe(`refused: my key is sy-${record.id}-[SECRET].`);
    expect(JSON.stringify(audited)).not.toContain(key.slice(16));
  });

  it('bad input to createKey is refused before anything is written', async () => {
    const { store } = await open();
    await expect(store.createKey({ team: '' })).rejects.toThrow(/team/);
    await expect(store.createKey({ team: 't', expiresAt: 1.5 })).rejects.toThrow(/expiresAt/);
    expect(await store.listKeys()).toEqual([]);
  });

  it('keys created concurrently from one store all verify and get distinct ids', async () => {
    const { store } = await open();
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.createKey({ team: `t${i % 3}` }, NOW)),
    );
    expect(new Set(created.map((c) => c.record.id)).size).toBe(40);
    const verified = await Promise.all(created.map((c) => store.verifyKey(c.key, NOW)));
    expect(verified.every((v) => v.ok)).toBe(true);
    expect(await store.listKeys(NOW)).toHaveLength(40);
  });
});

describe('switchyard keys (the CLI, as a child process)', () => {
  const cli = (args: string[], store: string) => {
    const out = spawnSync(
      process.execPath,
      ['--import', TSX_LOADER, path.join(PROJECT_ROOT, 'test/support/cli-main.ts'), 'keys', ...args],
      { encoding: 'utf8', env: { ...process.env, SWITCHYARD_STORE: store }, timeout: 60_000 },
    );
    return { stdout: out.stdout.trim(), stderr: out.stderr.trim(), code: out.status };
  };

  it('create prints the key alone and its id; list, rotate and revoke; errors have codes and exit codes', async () => {
    const sqlite = sqliteBackend();
    onTestFinished(() => sqlite.cleanup());
    const url = sqlite.freshUrl();
    const made = cli(
      ['create', '--team', 'support', '--app', 'helpdesk', '--policy', 'support', '--expires', '90d'],
      url,
    );
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^sy-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$/);
    const id = made.stdout.slice(3, 15);
    expect(made.stderr).toContain(`created key ${id}: team support (app helpdesk, policy support), expires `);
    expect(made.stderr).toContain('shown only this once');

    const listed = cli(['list'], url);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['ID', 'TEAM', 'APP', 'POLICY', 'CREATED', 'EXPIRES', 'STATUS']);
    expect(lines[1]!.split(/\s+/)).toEqual([
      id,
      'support',
      'helpdesk',
      'support',
      expect.any(String),
      expect.any(String),
      'active',
    ]);
    // The key itself is never shown again.
    expect(listed.stdout).not.toContain(made.stdout.slice(16));

    const rotated = cli(['rotate', id, '--format', 'json'], url);
    expect(rotated.code).toBe(0);
    const { key, record } = JSON.parse(rotated.stdout) as {
      key: string;
      record: { id: string; team: string };
    };
    expect(record).toMatchObject({ team: 'support', app: 'helpdesk', policy: 'support', status: 'active' });
    expect(key.slice(3, 15)).toBe(record.id);

    const store = await openStore(url);
    try {
      expect(await store.verifyKey(made.stdout)).toEqual({ ok: false, reason: 'revoked' });
      expect((await store.verifyKey(key)).ok).toBe(true);
      expect(cli(['revoke', record.id], url)).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(`revoked key ${record.id}`),
      });
      expect(await store.verifyKey(key)).toEqual({ ok: false, reason: 'revoked' });
    } finally {
      await store.close();
    }

    expect(cli(['revoke', '000000000000'], url)).toMatchObject({
      code: 1,
      stderr:
        "switchyard keys: error E-KEY-UNKNOWN no API key with id 000000000000 (see 'switchyard keys list')",
    });
    expect(cli(['rotate', id], url)).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('E-KEY-REVOKED'),
    });
    expect(cli(['create'], url)).toMatchObject({ code: 2, stderr: expect.stringContaining('needs --team') });
    expect(cli(['create', '--team', 't', '--expires', 'soon'], url).code).toBe(2);
    expect(cli(['revoke'], url).code).toBe(2);
    expect(cli(['list', '--bogus'], url).code).toBe(2);
  }, 120_000);
});
