/**
 * The front-door benchmark's load generator (bench/frontdoor.ts): bare `node:http` with keep-alive
 * agents — not the openai client, whose own overhead is not the front door's — timing each request
 * to its last byte and to its first token, and a closed loop at a fixed concurrency for a fixed
 * time that counts non-2xx answers and requests lost (no answer at all).
 */
import http from 'node:http';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface Outcome {
  /** The HTTP status; 0 when no answer came (connection error, timeout). */
  status: number;
  /** To the answer's last byte. */
  ms: number;
  /** To the first byte that carries answer text (a non-empty `"content":"…"`), if any came. */
  ttftMs?: number;
  error?: string;
}

/** A JSON POST to `url`, read to its end. */
export function post(
  agent: http.Agent,
  url: URL,
  body: string,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const start = performance.now();
    let settled = false;
    const done = (o: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let ttftMs: number | undefined;
        let seen = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (ttftMs !== undefined) return;
          seen += chunk;
          // The front door's first event says the role with content "": that is not text yet.
          if (/"content":"[^"]/.test(seen)) ttftMs = performance.now() - start;
        });
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            ms: performance.now() - start,
            ...(ttftMs !== undefined ? { ttftMs } : {}),
          }),
        );
        res.on('error', (err) => done({ status: 0, ms: performance.now() - start, error: err.message }));
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', (err) => done({ status: 0, ms: performance.now() - start, error: err.message }));
    req.end(body);
  });
}

export interface Throughput {
  /** 2xx answers per second of the run. */
  perSecond: number;
  ok: number;
  non2xx: number;
  lost: number;
  seconds: number;
  /** Non-2xx statuses and errors seen, with counts. */
  problems: Map<string, number>;
}

/**
 * `concurrency` callers, each sending its next request when the last one answered, for `seconds`;
 * requests in flight at the end are waited for and counted.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  send: () => Promise<Outcome>,
): Promise<Throughput> {
  const result: Throughput = { perSecond: 0, ok: 0, non2xx: 0, lost: 0, seconds: 0, problems: new Map() };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const note = (what: string) => result.problems.set(what, (result.problems.get(what) ?? 0) + 1);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const o = await send();
        if (o.status >= 200 && o.status < 300) result.ok++;
        else if (o.status === 0) {
          result.lost++;
          note(`lost: ${o.error ?? 'no answer'}`);
        } else {
          result.non2xx++;
          note(`HTTP ${o.status}`);
        }
      }
    }),
  );
  result.seconds = (performance.now() - started) / 1000;
  result.perSecond = result.ok / result.seconds;
  return result;
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  clockTicks ??= (() => {
    try {
      return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      return 100;
    }
  })();
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** Monotonic microseconds, the clock V8's CPU profiles use (both are CLOCK_MONOTONIC on Linux). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** This process's children with their command names (from /proc), e.g. to find the Temporal server. */
export function children(parent = process.pid): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === parent) found.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
