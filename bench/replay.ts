/**
 * `switchyard replay` at scale (docs/what-if.md, "Replay"): 1,000,000 audit records replayed under
 * a 200-route plan (bench/evaluator.ts `largePlan`, with its block-pattern guard: every record's
 * body is read too, to look for a prompt kept in full), streamed from a SQLite store with
 * `replayRows` and decided by plan/replay.ts — what the command does after compiling the policies.
 *
 * The store is filled once through the store's own `appendAudit` (a real hash chain, verified
 * before the runs) and kept in bench/.tmp/ for later runs. Each run is a child process, so that its
 * peak RSS is the replay's alone; it also samples RSS along the stream (after 10% and at the end),
 * so that memory that grows with the trail shows. Target: ≥ 200,000 records/s, memory flat.
 *
 * `npx tsx bench/run.ts replay` (REPLAY_RECORDS=N for another size).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { actualCost } from '../plan/governance.js';
import { decide } from '../plan/evaluator.js';
import { Replay } from '../plan/replay.js';
import { routingFactsOf } from '../plan/request.js';
import type { Classification, InferenceRequest } from '../plan/types.js';
import { openStore } from '../store/index.js';
import type { AuditInput } from '../store/types.js';
import { largePlan } from './evaluator.js';
import type { BenchResult } from './run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TMP = path.join(ROOT, 'bench/.tmp');
const RUNS = 5;
const START = Date.parse('2026-11-01T00:00:00Z');

/** A deterministic generator (mulberry32): the same trail every time. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const CLASSIFICATIONS: Classification[] = ['public', 'internal', 'internal', 'confidential'];

/** The records of a month of traffic under the large plan, as the audit activity writes them. */
function* records(count: number): Generator<AuditInput> {
  const plan = largePlan();
  const next = random(42);
  for (let i = 0; i < count; i++) {
    const request: InferenceRequest = {
      id: `req-${i}`,
      policy: plan.name,
      capability: `cap-${Math.floor(next() * 210)}`,
      team: `team-${Math.floor(next() * 12)}`,
      app: `app-${Math.floor(next() * 5)}`,
      user: `user-${Math.floor(next() * 500)}`,
      classification: CLASSIFICATIONS[Math.floor(next() * CLASSIFICATIONS.length)],
      ...(next() < 0.3 ? { mode: 'batch' as const } : {}),
      ...(next() < 0.5 ? { maxTokens: 256 } : {}),
      messages: [],
      inputTokens: 20 + Math.floor(next() * 6000),
    };
    const decision = decide(plan, request);
    const entry = decision.chain[0];
    const served = entry !== undefined;
    const usage = served
      ? { inputTokens: request.inputTokens!, outputTokens: 1 + Math.floor(next() * 400) }
      : { inputTokens: 0, outputTokens: 0 };
    const costNanos = served ? actualCost(entry, usage) : 0;
    yield {
      id: request.id,
      time: new Date(START + Math.floor((i * 30 * 86_400_000) / count)).toISOString(),
      caller: { team: request.team!, app: request.app!, user: request.user! },
      capability: request.capability,
      classification: request.classification ?? null,
      mode: request.mode ?? null,
      policy: plan.name,
      plan: plan.hash,
      route: decision.route,
      model: served ? entry.model : null,
      provider: served ? entry.provider : null,
      status: served ? 'served' : 'rejected',
      reason: decision.reason,
      attempts: served
        ? [
            {
              attempt: 1,
              model: entry.model,
              provider: entry.provider,
              endpoint: 'http://host-0:11434',
              outcome: 'answered',
              errorClass: null,
              error: null,
              status: 200,
              ms: 300 + Math.floor(next() * 900),
            },
          ]
        : [],
      usage,
      costNanos,
      cost: '0',
      guards: [],
      budgets: [],
      rateLimits: [],
      prompts: {
        mode: 'hashed',
        messages: [{ role: 'user', sha256: `sha256:${'ab'.repeat(32)}` }],
        answer: served ? { role: 'assistant', sha256: `sha256:${'cd'.repeat(32)}` } : null,
      },
      routing: routingFactsOf(request),
      extra: { elapsedMs: 500, excluded: [], rule: decision.rule, region: null, tags: {} },
    };
  }
}

