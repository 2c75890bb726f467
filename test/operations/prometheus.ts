/**
 * Reading Prometheus' text exposition in tests: every sample as name, labels and value, and sums
 * over samples grouped by some of their labels.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      labels[key!] = value!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sums of `name`'s samples matching `where`, by the values of `by` joined with `|` (zeros dropped). */
export function sumBy(
  samples: Sample[],
  name: string,
  by: string[],
  where: Record<string, string> = {},
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).some(([k, v]) => s.labels[k] !== v)) continue;
    const key = by.map((k) => s.labels[k] ?? '').join('|');
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  for (const [k, v] of out) if (v === 0) out.delete(k);
  return out;
}

/** The sum of every sample of `name` matching `where`. */
export function total(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return [...sumBy(samples, name, [], where).values()].reduce((a, b) => a + b, 0);
}

/** Adds `key` → `n` to a map of sums. */
export function add(map: Map<string, number>, key: string, n = 1): void {
  if (n === 0) return;
  map.set(key, (map.get(key) ?? 0) + n);
}

/** A map as a sorted plain object (readable diffs). */
export function sorted(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
}
