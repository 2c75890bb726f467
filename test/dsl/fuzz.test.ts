/**
 * Mutation fuzzing: thousands of seeded random edits of the example policies go through the same
 * path as `switchyard check` (and, when a mutant has no errors, `compile` and `test`). Nothing may
 * throw, hang, or produce a diagnostic without a code and a position. Reproduce a failure with
 * FUZZ_SEED=<seed> FUZZ_RUNS=<n>.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTests, compileWorkspace } from '../../dsl/compiler/index.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import { runTest } from '../../plan/index.js';

const examples = path.resolve(import.meta.dirname, '../../examples');
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

/** mulberry32: small, seedable, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ',',
  '"',
  '/',
  '/*',
  '*/',
  '//',
  '\\',
  '$',
  '%',
  '.',
  '==',
  '<=',
  '>',
  'and',
  'or',
  'not',
  'in',
  'true',
  'route',
  'use',
  'split',
  'fallback',
  'escalate',
  'when',
  'deadline',
  'policy',
  'model',
  'provider',
  'budget',
  'guard',
  'before',
  'after',
  'require',
  'private',
  'otherwise',
  'test',
  'expect',
  'given',
  'request',
  'output.truncated',
  'capability',
  'mode',
  'classification',
  '8k',
  '8K',
  '2backoff',
  '1.5s',
  '$0.0000000001',
  '100%',
  '0%',
  '999999999999999999999',
  '5ms',
  '/[a-z/',
  '"unterminated',
  'llama-8b',
  'gpt-4o',
  'team-monthly',
  'triage',
  '\n',
  ' ',
  '\t',
  '\u00e9',
  '\u0000',
];

function mutate(text: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const at = (): number => Math.floor(random() * (text.length + 1));
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const kind = Math.floor(random() * 7);
    const pos = at();
    switch (kind) {
      case 0: // delete a span
        text = text.slice(0, pos) + text.slice(Math.min(text.length, pos + 1 + Math.floor(random() * 40)));
        break;
      case 1: // insert a fragment
        text = text.slice(0, pos) + pick(FRAGMENTS) + text.slice(pos);
        break;
      case 2: {
        // duplicate a line
        const lines = text.split('\n');
        const l = Math.floor(random() * lines.length);
        lines.splice(l, 0, lines[l]!);
        text = lines.join('\n');
        break;
      }
      case 3: {
        // swap two lines
        const lines = text.split('\n');
        const a = Math.floor(random() * lines.length);
        const b = Math.floor(random() * lines.length);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        text = lines.join('\n');
        break;
      }
      case 4: // replace one character with a random printable one
        text = text.slice(0, pos) + String.fromCharCode(32 + Math.floor(random() * 95)) + text.slice(pos + 1);
        break;
      case 5: // deep nesting
        text = text.slice(0, pos) + '('.repeat(1 + Math.floor(random() * 300)) + text.slice(pos);
        break;
      default: // truncate
        text = text.slice(0, pos);
    }
  }
  return text;
}

describe('mutation fuzz of the examples', () => {
  const sources = ['support.policy', 'catalog.policy', 'embedded.policy'].map((name) => ({
    file: path.join(examples, name),
    text: fs.readFileSync(path.join(examples, name), 'utf8'),
  }));

  it(
    `${RUNS} seeded mutants (seed ${SEED}) never crash, hang or lose positions`,
    { timeout: 600_000 },
    async () => {
      const random = rng(SEED);
      let withErrors = 0;
      let compiled = 0;
      let slowest = 0;
      for (let run = 0; run < RUNS; run++) {
        const target = sources[run % sources.length]!;
        const mutant = mutate(target.text, random);
        const texts = new Map([[target.file, mutant]]);
        const started = performance.now();
        let failure: unknown;
        try {
          const ws = await loadWorkspace([target.file], { texts });
          const diagnostics = ws.documents.flatMap((d) => d.diagnostics ?? []);
          for (const d of diagnostics) {
            expect(d.code, `run ${run}: diagnostic without code: ${d.message}`).toBeDefined();
            expect(d.range.start.line).toBeGreaterThanOrEqual(0);
            expect(d.message.length).toBeGreaterThan(0);
          }
          if (diagnostics.some((d) => d.severity === 1)) {
            withErrors++;
          } else {
            const { plans, errors } = compileWorkspace(ws);
            if (errors.length === 0) {
              compiled++;
              for (const testCase of compileTests(ws).tests) {
                const plan = plans.get(testCase.policy);
                if (plan) runTest(plan, testCase);
              }
            }
          }
        } catch (error) {
          failure = error;
        }
        if (failure) {
          throw new Error(
            `run ${run} (FUZZ_SEED=${SEED}) threw on a mutant of ${path.basename(target.file)}: ${String(failure)}\n---\n${mutant.slice(0, 2000)}`,
          );
        }
        slowest = Math.max(slowest, performance.now() - started);
      }
      // The fuzzer must actually reach both sides: broken files and files that still compile.
      expect(withErrors).toBeGreaterThan(RUNS / 4);
      expect(compiled).toBeGreaterThan(0);
      expect(slowest).toBeLessThan(5_000);
    },
  );
});
