/**
 * A store client in its own process, for the concurrency tests (backends.ts `spawnWorkers`):
 * `node --import tsx test/store/worker-main.ts URL`, reads one JSON job line on stdin, opens the
 * store, prints `ready`, waits for `go` (so every process starts together), runs the job's items
 * concurrently and prints `result <json>`.
 */
import * as readline from 'node:readline';
import { openStore } from '../../store/index.js';
import type { WorkerJob } from './backends.js';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: worker-main.ts URL');
const lines = readline.createInterface({ input: process.stdin });
const iterator = lines[Symbol.asyncIterator]();
const first = await iterator.next();
const job = JSON.parse(String(first.value)) as WorkerJob;
const store = await openStore(url, { poolSize: 8 });
process.stdout.write('ready\n');
await iterator.next();

let results: unknown[];
if (job.op === 'reserve') {
  results = await Promise.all(
    job.items.map(async (item) => {
      const { commit, ...reservation } = item;
      const outcome = await store.reserve([reservation], job.limits, job.now);
      if (outcome.ok && commit !== undefined)
        await store.commit(item.key, commit.nanos, commit.tokens, job.now);
      return { key: item.key, ok: outcome.ok };
    }),
  );
} else if (job.op === 'admit') {
  results = await Promise.all(
    job.items.map(async (item) => {
      const { key, ...use } = item;
      const outcome = await store.admit(key, [use], job.limits, job.now);
      return { key, ok: outcome.ok };
    }),
  );
} else if (job.op === 'sweep') {
  results = await Promise.all(Array.from({ length: job.times }, () => store.sweepInterrupted(job.now)));
} else {
  results = await Promise.all(
    job.ids.map(async (id) => {
      const { record } = await store.appendAudit({
        id,
        caller: { team: 'support', app: 'helpdesk', user: null },
        capability: 'chat',
        classification: 'internal',
        mode: 'interactive',
        policy: 'support',
        plan: 'sha256:test',
        route: 'interactive',
        model: 'llama-8b',
        provider: 'gpu-east',
        status: 'served',
        reason: null,
        attempts: [],
        usage: { inputTokens: 10, outputTokens: 5 },
        costNanos: 1300,
        cost: '0.0000013',
        guards: [],
        budgets: [],
        rateLimits: [],
        prompts: { mode: 'none', messages: [], answer: null },
      });
      return { id, seq: record.seq };
    }),
  );
}
process.stdout.write(`result ${JSON.stringify(results)}\n`);
await store.close();
lines.close();
