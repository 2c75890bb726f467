/**
 * The language server's document builder: Langium's, plus two things an editor needs that the CLI
 * does by itself (dsl/workspace.ts):
 * - a file opened from outside the workspace folder still sees what it imports: before a build,
 *   every `import` of the documents being built is loaded from disk, transitively;
 * - diagnostics that depend on other files without a reference to them (a duplicate name, a
 *   missing import) are recomputed when any file changes.
 */
import {
  type AstNode,
  DefaultDocumentBuilder,
  type BuildOptions,
  DocumentState,
  type LangiumDocument,
  type LangiumSharedCoreServices,
  type URI,
} from 'langium';
import type { CancellationToken } from 'vscode-languageserver-protocol';
import type { Document } from '../generated/ast.js';
import { resolveImport } from '../scope-provider.js';
import { IssueCodes } from '../validation/issue-codes.js';
import { FastDocumentValidator } from './fast-build.js';
import { deferUnlink } from './incremental.js';

/** Codes whose diagnostics may change when another file changes, references or not. */
const CROSS_FILE_CODES = new Set<string>([IssueCodes.DuplicateName, IssueCodes.MissingImport]);

function topLevelNames(document: LangiumDocument): string[] {
  const root = document.parseResult?.value as Document | undefined;
  if (!root) return [];
  return [...(root.providers ?? []), ...(root.models ?? []), ...(root.policies ?? [])].flatMap((n) =>
    typeof n.name === 'string' ? [n.name] : [],
  );
}

export class SwitchyardDocumentBuilder extends DefaultDocumentBuilder {
  constructor(services: LangiumSharedCoreServices) {
    super(services);
  }

  protected override async buildDocuments(
    documents: LangiumDocument[],
    options: BuildOptions,
    cancelToken: CancellationToken,
  ): Promise<void> {
    await this.runCancelable(documents, DocumentState.Parsed, cancelToken, (doc) =>
      this.langiumDocumentFactory.update(doc, cancelToken),
    );
    const all = await this.withImports(documents);
    all.push(...this.sharingNames(all));
    await super.buildDocuments(all, options, cancelToken);
  }

  /**
   * Other built documents that declare a provider, model or policy name that one of `documents`
   * declares: a duplicate may have appeared, so they are checked again.
   */
  private sharingNames(documents: LangiumDocument[]): LangiumDocument[] {
    const names = new Set(documents.flatMap(topLevelNames));
    const building = new Set(documents.map((d) => d.uri.toString()));
    const found: LangiumDocument[] = [];
    for (const other of this.langiumDocuments.all) {
      if (building.has(other.uri.toString()) || other.state < DocumentState.Validated) continue;
      if (topLevelNames(other).some((name) => names.has(name))) {
        this.resetToState(other, DocumentState.IndexedReferences);
        found.push(other);
      }
    }
    return found;
  }

  /** The documents and, transitively, the files they import that exist but were not loaded. */
  private async withImports(documents: LangiumDocument[]): Promise<LangiumDocument[]> {
    const all = [...documents];
    const seen = new Set(all.map((d) => d.uri.toString()));
    for (let i = 0; i < all.length; i++) {
      const document = all[i]!;
      const root = document.parseResult?.value as Document | undefined;
      for (const imp of root?.imports ?? []) {
        if (typeof imp.path !== 'string' || !imp.path.endsWith('.policy')) continue;
        const uri = resolveImport(document, imp.path);
        const key = uri.toString();
        if (seen.has(key)) continue;
        seen.add(key);
        if (this.langiumDocuments.hasDocument(uri)) continue;
        const loaded = await this.load(uri);
        if (loaded) all.push(loaded);
      }
    }
    return all;
  }

  private async load(uri: URI): Promise<LangiumDocument | undefined> {
    try {
      const stat = await this.fileSystemProvider.stat(uri);
      if (!stat.isFile) return undefined;
      return await this.langiumDocuments.getOrCreateDocument(uri);
    } catch {
      return undefined; // reported at the import as SY021
    }
  }

  /**
   * A document whose text changed is normally unlinked whole before it is parsed again; here the
   * unlinking waits for the re-parse, which knows whether it replaced one item (and unlinks only
   * around it) or the whole tree (incremental.ts).
   */
  override resetToState<T extends AstNode>(document: LangiumDocument<T>, state: DocumentState): void {
    if (
      state !== DocumentState.Changed ||
      document.state < DocumentState.Linked ||
      !this.textDocuments?.get(document.uri.toString())
    ) {
      // Relinked from scratch: what the validator remembers about the nodes no longer holds.
      if (state <= DocumentState.Linked) this.forgetValidation(document);
      super.resetToState(document, state);
      return;
    }
    deferUnlink(document);
    this.indexManager.removeContent(document.uri);
    document.localSymbols = undefined;
    this.indexManager.removeReferences(document.uri);
    document.diagnostics = undefined;
    this.buildState.delete(document.uri.toString());
    document.state = state;
  }

  private forgetValidation(document: LangiumDocument): void {
    const validator = this.serviceRegistry.getServices(document.uri).validation.DocumentValidator;
    if (validator instanceof FastDocumentValidator) validator.forget(document);
  }

  protected override shouldRelink(document: LangiumDocument, changedUris: Set<string>): boolean {
    if (super.shouldRelink(document, changedUris)) return true;
    return (document.diagnostics ?? []).some(
      (d) => typeof d.code === 'string' && CROSS_FILE_CODES.has(d.code),
    );
  }
}
