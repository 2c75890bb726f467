import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWorkspace } from '../../dsl/compiler/index.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import type { Plan } from '../../plan/types.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const fixture = (name: string): string => path.join(FIXTURES, name);
export const readFixture = (name: string): string => fs.readFileSync(fixture(name), 'utf8');

/** Loads files (with optional in-memory texts by path) and compiles; fails the test on errors. */
export async function compileFiles(
  files: string[],
  texts?: Record<string, string>,
): Promise<Map<string, Plan>> {
  const ws = await loadWorkspace(files, {
    texts: texts && new Map(Object.entries(texts).map(([file, text]) => [path.resolve(file), text])),
  });
  const { plans, errors } = compileWorkspace(ws);
  if (errors.length > 0)
    throw new Error(errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.message}`).join('\n'));
  return plans;
}

export async function compileOne(
  file: string,
  policy: string,
  texts?: Record<string, string>,
): Promise<Plan> {
  const plan = (await compileFiles([file], texts)).get(policy);
  if (!plan) throw new Error(`no plan for ${policy}`);
  return plan;
}

/** A fresh temporary directory holding the given files (relative path → text). */
export function tempTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-compiler-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** A small catalog used by the inline policies of these tests. */
export const CATALOG = `
provider local { kind ollama endpoints "http://localhost:11434" private }
provider cloud { kind openai endpoints "https://api.example.com/v1" api-key env CLOUD_KEY region "eu" }
model small { provider local context 8k capabilities chat, classify price input $0.0001 per 1k, output $0.0002 per 1k }
model big { provider cloud context 128k capabilities chat, reasoning price input $0.0025 per 1k, output $0.01 per 1k }
provider spare { kind ollama endpoints "http://localhost:11435" }
model unused { provider spare context 8k capabilities chat }
`;
