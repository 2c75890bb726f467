import * as fs from 'node:fs';
import * as path from 'node:path';
import { type LangiumDocument, URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import type { Diagnostic } from 'vscode-languageserver-types';
import type { Document } from './generated/ast.js';
import { resolveImport } from './scope-provider.js';
import { createSwitchyardServices, type SwitchyardServices } from './switchyard-module.js';

/** A problem with a file itself (missing, a directory, binary) rather than with its contents. */
export class SourceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

export interface LoadedWorkspace {
  services: SwitchyardServices;
  /** The documents named on the command line (directories expanded), in order. */
  roots: LangiumDocument<Document>[];
  /** Every loaded document: the roots and what they import, transitively. */
  documents: LangiumDocument<Document>[];
}

let cached: ReturnType<typeof createSwitchyardServices> | undefined;

function services(): ReturnType<typeof createSwitchyardServices> {
  cached ??= createSwitchyardServices(NodeFileSystem, { batch: true });
  return cached;
}

/** Reads a policy file as text, refusing what is not one. */
export function readPolicyFile(file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new SourceError('E-FILE-MISSING', `no such file: ${file}`, file);
  }
  if (stat.isDirectory())
    throw new SourceError('E-FILE-DIRECTORY', `${file} is a directory, not a .policy file`, file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new SourceError(
      'E-FILE-UNREADABLE',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      file,
    );
  }
  if (bytes.includes(0))
    throw new SourceError('E-FILE-BINARY', `${file} is a binary file, not a .policy file`, file);
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) throw new SourceError('E-FILE-ENCODING', `${file} is not valid UTF-8`, file);
  return text;
}

/** Every `.policy` file below a directory, sorted, so a workspace loads the same way every time. */
export function policyFilesIn(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const entry of fs
      .readdirSync(current, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(full);
      } else if (entry.name.endsWith('.policy')) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/**
 * Loads files (a directory means every `.policy` file below it) and, transitively, the files they
 * import, then links and validates them all as one workspace. An import that cannot be read stays
 * unloaded; the validator reports it at the import.
 */
export async function loadWorkspace(
  inputs: string[],
  options: { validate?: boolean; texts?: Map<string, string> } = {},
): Promise<LoadedWorkspace> {
  const { shared, Switchyard } = services();
  const langiumDocuments = shared.workspace.LangiumDocuments;
  // Forget the previous load, index entries included (deleteDocument alone leaves them behind).
  const previous = langiumDocuments.all.map((doc) => doc.uri).toArray();
  if (previous.length > 0) await shared.workspace.DocumentBuilder.update([], previous);

  const files: string[] = [];
  for (const input of inputs) {
    let isDir = false;
    try {
      isDir = fs.statSync(input).isDirectory();
    } catch {
      /* reported by readPolicyFile below */
    }
    if (isDir && !options.texts?.has(path.resolve(input))) files.push(...policyFilesIn(input));
    else files.push(input);
  }

  const factory = shared.workspace.LangiumDocumentFactory;
  const roots: LangiumDocument<Document>[] = [];
  const all: LangiumDocument<Document>[] = [];
  const load = (file: string): LangiumDocument<Document> => {
    const uri = URI.file(path.resolve(file));
    const existing = langiumDocuments.getDocument(uri);
    if (existing) return existing as LangiumDocument<Document>;
    const text = options.texts?.get(path.resolve(file)) ?? readPolicyFile(file);
    const document = factory.fromString<Document>(text, uri);
    langiumDocuments.addDocument(document);
    all.push(document);
    return document;
  };
  for (const file of files) roots.push(load(file));

  // Follow imports breadth-first; unreadable imports are left to the validator.
  for (let i = 0; i < all.length; i++) {
    const document = all[i]!;
    for (const imp of document.parseResult.value.imports ?? []) {
      if (!imp.path) continue;
      const target = resolveImport(document, imp.path).fsPath;
      try {
        load(target);
      } catch {
        /* E-IMPORT-MISSING, reported at the import */
      }
    }
  }

  await shared.workspace.DocumentBuilder.build(all, { validation: options.validate ?? true });
  return { services: Switchyard, roots, documents: all };
}

export function diagnosticsOf(document: LangiumDocument): Diagnostic[] {
  return document.diagnostics ?? [];
}
