/**
 * A process that runs one direct-mode request and is killed mid-request by crash.test.ts.
 * argv: store URL, policies directory, request id. Prints `streaming` once the model's first
 * text arrived (its budget is then reserved and its call in flight).
 */
import { createDirectRunner } from '../../frontdoor/direct.js';
import { openStore } from '../../store/index.js';
import { PlanRegistry } from '../../worker/registry.js';

const [storeUrl, dir, id] = process.argv.slice(2) as [string, string, string];
const store = await openStore(storeUrl);
const registry = await PlanRegistry.load(dir);
const runner = createDirectRunner({ plans: registry, store, sweepEveryMs: 0 });
let told = false;
await runner.run(
  {
    id,
    policy: 'direct',
    capability: 'chat',
    team: 'crash',
    inputTokens: 100,
    tags: { case: 'slow' },
    messages: [{ role: 'user', content: 'Once upon a time (crash)' }],
  },
  {
    sink: () => ({
      write: () => {
        if (!told) process.stdout.write('streaming\n');
        told = true;
      },
      end: () => undefined,
    }),
  },
);
process.stdout.write('finished\n');
