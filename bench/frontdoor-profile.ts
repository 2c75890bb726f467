/**
 * Where the front door's time goes: a V8 CPU profile (`node --cpu-prof`, a `.cpuprofile` JSON)
 * summarised over one time window — the functions with the most self time, and the same by file
 * (node internals, dependencies, the repository's own rooms). Used by bench/frontdoor.ts
 * `--profile` for each throughput run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Samples in the window, and how many of them the process was idle. */
  samples: number;
  idle: number;
  /** Whether the window was found in the profile (else the whole profile is summarised). */
  windowed: boolean;
  functions: { name: string; share: number }[];
  files: { name: string; share: number }[];
  /** The repository's functions by total time (themselves and what they call). */
  repository: { name: string; share: number }[];
}

/** Summarises `file` over [fromMicros, toMicros] (monotonic µs), the top `top` of each list. */
export function summariseProfile(
  file: string,
  root: string,
  fromMicros: number,
  toMicros: number,
  top = 15,
): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const total = new Map<string, number>();
  const windowed = profile.startTime <= toMicros && profile.endTime >= fromMicros;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let samples = 0;
  let idle = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (windowed && (t < fromMicros || t > toMicros)) continue;
    const frame = frames.get(profile.samples[i]!)!;
    samples++;
    if (frame.functionName === '(idle)') {
      idle++;
      continue;
    }
    const { where, group: known } = place(frame.url, root);
    const name = nameOf(frame, where);
    byFunction.set(name, (byFunction.get(name) ?? 0) + 1);
    const group = known ?? (frame.functionName || '(native code)');
    byFile.set(group, (byFile.get(group) ?? 0) + 1);
    // Each repository function on the stack counts once for this sample.
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parents.get(id)) {
      const f = frames.get(id)!;
      const at = place(f.url, root);
      if (!at.repository) continue;
      const fn = nameOf(f, at.where);
      if (!seen.has(fn)) {
        seen.add(fn);
        total.set(fn, (total.get(fn) ?? 0) + 1);
      }
    }
  }
  const busy = samples - idle || 1;
  const ranked = (m: Map<string, number>, count = top) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, n]) => ({ name, share: n / busy }));
  return {
    samples,
    idle,
    windowed,
    functions: ranked(byFunction),
    files: ranked(byFile),
    repository: ranked(total, 2 * top),
  };
}

/**
 * `name file:line`. Files tsx compiled carry no useful line (its output is minified to one line,
 * and the profile has no source map applied): those get the file alone.
 */
function nameOf(frame: CpuProfile['nodes'][number]['callFrame'], where: string): string {
  const name = frame.functionName || '(anonymous)';
  if (!where) return name;
  return /\.[cm]?ts$/.test(where) ? `${name} ${where}` : `${name} ${where}:${frame.lineNumber + 1}`;
}

/**
 * A script's place, short (repository-relative, `node:…`, or a package's name and file), and the
 * group its time counts to: the repository's file, the package, or node's internal area.
 */
function place(
  url: string,
  root: string,
): { where: string; group: string | undefined; repository?: boolean } {
  if (url === '') return { where: '', group: undefined };
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const where = file.slice(modules + '/node_modules/'.length);
    const parts = where.split('/');
    return { where, group: `${parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]} (package)` };
  }
  if (file.startsWith('node:')) return { where: file, group: file.split('/').slice(0, 2).join('/') };
  if (!file.startsWith(root)) return { where: file, group: file };
  const where = path.relative(root, file);
  return { where, group: where, repository: true };
}

/** The summary as lines for the bench's output. */
export function profileLines(title: string, s: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  return [
    `${title}: ${s.samples} samples${s.windowed ? '' : ' (whole profile: the window was not found)'}, ` +
      `idle ${pct(s.idle / (s.samples || 1))}; shares of the busy samples:`,
    '  top self time, by function:',
    ...s.functions.map((f) => `    ${pct(f.share)}  ${f.name}`),
    '  top self time, by file or package:',
    ...s.files.map((f) => `    ${pct(f.share)}  ${f.name}`),
    "  the repository's functions by total time (self + callees):",
    ...s.repository.map((f) => `    ${pct(f.share)}  ${f.name}`),
  ];
}

/**
 * The profiles `--cpu-prof` wrote — one per thread: the main thread (the HTTP server, the direct
 * runner, activities) and the workflow threads of the worker (`CPU.<date>.<time>.<pid>.<thread>.<n>`)
 * — summarised over each throughput run of the front door, and kept in the temporary directory.
 */
export function printProfiles(
  dir: string,
  root: string,
  pid: number,
  windows: { name: string; from: number; to: number }[],
  say: (line?: string) => void,
): void {
  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ name, thread: Number(name.split('.')[4] ?? 0) }))
    .sort((a, b) => a.thread - b.thread);
  say();
  if (files.length === 0) {
    say('3. Profile: the front door wrote none (did it stop cleanly?)');
    return;
  }
  const kept = files.map((f) => {
    // Kept for a closer look (Chrome DevTools, Performance → Load profile).
    const to = path.join(os.tmpdir(), `switchyard-frontdoor-${pid}-thread${f.thread}.cpuprofile`);
    fs.copyFileSync(path.join(dir, f.name), to);
    return to;
  });
  say(`3. Profile of the front door process (node --cpu-prof), per throughput run; kept: ${kept.join(', ')}`);
  say('   (stacks are synchronous: work resumed after an await counts under the function that resumed)');
  for (const w of windows.filter((w) => /^(direct|durable)/.test(w.name))) {
    for (const f of files) {
      const summary = summariseProfile(path.join(dir, f.name), root, w.from, w.to);
      // A thread that did next to nothing in this run (a workflow thread during direct runs) is left out.
      if (f.thread !== 0 && summary.samples - summary.idle < 0.02 * summary.samples) continue;
      const title = `${w.name} — ${f.thread === 0 ? 'main thread' : `thread ${f.thread} (workflows)`}`;
      for (const line of profileLines(title, summary)) say(`  ${line}`);
    }
  }
}
