/**
 * Responsiveness of the language server over real stdio (`bin/switchyard-lsp.js --stdio`): the
 * time from an edit in a 10k-line file to the diagnostics that reflect it, and hover and
 * completion in the same file. Each edit makes a diagnostic no earlier edit produced, so the
 * diagnostics that answer it are recognised by their message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { URI } from 'langium';
import type { Diagnostic } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LspClient } from '../test/lsp/lsp-client.js';
import { generateSingleFile } from './generate.js';
import { summarise, type BenchResult } from './run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function benchLsp(edits = 30): Promise<BenchResult[]> {
  const dir = path.join(root, 'bench', '.tmp', 'lsp');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'large.policy');
  const lines = generateSingleFile(file, 10_000);
  const uri = URI.file(file).toString();
  let text = fs.readFileSync(file, 'utf8');

  const client = new LspClient({
    command: [process.execPath, path.join(root, 'bin', 'switchyard-lsp.js'), '--stdio'],
    root: dir,
  });
  const startup = performance.now();
  await client.initialize();
  await client.open(uri, text);
  await client.diagnosticsFor(uri, () => true, 120_000);
  const firstMs = performance.now() - startup;

  let version = 1;
  /** Replaces the first `needle` after `from` with `value`, as an editor sends a keystroke's change. */
  const timeEdit = async (
    needle: string,
    from: number,
    value: string,
    answered: (d: Diagnostic[]) => boolean,
  ): Promise<{ ms: number; next: number }> => {
    const at = text.indexOf(needle, from);
    if (at < 0) throw new Error(`'${needle}' not found after offset ${from}`);
    const document = TextDocument.create(uri, 'switchyard-policy', version, text);
    const range = { start: document.positionAt(at), end: document.positionAt(at + needle.length) };
    text = text.slice(0, at) + value + text.slice(at + needle.length);
    const diagnostics = client.nextDiagnostics(uri, answered, 60_000);
    const started = performance.now();
    await client.edit(uri, ++version, range, value);
    await diagnostics;
    const ms = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { ms, next: at + value.length };
  };

  // Typing in a route: one route's max-tokens goes above its model's context.
  const inRoute: number[] = [];
  let from = 0;
  for (let i = 0; i < edits; i++) {
    const value = 200_001 + i;
    const edit = await timeEdit('max-tokens 512', from, `max-tokens ${value}`, (d) =>
      d.some((x) => x.message.includes(`max-tokens ${value} `)),
    );
    inRoute.push(edit.ms);
    from = edit.next;
  }
  // Editing a model's context: every route of the file is checked again.
  const inModel: number[] = [];
  from = 0;
  for (let i = 0; i < 10; i++) {
    const context = 100 + i;
    const edit = await timeEdit('context 128k', from, `context ${context}`, (d) =>
      d.some((x) => x.message.includes(`(${context})`)),
    );
    inModel.push(edit.ms);
    from = edit.next;
  }

  const document = TextDocument.create(uri, 'switchyard-policy', 0, text);
  const hovers: number[] = [];
  const completions: number[] = [];
  for (let i = 0; i < 15; i++) {
    const route = text.indexOf(`route r-${i * 50} `);
    const started = performance.now();
    await client.connection.sendRequest('textDocument/hover', {
      textDocument: { uri },
      position: document.positionAt(route + 'route '.length),
    });
    hovers.push(performance.now() - started);
    const use = text.indexOf('use m-', route);
    const startedCompletion = performance.now();
    await client.connection.sendRequest('textDocument/completion', {
      textDocument: { uri },
      position: document.positionAt(use + 'use '.length),
    });
    completions.push(performance.now() - startedCompletion);
  }
  await client.stop();

  return [
    summarise(
      `lsp: diagnostics after an edit in a route, one file of ${lines} lines (stdio)`,
      'ms',
      inRoute,
      {
        target: 'p50 ≤ 150 ms',
        note: `first diagnostics after open ${Math.round(firstMs)} ms`,
      },
    ),
    summarise(`lsp: diagnostics after an edit in a model, same file (every route re-checked)`, 'ms', inModel),
    summarise(`lsp: hover on a route, same file`, 'ms', hovers),
    summarise(`lsp: completion after use, same file`, 'ms', completions),
  ];
}
