/**
 * The HTTP front door against the provider alone (docs/http.md; the targets of issue 10 "Benchmarks"),
 * in one run on one machine, every part in its own process: the Temporal dev server, the provider
 * test server over the real GGUF model, the same server in its canned-answer mode, and
 * `switchyard serve --worker` — the load generator (bare node:http, keep-alive) is this process.
 *
 * 1. Sequential latency (p50, p99), interleaved so drift hits every variant alike: the provider
 *    alone (the call the front door makes: Ollama `/api/chat`, streamed, read to the end), then
 *    through the front door `direct` and `durable`, JSON (to the last byte) and streamed (to the
 *    first token, against the provider's own first token). Direct runs with governance on: a
 *    budget, a rate limit and the audit record, in a SQLite store file. The floor — an empty
 *    workflow on the same dev server — is measured in the same run.
 * 2. Throughput at concurrency 32 for `--seconds` (30; `--quick`: 5), counting non-2xx answers and
 *    lost requests, on the canned provider (the GGUF model cannot answer thousands a second here:
 *    its own ceiling is measured and printed too), with the front door's CPU per request from
 *    /proc/<pid>/stat.
 * 3. `--profile`: the front door runs under `node --cpu-prof`; the top self-time functions of each
 *    throughput run are printed.
 *
 *   npx tsx bench/frontdoor.ts [--quick] [--seconds 30] [--n 500] [--concurrency 32] [--profile]
 *       [--attempts local|remote]
 *   npx tsx bench/run.ts frontdoor [same flags]
 */
import * as fs from 'node:fs';
import http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openStore } from '../store/index.js';
import {
  children,
  closedLoop,
  cpuMs,
  monotonicMicros,
  post,
  type Outcome,
  type Throughput,
} from './frontdoor-load.js';
import { printProfiles } from './frontdoor-profile.js';
import { ROOT, startCannedProvider, startFloor, startFrontDoor, stop } from './frontdoor-stack.js';
import type { BenchResult } from './run.js';
import { pct, sorted, startBenchStack } from './temporal.js';

export interface FrontdoorOptions {
  /** Sequential requests per variant. */
  n: number;
  /** Length of each throughput run. */
  seconds: number;
  concurrency: number;
  profile: boolean;
  /** How `serve --worker` runs durable requests' attempts. */
  attempts: 'local' | 'remote';
}

/** The flags, from the command line (after `bench/run.ts frontdoor` or `bench/frontdoor.ts`). */
export function frontdoorFlags(argv = process.argv.slice(2)): FrontdoorOptions {
  const { values } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean' },
      seconds: { type: 'string' },
      n: { type: 'string' },
      concurrency: { type: 'string' },
      profile: { type: 'boolean' },
      attempts: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  return {
    n: Number(values.n ?? (quick ? 100 : 500)),
    seconds: Number(values.seconds ?? (quick ? 5 : 30)),
    concurrency: Number(values.concurrency ?? 32),
    profile: values.profile === true,
    attempts: values.attempts === 'local' ? 'local' : 'remote',
  };
}

const PROMPT = 'Once upon a time';
/** The canned provider's answer; 4 tokens of it are asked for, as of the model. */
const CANNED = 'Once upon a time there was a little dog.';

function policies(ggufPort: number, cannedPort: number): string {
  const provider = (name: string, port: number) => `provider ${name} {
  kind ollama
  endpoints "http://127.0.0.1:${port}"
  queue "bench-fd-${name}"
  concurrency 64
  timeout 30s
  private
}
model ${name}_model {
  provider ${name}
  name "stories260K"
  context 1024
  capabilities chat
  price input $0.0001 per 1k, output $0.0002 per 1k
}
`;
  const route = (
    execution: string,
    mode: string,
  ) => `  route ${execution}_${mode} when capability == "${execution}-${mode}" {
    execution ${execution}
    use ${mode}_model max-tokens 4
  }
`;
  return `${provider('gguf', ggufPort)}${provider('canned', cannedPort)}
policy bench {
  budget monthly per team {
    limit $1000000 per month
    tokens 1000M per day
    on-exceed reject
  }
  rate-limit per team {
    1000000 requests per minute
    on-exceed reject
  }
${route('direct', 'gguf')}${route('durable', 'gguf')}${route('direct', 'canned')}${route('durable', 'canned')}  audit { prompts hashed }
}

// No budget, no rate limit: what governance costs, by difference (every request is still audited).
policy plain {
${route('direct', 'canned')}}
`;
}