/** The store of `count` records, filled once (appendAudit, 256 in flight) and kept. */
async function filledStore(count: number): Promise<string> {
  fs.mkdirSync(TMP, { recursive: true });
  const file = path.join(TMP, `replay-${count}.db`);
  const done = `${file}.done`;
  if (fs.existsSync(done)) return file;
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  const store = await openStore(`sqlite:${file}`);
  const started = performance.now();
  try {
    let inFlight: Promise<unknown>[] = [];
    let n = 0;
    for (const record of records(count)) {
      inFlight.push(store.appendAudit(record, START));
      if (inFlight.length >= 256) {
        await Promise.all(inFlight);
        inFlight = [];
      }
      n += 1;
      if (n % 100_000 === 0) console.log(`  replay store: ${n} records appended`);
    }
    await Promise.all(inFlight);
    const verified = await store.verifyAudit();
    if (!verified.ok || verified.count !== count)
      throw new Error(`the bench store does not verify: ${JSON.stringify(verified)}`);
  } finally {
    await store.close();
  }
  console.log(
    `  replay store: ${count} records in ${((performance.now() - started) / 1000).toFixed(0)} s, verified`,
  );
  fs.writeFileSync(done, '');
  return file;
}

interface ChildResult {
  records: number;
  replayed: number;
  changed: number;
  ms: number;
  rssAt10: number;
  rssEnd: number;
  maxRss: number;
}

/** One run, in this process (the child): stream, replay, report. */
async function child(file: string): Promise<void> {
  const plan = largePlan();
  // The edit replayed: a price change and a reroute of ten capabilities.
  const edited = structuredClone(plan);
  edited.hash = 'sha256:edited';
  edited.models['model-3']!.price = {
    input: { nanos: 900_000, perTokens: 1_000 },
    output: { nanos: 3_600_000, perTokens: 1_000 },
  };
  for (let r = 0; r < 10; r++) {
    const route = edited.routes[r]!;
    if (route.primary.kind === 'use') route.primary.target = { ...route.primary.target, model: 'model-19' };
  }
  const replay = new Replay(new Map([[plan.name, edited]]), { list: 100 });
  const store = await openStore(`sqlite:${file}`, { create: false });
  const total = Number(process.env.REPLAY_RECORDS);
  let rssAt10 = 0;
  let seen = 0;
  const started = performance.now();
  for await (const page of store.replayRows({ withBody: true })) {
    for (const row of page) replay.add(row, undefined);
    seen += page.length;
    if (rssAt10 === 0 && seen >= total / 10) rssAt10 = process.memoryUsage.rss();
  }
  const report = replay.report();
  const ms = performance.now() - started;
  await store.close();
  const result: ChildResult = {
    records: report.records,
    replayed: report.replayed,
    changed: report.changed,
    ms,
    rssAt10,
    rssEnd: process.memoryUsage.rss(),
    maxRss: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

function runChild(file: string, count: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file],
      {
        cwd: ROOT,
        env: { ...process.env, REPLAY_RECORDS: String(count) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('result '));
      if (code !== 0 || line === undefined) return reject(new Error(`replay child exited ${code}: ${out}`));
      resolve(JSON.parse(line.slice('result '.length)) as ChildResult);
    });
  });
}

function summary(
  name: string,
  unit: string,
  samples: number[],
  extra: Partial<BenchResult> = {},
): BenchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { name, unit, median: at(50), p95: at(95), samples: samples.length, ...extra };
}

export async function benchReplay(): Promise<BenchResult[]> {
  const count = Number(process.env.REPLAY_RECORDS ?? 1_000_000);
  const file = await filledStore(count);
  const results: ChildResult[] = [];
  for (let i = 0; i < RUNS; i++) results.push(await runChild(file, count));
  const mib = (bytes: number): number => bytes / 2 ** 20;
  const first = results[0]!;
  const note = `${first.records} records, ${first.changed} changed; RSS after 10% ${mib(first.rssAt10).toFixed(0)} MiB, at the end ${mib(first.rssEnd).toFixed(0)} MiB; load average ${os.loadavg()[0]!.toFixed(1)}`;
  return [
    summary(
      `replay: ${count} records, 200-route plan (SQLite)`,
      'records/s',
      results.map((r) => (r.records / r.ms) * 1000),
      { target: '≥ 200000 records/s', note },
    ),
    summary(
      'replay: peak RSS of the replaying process',
      'MiB',
      results.map((r) => mib(r.maxRss)),
      { target: 'flat (independent of the trail length)' },
    ),
  ];
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
if (process.argv[2] === '--fill') await filledStore(Number(process.argv[3]));
