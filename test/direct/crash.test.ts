/**
 * The process of a direct-mode request dies mid-request (kill -9): its budget stays reserved and
 * it has no audit record — until the sweep (docs/language.md §4.9): the reservation
 * is released, the request gets one audit record, `interrupted`, and nothing is charged.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ledgerName } from '../../activities/governance.js';
import { createDirectRunner } from '../../frontdoor/direct.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { PlanRegistry } from '../../worker/registry.js';
import { catalog, freshKey, KEY_ENV } from '../governance/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { PROJECT_ROOT, tempStoreUrl, uniqueName, writePolicies } from '../support/temporal.js';

const POLICY = `
import "catalog.policy"

policy direct {
  budget b per team {
    limit $1 per day
    on-exceed reject
  }
  route slow when tag.case == "slow" { use small max-tokens 200 }
  otherwise reject "no route for this case"
}
`;
const TSX_LOADER = pathToFileURL(path.join(PROJECT_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

let server: ProviderServer;
let store: Store;
let dir: string;
const storeUrl = tempStoreUrl('switchyard-crash-');

beforeAll(async () => {
  process.env[KEY_ENV] = freshKey();
  server = await startProviderServer();
  dir = writePolicies({
    'catalog.policy': catalog(server.url, uniqueName('crash')),
    'direct.policy': POLICY,
  });
  store = await openStore(storeUrl);
});

afterAll(async () => {
  await store?.close();
  await server?.close();
});

it(
  'a request whose process was killed is released and audited as interrupted by the sweep, once',
  { timeout: 60_000 },
  async () => {
    const id = uniqueName('crash');
    server.faults.add({ model: 'small', tokenDelayMs: 150, times: 1 });
    const child = spawn(
      process.execPath,
      ['--import', TSX_LOADER, path.join(import.meta.dirname, 'crash-child.ts'), storeUrl, dir, id],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        output += d;
        if (output.includes('streaming')) resolve();
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.once('exit', () => reject(new Error(`the child exited before streaming: ${output}`)));
    });
    child.kill('SIGKILL');
    await exited;
    expect(output).not.toContain('finished');

    const budget = ledgerName('direct', 'b');
    const held = await store.usage(budget, 'crash', 'day');
    expect(held.reservedNanos).toBeGreaterThan(0);
    expect(held.spentNanos).toBe(0);
    expect(await store.getAudit(id)).toBeNull();

    // A sweep before the request's expiry leaves it alone (it might still be running elsewhere).
    const registry = await PlanRegistry.load(dir);
    const early = createDirectRunner({ plans: registry, store, sweepEveryMs: 0, log: () => undefined });
    await early.sweep();
    expect(await store.getAudit(id)).toBeNull();

    // Past its expiry (a clock two hours ahead), the sweep releases and records it.
    const lines: string[] = [];
    const later = createDirectRunner({
      plans: registry,
      store,
      sweepEveryMs: 0,
      clock: () => Date.now() + 2 * 3_600_000,
      log: (line) => lines.push(line),
    });
    await later.sweep();
    const record = await store.getAudit(id);
    expect(record).toMatchObject({
      id,
      status: 'interrupted',
      policy: 'direct',
      route: 'slow',
      costNanos: 0,
    });
    expect(lines.join('\n')).toContain(id);
    const after = await store.usage(budget, 'crash', 'day');
    expect(after.reservedNanos).toBe(0);
    expect(after.spentNanos).toBe(0);

    // Swept once: a second sweep writes nothing more.
    const before = (await store.queryAudit({ limit: 1000 })).length;
    await later.sweep();
    expect((await store.queryAudit({ limit: 1000 })).length).toBe(before);
  },
);
