/**
 * `npm run bench`: every benchmark, printed (median and p95, with the machine noted). Not a test:
 * nothing here asserts; the figures go into the closing notes and docs.
 */
import * as os from 'node:os';
import { benchCheck } from './check.js';
import { benchCoverage } from './coverage.js';
import { benchEvaluator } from './evaluator.js';
import { benchLsp } from './lsp.js';
import { benchStore } from './store.js';
import { benchGovernance } from './governance.js';
import { benchTemporal } from './temporal.js';
import { benchFrontdoor, frontdoorFlags } from './frontdoor.js';
import { benchReplay } from './replay.js';
import { benchMetrics } from './metrics.js';

export interface BenchResult {
  name: string;
  unit: string;
  median: number;
  p95: number;
  samples: number;
  target?: string;
  note?: string;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export function summarise(
  name: string,
  unit: string,
  samples: number[],
  extra: Partial<BenchResult> = {},
): BenchResult {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    name,
    unit,
    median: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    samples: samples.length,
    ...extra,
  };
}

const only = process.argv[2];
const suites: [string, () => Promise<BenchResult[]>][] = [
  ['evaluator', benchEvaluator],
  ['check', benchCheck],
  ['coverage', benchCoverage],
  ['lsp', benchLsp],
  ['store', benchStore],
  ['temporal', benchTemporal],
  ['governance', benchGovernance],
  ['replay', benchReplay],
  ['metrics', benchMetrics],
  // Flags after the suite's name: `npx tsx bench/run.ts frontdoor --quick --profile`.
  ['frontdoor', () => benchFrontdoor(frontdoorFlags())],
];

console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`,
);
for (const [name, run] of suites) {
  if (only && only !== name) continue;
  for (const result of await run()) {
    const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3));
    console.log(
      `${result.name.padEnd(58)} median ${fmt(result.median).padStart(8)} ${result.unit}  p95 ${fmt(result.p95).padStart(8)} ${result.unit}  (n=${result.samples}${result.target ? `, target ${result.target}` : ''}${result.note ? `, ${result.note}` : ''})`,
    );
  }
}
