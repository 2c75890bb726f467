/**
 * Incremental re-parsing (dsl/build/incremental.ts) must build what a full parse builds: after each
 * of many random edits, the edited document's AST, CST positions, links and diagnostics are
 * compared with a fresh parse of the same text by the CLI's services.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type AstNode,
  AstUtils,
  type CstNode,
  CstUtils,
  EmptyFileSystem,
  type LangiumDocument,
  type Reference,
  URI,
  isAstNode,
} from 'langium';
import { describe, expect, it } from 'vitest';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { generateSingleFile } from '../../bench/generate.js';
import { allNodes } from '../../dsl/build/ast-walk.js';
import { reparseCounts } from '../../dsl/build/incremental.js';
import { createSwitchyardLspServices } from '../../dsl/lsp/module.js';
import { createSwitchyardServices } from '../../dsl/switchyard-module.js';

const root = path.resolve(import.meta.dirname, '..', '..');

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Everything a consumer can observe of a parsed, linked document, as plain data. */
function snapshot(document: LangiumDocument): unknown {
  const locator = { path: (node: AstNode): string => pathOf(node) };
  const nodes = allNodes(document.parseResult.value).map((node) => {
    const fields: Record<string, unknown> = {
      $type: node.$type,
      $property: node.$containerProperty,
      $index: node.$containerIndex,
    };
    for (const [key, value] of Object.entries(node)) {
      if (key.startsWith('$') || isAstNode(value)) continue;
      if (Array.isArray(value)) {
        if (value.some(isAstNode)) continue;
        fields[key] = value.map((v) => (isRef(v) ? refSnapshot(v, locator) : v));
      } else if (isRef(value)) {
        fields[key] = refSnapshot(value, locator);
      } else {
        fields[key] = value;
      }
    }
    const cst = node.$cstNode;
    fields.$cst = cst ? [cst.offset, cst.end, rangeText(cst.range), cst.text] : undefined;
    return fields;
  });
  const leaves = [...CstUtils.streamCst(document.parseResult.value.$cstNode!)]
    .filter((n: CstNode) => !('content' in n))
    .map((n) => [n.offset, n.length, rangeText(n.range), n.hidden, n.text, n.astNode.$type]);
  const diagnostics = (document.diagnostics ?? [])
    .map((d) => JSON.stringify([rangeText(d.range), d.severity, d.code, d.message]))
    .sort();
  return { nodes, leaves, diagnostics, references: document.references.length };
}

function rangeText(range: {
  start: { line: number; character: number };
  end: { line: number; character: number };
}): string {
  return `${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character}`;
}

function isRef(value: unknown): value is Reference {
  return typeof value === 'object' && value !== null && '$refText' in value;
}

function pathOf(node: AstNode): string {
  const parts: string[] = [];
  for (let current: AstNode | undefined = node; current?.$container; current = current.$container) {
    parts.unshift(`${current.$containerProperty}@${current.$containerIndex ?? ''}`);
  }
  return `${AstUtils.getDocument(node).uri.path.split('/').pop()}:/${parts.join('/')}`;
}

function refSnapshot(ref: Reference, locator: { path(node: AstNode): string }): unknown {
  const target = ref.ref;
  return { text: ref.$refText, target: target ? locator.path(target) : undefined, error: ref.error?.message };
}

/** Random edits that keep most of the file intact, as typing does. */
function edits(text: string, next: () => number): { start: number; end: number; insert: string } {
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const tokens = [
    ...text.matchAll(/[A-Za-z][A-Za-z0-9_-]*|\$?[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|k|M|%)?|"[^"\n]*"/g),
  ];
  const lines = [...text.matchAll(/^[^\n]*\n/gm)];
  switch (Math.floor(next() * 7)) {
    case 0: {
      // a number changes
      const numbers = tokens.filter((t) => /^\$?[0-9]/.test(t[0]));
      const t = pick(numbers);
      const value = t[0].replace(/[0-9]+/, String(1 + Math.floor(next() * 900)));
      return { start: t.index!, end: t.index! + t[0].length, insert: value };
    }
    case 1: {
      // a name becomes another name of the file (may not resolve, may duplicate)
      const names = tokens.filter((t) => /^[A-Za-z]/.test(t[0]));
      const t = pick(names);
      return { start: t.index!, end: t.index! + t[0].length, insert: pick(names)[0] };
    }
    case 2: {
      // a character is typed inside a name
      const names = tokens.filter((t) => /^[A-Za-z]/.test(t[0]));
      const t = pick(names);
      const at = t.index! + Math.floor(next() * t[0].length);
      return { start: at, end: at, insert: pick(['x', '-', '2', 'e']) };
    }
    case 3: {
      // a line is deleted
      const line = pick(lines);
      return { start: line.index!, end: line.index! + line[0].length, insert: '' };
    }
    case 4: {
      // an item is added after a line
      const line = pick(lines);
      const at = line.index! + line[0].length;
      return {
        start: at,
        end: at,
        insert: pick([
          '    fallback llama-8b timeout 3s\n',
          '    deadline 9s\n',
          '  otherwise reject\n',
          '    retries 2\n',
        ]),
      };
    }
    case 5: {
      // options are appended to an item
      const line = pick(lines);
      const at = line.index! + line[0].length - 1;
      return {
        start: at,
        end: at,
        insert: pick([' retries 1', ' timeout 4s', ' max-tokens 300k', ' // note']),
      };
    }
    default: {
      // a stray character (a syntax error, usually fixed by a later edit)
      const at = Math.floor(next() * text.length);
      return { start: at, end: at, insert: pick(['{', '}', '"', '(', ' ', '\n']) };
    }
  }
}