type Mode = 'gguf' | 'canned';
const MODE_NAME: Record<Mode, string> = {
  gguf: 'GGUF model, 4 tokens',
  canned: 'canned answer, 4 tokens',
};

export async function benchFrontdoor(options: FrontdoorOptions = frontdoorFlags()): Promise<BenchResult[]> {
  const { n, seconds, concurrency } = options;
  const say = (line = '') => console.log(line);
  const stack = await startBenchStack('switchyard-bench-fd-');
  const { tmp, address, providerPort } = stack;
  const canned = await startCannedProvider(CANNED);
  const dir = path.join(tmp, 'policies');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'bench.policy'), policies(providerPort, canned.port));
  const storeUrl = `sqlite:${path.join(tmp, 'state.db')}`;
  const store = await openStore(storeUrl);
  const key = (await store.createKey({ team: 'bench', policy: 'bench' })).key;
  const plainKey = (await store.createKey({ team: 'bench', policy: 'plain' })).key;
  await store.close();
  const profileDir = options.profile ? path.join(tmp, 'profile') : undefined;
  const door = await startFrontDoor({
    policies: dir,
    store: storeUrl,
    address,
    taskQueue: 'bench-fd-requests',
    attempts: options.attempts,
    ...(profileDir ? { profileDir } : {}),
  });
  const floor = await startFloor(address);
  const results: BenchResult[] = [];
  const windows: { name: string; from: number; to: number }[] = [];
  try {
    say(
      `front door: switchyard serve --worker (pid ${door.pid}${profileDir ? ', --cpu-prof' : ''}) at ${door.url}; ` +
        `store ${storeUrl.replace(tmp, '$TMP')}; policy bench: budget + rate limit + audit (prompts hashed); policy plain: audit only`,
    );
    say(
      `provider test server: GGUF model on :${providerPort}; canned-answer mode (${JSON.stringify(CANNED)}) on :${canned.port} (pid ${canned.pid})`,
    );
    say(
      `load generator: node:http, keep-alive; sequential n=${n}; throughput ${concurrency} callers × ${seconds} s; ` +
        `durable attempts: ${options.attempts}; load average ${loadAverage()}`,
    );

    // --- what is called ------------------------------------------------------------------------
    const sequentialAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const loadAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const providerUrl = (mode: Mode) =>
      new URL(`http://127.0.0.1:${mode === 'gguf' ? providerPort : canned.port}/api/chat`);
    // The call the front door makes: the Ollama provider streams, and reads to the end.
    const providerBody = JSON.stringify({
      model: 'stories260K',
      messages: [{ role: 'user', content: PROMPT }],
      options: { num_predict: 4 },
      stream: true,
    });
    const doorUrl = new URL(`${door.url}/v1/chat/completions`);
    const auth = { authorization: `Bearer ${key}` };
    const doorBody = (execution: string, mode: Mode, stream: boolean) =>
      JSON.stringify({
        model: `${execution}-${mode}`,
        messages: [{ role: 'user', content: PROMPT }],
        ...(stream ? { stream: true } : {}),
      });
    const viaProvider = (mode: Mode, agent: http.Agent) => () => post(agent, providerUrl(mode), providerBody);
    const viaDoor = (execution: string, mode: Mode, stream: boolean, agent: http.Agent, as = auth) => {
      const body = doorBody(execution, mode, stream);
      return () => post(agent, doorUrl, body, as);
    };

    // --- 1. sequential latency -----------------------------------------------------------------
    const variants: { key: string; run: () => Promise<Outcome> }[] = [];
    for (const mode of ['gguf', 'canned'] as Mode[]) {
      variants.push({ key: `${mode} provider`, run: viaProvider(mode, sequentialAgent) });
      for (const execution of ['direct', 'durable'])
        for (const stream of [false, true])
          variants.push({
            key: `${mode} ${execution} ${stream ? 'stream' : 'json'}`,
            run: viaDoor(execution, mode, stream, sequentialAgent),
          });
    }
    const samples = new Map(variants.map((v) => [v.key, { ms: [] as number[], ttft: [] as number[] }]));
    const floorMs: number[] = [];
    const failures: string[] = [];
    for (let i = -20; i < n; i++) {
      for (const v of variants) {
        const o = await v.run();
        if (o.status !== 200) {
          failures.push(`${v.key}: ${o.status === 0 ? o.error : `HTTP ${o.status}`}`);
          continue;
        }
        if (i < 0) continue; // warming up
        samples.get(v.key)!.ms.push(o.ms);
        if (o.ttftMs !== undefined) samples.get(v.key)!.ttft.push(o.ttftMs);
      }
      const start = performance.now();
      await floor.once();
      if (i >= 0) floorMs.push(performance.now() - start);
    }
    if (failures.length > 0)
      say(`sequential requests that failed: ${failures.length} (first: ${failures[0]})`);

    const f = sorted(floorMs);
    const row = (name: string, s: number[], extra = '') =>
      say(
        `  ${name.padEnd(44)} p50 ${ms(pct(s, 50))}  p99 ${ms(pct(s, 99))}  (n=${s.length})${extra ? `  ${extra}` : ''}`,
      );
    say();
    say('1. Latency, sequential (p50, p99); added = through the front door − the provider alone');
    row('floor: an empty workflow, eager start', f);
    for (const mode of ['gguf', 'canned'] as Mode[]) {
      say(` provider: ${MODE_NAME[mode]}`);
      const p = samples.get(`${mode} provider`)!;
      const pWhole = sorted(p.ms);
      const pFirst = sorted(p.ttft);
      row('provider alone, whole answer (Ollama, streamed)', pWhole);
      row('provider alone, first token', pFirst);
      for (const execution of ['direct', 'durable'] as const) {
        for (const stream of [false, true]) {
          const s = samples.get(`${mode} ${execution} ${stream ? 'stream' : 'json'}`)!;
          const mine = sorted(stream ? s.ttft : s.ms);
          const base = stream ? pFirst : pWhole;
          const added50 = pct(mine, 50) - pct(base, 50);
          const added99 = pct(mine, 99) - pct(base, 99);
          const target =
            execution === 'direct'
              ? verdict(added50 <= 1.0 && added99 <= 5, 'p50 ≤ 1.0 ms, p99 ≤ 5 ms')
              : verdict(
                  added50 <= 1.5 * pct(f, 50),
                  `p50 ≤ 1.5 × floor = ${ms(1.5 * pct(f, 50))}; now ${(added50 / pct(f, 50)).toFixed(2)} × floor`,
                );
          const name = `${execution} ${stream ? 'streamed, first token' : 'JSON'}`;
          // A difference of two noisy percentiles can come out below zero: the provider's own tail was worse.
          const noise = added50 < 0 || added99 < 0 ? ' (below zero: noise in the provider alone)' : '';
          row(name, mine, `added p50 ${ms(added50)} p99 ${ms(added99)}${noise}  ${target}`);
          results.push({
            name: `frontdoor: added latency, ${name} (${mode})`,
            unit: 'ms',
            median: added50,
            p95: pct(mine, 95) - pct(base, 95),
            samples: mine.length,
            target: execution === 'direct' ? 'p50 ≤ 1.0 ms, p99 ≤ 5 ms' : 'p50 ≤ 1.5 × floor',
            note: `p99 ${added99.toFixed(2)} ms${execution === 'durable' ? `, floor p50 ${pct(f, 50).toFixed(2)} ms` : ''}`,
          });
        }
      }
    }

    // --- 2. throughput ---------------------------------------------------------------------------
    say();
    say(`2. Throughput, ${concurrency} callers for ${seconds} s each (JSON requests; 2xx per second)`);
    const loop = async (
      name: string,
      send: () => Promise<Outcome>,
      pids: { label: string; pid: number }[] = [],
    ): Promise<Throughput> => {
      await closedLoop(concurrency, Math.min(1, seconds), send); // warm up, not counted
      const cpuBefore = pids.map((p) => cpuMs(p.pid));
      const from = monotonicMicros();
      const t = await closedLoop(concurrency, seconds, send);
      windows.push({ name, from, to: monotonicMicros() });
      const served = t.ok + t.non2xx || 1;
      const cpu = pids
        .map((p, i) => `${p.label} CPU ${((cpuMs(p.pid) - cpuBefore[i]!) / served).toFixed(3)} ms/req`)
        .join(', ');
      const problems = [...t.problems.entries()].map(([k, v]) => `${k} ×${v}`).join(', ');
      say(
        `  ${name.padEnd(44)} ${t.perSecond.toFixed(0).padStart(6)} req/s  (${t.ok} ok, ${t.non2xx} non-2xx, ${t.lost} lost` +
          `${problems ? `: ${problems}` : ''})${cpu ? `  ${cpu}` : ''}`,
      );
      return t;
    };
    const floorSend = async (): Promise<Outcome> => {
      const start = performance.now();
      try {
        await floor.once();
        return { status: 200, ms: performance.now() - start };
      } catch (err) {
        return { status: 0, ms: performance.now() - start, error: (err as Error).message };
      }
    };
    const gguf = await loop(`provider alone, ${MODE_NAME.gguf}`, viaProvider('gguf', loadAgent));
    const ceiling = await loop(`provider alone, ${MODE_NAME.canned}`, viaProvider('canned', loadAgent), [
      { label: 'provider', pid: canned.pid },
      { label: 'load generator', pid: process.pid },
    ]);
    const cpuOf = [
      { label: 'front door', pid: door.pid },
      { label: 'provider', pid: canned.pid },
      { label: 'load generator', pid: process.pid },
    ];
    const direct = await loop(
      `direct, governance on, ${MODE_NAME.canned}`,
      viaDoor('direct', 'canned', false, loadAgent),
      cpuOf,
    );
    await loop(
      `direct, audit only (policy plain), ${MODE_NAME.canned}`,
      viaDoor('direct', 'canned', false, loadAgent, { authorization: `Bearer ${plainKey}` }),
      cpuOf,
    );
    // The Temporal dev server's CPU too, for the durable runs (a child of this process, as startBenchStack runs it).
    const temporal = children().find((c) => c.comm === 'temporal');
    const server = temporal ? [{ label: 'Temporal server', pid: temporal.pid }] : [];
    const durable = await loop(
      `durable, ${MODE_NAME.canned}`,
      viaDoor('durable', 'canned', false, loadAgent),
      [{ label: 'front door + worker', pid: door.pid }, ...server],
    );
    const floorT = await loop('floor: empty workflows, eager start', floorSend, [
      { label: 'this process (worker + client)', pid: process.pid },
      ...server,
    ]);
    const clean = (t: Throughput) => t.non2xx === 0 && t.lost === 0;
    say(
      `  direct: ${verdict(direct.perSecond >= 2000 && clean(direct), '≥ 2,000 req/s, 0 non-2xx, 0 lost')}` +
        ` (the canned provider alone: ${ceiling.perSecond.toFixed(0)} req/s; the GGUF model alone: ${gguf.perSecond.toFixed(0)} req/s)`,
    );
    const ratio = durable.perSecond / (floorT.perSecond || 1);
    say(
      `  durable: ${(ratio * 100).toFixed(0)}% of the floor's workflows/s  ${verdict(ratio >= 0.9 && clean(durable), '≥ 90% of the floor, 0 non-2xx, 0 lost')}`,
    );
    const through = (name: string, t: Throughput, target: string, note = '') =>
      results.push({
        name: `frontdoor: throughput at concurrency ${concurrency}, ${name}`,
        unit: 'req/s',
        median: t.perSecond,
        p95: t.perSecond,
        samples: t.ok + t.non2xx + t.lost,
        ...(target ? { target } : {}),
        note: `${t.non2xx} non-2xx, ${t.lost} lost${note}`,
      });
    through('provider alone (canned)', ceiling, '');
    through('direct, governance on (canned provider)', direct, '≥ 2,000 req/s');
    through(
      'durable (canned provider)',
      durable,
      '≥ 90% of the floor',
      `, ${(ratio * 100).toFixed(0)}% of the floor`,
    );
    through('floor (empty workflows)', floorT, '');
  } finally {
    await floor.close();
    await stop(door);
    await stop(canned);
    try {
      if (profileDir) printProfiles(profileDir, ROOT, door.pid, windows, say);
    } finally {
      await stack.stop();
    }
  }
  say(
    `load average at the end: ${loadAverage()} (${os.cpus().length} cores; figures from a busy machine are noisy)`,
  );
  return results;
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function ms(x: number): string {
  return `${x.toFixed(2).padStart(7)} ms`;
}

function verdict(met: boolean, target: string): string {
  return `${met ? 'MET' : 'MISSED'} (target ${target})`;
}

// Run on its own: `npx tsx bench/frontdoor.ts [--quick] [--profile] …`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchFrontdoor(frontdoorFlags());
  process.exit(0);
}
