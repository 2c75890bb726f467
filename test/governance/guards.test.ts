/**
 * Guards, data rules, the audit trail, search attributes and secrets, through the real request
 * workflow (real Temporal, workers in this process, a SQLite store, the provider test server).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { audit } from '../../cli/commands/audit.js';
import type { InferenceResult } from '../../plan/index.js';
import {
  startProviderServer,
  type ProviderServer,
  type RecordedRequest,
} from '../support/provider-server.js';
import {
  fetchHistories,
  spawnCli,
  startStack,
  tempStoreUrl,
  uniqueName,
  writePolicies,
  type Stack,
} from '../support/temporal.js';
import { ANSWER_SCHEMA, catalog, freshKey, GUARD_POLICY, govRequest, KEY_ENV } from './fixtures.js';

let server: ProviderServer;
let stack: Stack;
let storeUrl: string;
const key = freshKey();
const logs: string[] = [];
const ids: string[] = [];

function id(base: string): string {
  const value = uniqueName(base);
  ids.push(value);
  return value;
}

function calls(requestId: string): RecordedRequest[] {
  return server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(requestId));
}

async function infer(requestId: string, team: string, extra: object): Promise<InferenceResult> {
  return stack.client.infer(govRequest(requestId, 'guarded', team, extra));
}

beforeAll(async () => {
  process.env[KEY_ENV] = key;
  server = await startProviderServer();
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('gg')),
    'guarded.policy': GUARD_POLICY,
  });
  fs.mkdirSync(path.join(dir, 'schemas'));
  fs.writeFileSync(path.join(dir, 'schemas', 'answer.json'), ANSWER_SCHEMA);
  storeUrl = tempStoreUrl();
  stack = await startStack({
    dir,
    taskQueue: uniqueName('guards'),
    storeUrl,
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  await stack?.close();
  await server?.close();
  delete process.env[KEY_ENV];
});

describe('guards and data rules', () => {
  it('redaction applies only to what is sent to the targets the guard names', async () => {
    const rid = id('redact');
    // The external model fails once (retryable), so the private fallback is called too.
    server.faults.add({ model: 'big', status: 503, times: 1 });
    const result = await infer(rid, 'redactors', {
      tags: { case: 'redact' },
      messages: [{ role: 'user', content: `Mail jane.doe@example.com about [${rid}]` }],
    });
    server.faults.clear();
    expect(result).toMatchObject({ status: 'served', model: 'small' });
    const [external, internal] = calls(rid);
    expect(external!.model).toBe('big');
    expect(external!.messages![0]!.content).toBe(`Mail [EMAIL] about [${rid}]`);
    expect(internal!.model).toBe('small');
    expect(internal!.messages![0]!.content).toBe(`Mail jane.doe@example.com about [${rid}]`);
    // The audit record keeps prompts `redacted` and lists the redaction.
    const record = await stack.store.getAudit(rid);
    expect(record!.prompts.messages[0]!.content).toBe(`Mail [EMAIL] about [${rid}]`);
    expect(record!.guards).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ phase: 'before', action: 'redact', model: 'big', counts: { email: 1 } }),
      ]),
    );
  });

  it('block: a private key in the input rejects the request before any call, with its message', async () => {
    const rid = id('block');
    const result = await infer(rid, 'blockers', {
      tags: { case: 'redact' },
      messages: [{ role: 'user', content: `-----BEGIN RSA PRIVATE KEY----- [${rid}]` }],
    });
    expect(result).toMatchObject({
      status: 'rejected',
      reason: 'private keys must not be sent to a model',
      attempts: [],
    });
    expect(calls(rid)).toEqual([]);
    expect((await stack.store.getAudit(rid))?.status).toBe('rejected');
  });

  it('a schema-invalid answer is output.invalid, which escalates', async () => {
    const rid = id('json');
    const result = await infer(rid, 'shapers', { tags: { case: 'json' } });
    // The tiny story model never answers JSON: the first answer is invalid, the escalation is tried.
    expect(result.escalation).toMatchObject({ from: 'small', to: 'big', when: 'output.invalid' });
    expect(result.attempts.map((a) => a.model)).toEqual(['small', 'big']);
    expect(calls(rid).map((c) => c.model)).toEqual(['small', 'big']);
    const record = await stack.store.getAudit(rid);
    expect(record!.guards).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          phase: 'after',
          action: 'check',
          guard: 'shape',
          check: 'schema',
          ok: false,
          model: 'small',
        }),
      ]),
    );
  });

  it('confidential requests never reach an external provider', async () => {
    const rid = id('confidential');
    server.faults.add({ model: 'big', status: 503 });
    const result = await infer(rid, 'secret-keepers', {
      tags: { case: 'redact' },
      classification: 'confidential',
    });
    server.faults.clear();
    expect(result).toMatchObject({ status: 'served', model: 'small' });
    expect(result.decision.excluded).toEqual([
      expect.objectContaining({
        model: 'big',
        rule: 'require private when classification >= confidential',
      }),
    ]);
    expect(calls(rid).map((c) => c.model)).toEqual(['small']);
    expect(server.requests.some((r) => r.model === 'big' && JSON.stringify(r.messages).includes(rid))).toBe(
      false,
    );
  });
});

describe('audit trail and search attributes', () => {
  it('every request ends with one audit record: served, rejected, failed and undecided', async () => {
    const team = uniqueName('audited');
    const failed = id('failed');
    server.faults.add({ model: 'big', status: 400, times: 1 });
    const f = await infer(failed, team, { tags: { case: 'fails' } });
    server.faults.clear();
    expect(f.status).toBe('failed');
    const unknown = id('unknown');
    const u = await stack.client.infer(govRequest(unknown, 'no-such-policy', team));
    expect(u.status).toBe('rejected');
    const records = await stack.store.queryAudit({ team });
    expect(records.map((r) => [r.id, r.status])).toEqual([
      [failed, 'failed'],
      [unknown, 'rejected'],
    ]);
    expect(records[0]!.attempts[0]).toMatchObject({ model: 'big', outcome: 'error', status: 400 });
  });

  it('requests are searchable by team, policy, route, model and status', async () => {
    const team = uniqueName('searchable');
    const served = id('search');
    await infer(served, team, { tags: { case: 'json' } });
    const temporal = stack.client.temporal;
    const list = async (query: string) => {
      const out: string[] = [];
      for await (const w of temporal.workflow.list({ query })) out.push(w.workflowId);
      return out;
    };
    let found: string[] = [];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      found = await list(
        `SwitchyardTeam="${team}" AND SwitchyardPolicy="guarded" AND SwitchyardRoute="json" AND SwitchyardStatus="served" AND SwitchyardModel="big"`,
      );
      if (found.length > 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(found).toEqual([served]);
  });

  it('the chain verifies; a modified record makes `switchyard audit verify` exit 1 naming it', async () => {
    const ok = await audit(['verify', '--store', storeUrl]);
    expect(ok.exitCode ?? 0).toBe(0);
    const [second] = (await stack.store.tailAudit(1_000)).filter((r) => r.seq === 2);
    const db = new Database(storeUrl.replace(/^sqlite:/, ''));
    db.pragma('busy_timeout = 10000');
    db.prepare(
      `UPDATE audit_records SET body = replace(body, '"status":"${second!.status}"', '"status":"served-ish"') WHERE seq = 2`,
    ).run();
    db.close();
    const cli = spawnCli(['audit', 'verify', '--store', storeUrl]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toContain(`audit chain broken at record #2 (${second!.id})`);
  });
});

describe('secrets', () => {
  it(
    'an API key never appears in the store, the audit, logs, errors or history',
    { timeout: 30_000 },
    async () => {
      const captured: string[] = [];
      const out = vi
        .spyOn(process.stdout, 'write')
        .mockImplementation((chunk) => (captured.push(String(chunk)), true));
      const err = vi
        .spyOn(process.stderr, 'write')
        .mockImplementation((chunk) => (captured.push(String(chunk)), true));
      const results: InferenceResult[] = [];
      const team = uniqueName('secretive');
      const secretIds: string[] = [];
      try {
        // A provider that echoes the key in its errors, as real ones do.
        server.faults.add({
          model: 'big',
          status: 401,
          message: `Incorrect API key provided: ${key}`,
          times: 1,
        });
        secretIds.push(id('secret-401'));
        results.push(await infer(secretIds.at(-1)!, team, { tags: { case: 'fails' } }));
        server.faults.add({ model: 'big', status: 500, message: `upstream said ${key} is bad`, times: 1 });
        secretIds.push(id('secret-500'));
        results.push(await infer(secretIds.at(-1)!, team, { tags: { case: 'fails' } }));
        secretIds.push(id('secret-ok'));
        results.push(await infer(secretIds.at(-1)!, team, { tags: { case: 'redact' } }));
        server.faults.clear();
      } finally {
        out.mockRestore();
        err.mockRestore();
      }
      expect(results.map((r) => r.status)).toEqual(['failed', 'failed', 'served']);
      // The key did reach the provider (as a header), so the test is real.
      expect(server.requests.some((r) => r.model === 'big')).toBe(true);

      const where: Record<string, string> = {
        results: JSON.stringify(results),
        audit: JSON.stringify(await stack.store.tailAudit(1_000)),
        'worker log': logs.join('\n'),
        'captured output': captured.join(''),
      };
      const file = storeUrl.replace(/^sqlite:/, '');
      for (const suffix of ['', '-wal']) {
        if (fs.existsSync(file + suffix))
          where[`store file${suffix}`] = fs.readFileSync(file + suffix).toString('latin1');
      }
      const histories = await fetchHistories(secretIds);
      where.histories = decodePayloads(histories);
      for (const [place, text] of Object.entries(where)) {
        expect(text.includes(key), `the key appears in the ${place}`).toBe(false);
      }
      expect(results[0]!.attempts[0]!.error).toMatch(/\[redacted\]|\[SECRET\]/);
    },
  );
});

/** Every payload of the histories as text (payload data is base64 in JSON, bytes in memory). */
function decodePayloads(value: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v as Record<string, unknown>).forEach(walk);
    else if (typeof v === 'string') parts.push(v);
  };
  walk(value);
  return parts.join('\n');
}