async function compare(
  files: { name: string; text: string }[],
  editable: string[],
  count: number,
  seed: number,
): Promise<void> {
  const lsp = createSwitchyardLspServices(EmptyFileSystem);
  const cli = createSwitchyardServices(EmptyFileSystem);
  const dir = path.join(root, 'test', '.tmp', 'incremental');
  const uriOf = (name: string): URI => URI.file(path.join(dir, name));
  const textDocuments = lsp.shared.workspace.TextDocuments;
  for (const file of files)
    textDocuments.set(TextDocument.create(uriOf(file.name).toString(), 'switchyard-policy', 1, file.text));
  await lsp.shared.workspace.DocumentBuilder.update(
    files.map((f) => uriOf(f.name)),
    [],
  );
  const next = random(seed);
  let undo: { name: string; start: number; end: number; insert: string } | undefined;
  for (let i = 0; i < count; i++) {
    // An edit that broke the syntax is undone by the next one, as a person fixes a typo.
    const name = undo?.name ?? editable[Math.floor(next() * editable.length)]!;
    const uri = uriOf(name).toString();
    const textDocument = textDocuments.get(uri)!;
    const text = textDocument.getText();
    const edit = undo ?? edits(text, next);
    undo = undefined;
    const changed = TextDocument.update(
      textDocument as TextDocument,
      [
        {
          range: { start: textDocument.positionAt(edit.start), end: textDocument.positionAt(edit.end) },
          text: edit.insert,
        },
      ],
      textDocument.version + 1,
    );
    textDocuments.set(changed);
    await lsp.shared.workspace.DocumentBuilder.update([URI.parse(uri)], []);

    // The same files, parsed and linked from scratch.
    const fresh = cli.shared.workspace.LangiumDocuments;
    for (const doc of [...fresh.all]) fresh.deleteDocument(doc.uri);
    const reference = files.map((f) =>
      cli.shared.workspace.LangiumDocumentFactory.fromString(
        textDocuments.get(uriOf(f.name).toString())!.getText(),
        uriOf(f.name),
      ),
    );
    for (const doc of reference) fresh.addDocument(doc);
    await cli.shared.workspace.DocumentBuilder.build(reference, { validation: true });
    for (const expected of reference) {
      const edited = lsp.shared.workspace.LangiumDocuments.getDocument(expected.uri)!;
      expect(
        snapshot(edited),
        `edit ${i} of ${name}: ${JSON.stringify(edit)}, comparing ${expected.uri.path}`,
      ).toEqual(snapshot(expected));
    }
    const main = reference.find((d) => d.uri.toString() === uri)!;
    if (main.parseResult.lexerErrors.length + main.parseResult.parserErrors.length > 0) {
      undo = {
        name,
        start: edit.start,
        end: edit.start + edit.insert.length,
        insert: text.slice(edit.start, edit.end),
      };
    }
  }
}

describe('incremental re-parsing', () => {
  it('builds what a full parse builds, edit after edit (the example policies)', async () => {
    const before = { ...reparseCounts };
    const read = (name: string): string => fs.readFileSync(path.join(root, 'examples', name), 'utf8');
    const files = [
      { name: 'catalog.policy', text: read('catalog.policy') },
      { name: 'support.policy', text: read('support.policy') },
    ];
    await compare(files, ['support.policy'], 160, 7);
    await compare(files, ['support.policy'], 160, 23);
    // Catalog edits: the policy that imports it is linked and checked again.
    await compare(files, ['catalog.policy', 'support.policy'], 80, 5);
    expect(reparseCounts.incremental - before.incremental).toBeGreaterThan(80);
  }, 120_000);

  it('builds what a full parse builds in a large generated file', async () => {
    const file = path.join(root, 'test', '.tmp', 'incremental-large.policy');
    generateSingleFile(file, 1500);
    const text = fs.readFileSync(file, 'utf8').replace(/\bm-0\b/, 'llama-8b');
    const before = { ...reparseCounts };
    await compare([{ name: 'large.policy', text }], ['large.policy'], 60, 11);
    expect(reparseCounts.incremental - before.incremental).toBeGreaterThan(10);
  }, 180_000);
});
