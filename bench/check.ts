import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSingleFile, generateWorkspace } from './generate.js';
import { summarise, type BenchResult } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'switchyard.js');

function timeCheck(target: string, runs: number): { ms: number[]; exit: number | null } {
  const ms: number[] = [];
  let exit: number | null = null;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [bin, 'check', '--no-frame', target], { encoding: 'utf8' });
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    exit = result.status;
  }
  return { ms, exit };
}

/** `switchyard check` as a whole process (node start included) on generated workspaces. */
export async function benchCheck(): Promise<BenchResult[]> {
  const tmp = path.join(root, 'bench', '.tmp');
  const wsDir = path.join(tmp, 'workspace-10k');
  const generated = generateWorkspace(wsDir);
  const single = path.join(tmp, 'single-50k.policy');
  const singleLines = generateSingleFile(single, 50_000);
  const ws = timeCheck(wsDir, 7);
  const one = timeCheck(single, 5);
  return [
    summarise(
      `check: workspace of ${generated.lines} lines, 100 models, 500 routes, ${generated.files} files`,
      'ms',
      ws.ms,
      { target: '≤ 1500 ms', note: `exit ${ws.exit}` },
    ),
    summarise(`check: one file of ${singleLines} lines`, 'ms', one.ms, {
      target: '≤ 3000 ms',
      note: `exit ${one.exit}`,
    }),
  ];
}
