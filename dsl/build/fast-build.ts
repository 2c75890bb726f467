/**
 * Build phases for the language server that do what Langium's defaults do, faster, so diagnostics
 * follow an edit of a large file quickly (bench/lsp.ts). Langium walks the tree with generic
 * streams and awaits at every node; these walk it with a plain loop and yield to the event loop
 * (for cancellation) every {@link YIELD_EVERY} nodes. Results are the same as the defaults'.
 *
 * - linking: the same `doLink` for every reference, in the same order;
 * - reference index: the same descriptions;
 * - local symbols: none, because SwitchyardScopeProvider never reads them (it builds its own
 *   cached scopes per policy and per import closure);
 * - validation: the same checks on the same nodes, in the same order.
 */
import {
  type AstNode,
  type CstNode,
  DefaultIndexManager,
  DefaultLinker,
  DefaultReferenceDescriptionProvider,
  type LangiumDocument,
  type ReferenceDescription,
  type Stream,
  type URI,
  interruptAndCheck,
  type ValidationAcceptor,
  type ValidationCategory,
  type ValidationCheck,
  type ValidationOptions,
} from 'langium';
import { CancellationToken, type Diagnostic } from 'vscode-languageserver-protocol';
import { SwitchyardDocumentValidator } from '../validation/document-validator.js';
import { allNodes, referencesOf } from './ast-walk.js';
import { generationOf, type IncrementalUpdate, incrementalUpdateOf, shiftPosition } from './incremental.js';

export const YIELD_EVERY = 2048;

/** Yields to the event loop every {@link YIELD_EVERY} calls, so a newer edit can cancel the build. */
function interrupter(cancelToken: CancellationToken): () => Promise<void> | undefined {
  let count = 0;
  return () => ((++count & (YIELD_EVERY - 1)) === 0 ? interruptAndCheck(cancelToken) : undefined);
}

export class FastLinker extends DefaultLinker {
  /** The parse generation each document was last linked at. */
  private readonly linked = new WeakMap<LangiumDocument, number>();

  override unlink(document: LangiumDocument): void {
    this.linked.delete(document);
    super.unlink(document);
  }

  override async link(
    document: LangiumDocument,
    cancelToken: CancellationToken = CancellationToken.None,
  ): Promise<void> {
    const update = incrementalUpdateOf(document);
    if (update && this.linked.get(document) === update.base) {
      // Only the re-parsed item and the references that pointed into the old one (incremental.ts).
      for (const node of allNodes(update.replacement))
        referencesOf(node, (info) => this.doLink(info, document));
      for (const reference of update.relink) void (reference as { ref?: unknown }).ref;
      this.linked.set(document, update.generation);
      return;
    }
    const interrupt = interrupter(cancelToken);
    for (const node of allNodes(document.parseResult.value)) {
      const pause = interrupt();
      if (pause) await pause;
      referencesOf(node, (info) => this.doLink(info, document));
    }
    this.linked.set(document, generationOf(document));
  }
}

export class FastReferenceDescriptionProvider extends DefaultReferenceDescriptionProvider {
  override async createDescriptions(
    document: LangiumDocument,
    cancelToken: CancellationToken = CancellationToken.None,
  ): Promise<ReferenceDescription[]> {
    const out: ReferenceDescription[] = [];
    const interrupt = interrupter(cancelToken);
    for (const node of allNodes(document.parseResult.value)) {
      const pause = interrupt();
      if (pause) await pause;
      referencesOf(node, (info) => {
        if (!info.reference.error) out.push(...this.createInfoDescriptions(info));
      });
    }
    return out;
  }

  /** The same descriptions, at once (for {@link LazyReferenceIndexManager}). */
  descriptionsOf(document: LangiumDocument): ReferenceDescription[] {
    const out: ReferenceDescription[] = [];
    for (const node of allNodes(document.parseResult.value)) {
      referencesOf(node, (info) => {
        if (!info.reference.error) out.push(...this.createInfoDescriptions(info));
      });
    }
    return out;
  }
}

interface ValidationMemo {
  /** The parse generation the diagnostics were computed on. */
  generation: number;
  categories: string;
  /** The diagnostics each node's checks reported (only nodes that reported any). */
  byNode: Map<AstNode, Diagnostic[]>;
}

/**
 * The nodes whose checks must run again after an incremental update, in document order where it
 * matters (ancestors first); undefined: all of them.
 */
function dirtyAfter(update: IncrementalUpdate): Set<AstNode> | undefined {
  const replacement = update.replacement;
  const topLevel = (node: AstNode): AstNode => {
    let current = node;
    while (current.$container?.$container) current = current.$container;
    return current;
  };
  const top = topLevel(replacement);
  // A catalog entry is read by every route that uses it: check everything.
  if (top.$type !== 'Policy' && top.$type !== 'Test') return undefined;
  const roots: AstNode[] = [replacement];
  const ancestors: AstNode[] = [];
  for (let current = replacement.$container; current; current = current.$container)
    ancestors.unshift(current);
  if (top.$type === 'Test') {
    roots.push(top);
  } else if (top !== replacement) {
    let item: AstNode = replacement;
    while (item.$container !== top) item = item.$container!;
    // Checks inside a route read that whole route and what it references (a deadline reads the
    // chain); budgets, guards and the policy's own checks read every route (a downgrade's price,
    // an after-route guard …). Anything else in a policy: check the policy again.
    const policyItems = (top as unknown as { items: AstNode[] }).items;
    if (item.$type === 'Route') {
      roots.push(item);
      for (const other of policyItems) if (other.$type !== 'Route') roots.push(other);
    } else {
      roots.push(top);
    }
  }
  for (const reference of update.relink) {
    const container = (reference as { $refNode?: CstNode }).$refNode?.astNode;
    if (container) roots.push(topLevel(container));
  }
  const run = new Set<AstNode>(ancestors);
  for (const root of roots) for (const node of allNodes(root)) run.add(node);
  return run;
}

function shifted(diagnostic: Diagnostic, update: IncrementalUpdate): Diagnostic {
  const start = shiftPosition(update, diagnostic.range.start);
  const end = shiftPosition(update, diagnostic.range.end);
  return start === diagnostic.range.start && end === diagnostic.range.end
    ? diagnostic
    : { ...diagnostic, range: { start, end } };
}

/**
 * The policy language's document validator, walking the tree like {@link FastLinker}. After an
 * incremental update (incremental.ts) it runs the checks of the nodes the edit can affect (see
 * {@link dirtyAfter}) and keeps, moved to their new positions, what the other nodes reported the
 * last time. test/lsp/incremental.test.ts compares the result with a full validation after
 * random edits.
 */
export class FastDocumentValidator extends SwitchyardDocumentValidator {
  private readonly checkCache = new Map<ValidationCategory[] | undefined, Map<string, ValidationCheck[]>>();
  private readonly memos = new WeakMap<LangiumDocument, ValidationMemo>();

  private checksFor(type: string, categories: ValidationCategory[] | undefined): ValidationCheck[] {
    let byType = this.checkCache.get(categories);
    if (!byType) {
      byType = new Map();
      this.checkCache.set(categories, byType);
    }
    let checks = byType.get(type);
    if (!checks) {
      checks = this.validationRegistry.getChecks(type, categories).toArray();
      byType.set(type, checks);
    }
    return checks;
  }

  /** Forgets what the document's nodes reported (its links were rebuilt from scratch). */
  forget(document: LangiumDocument): void {
    this.memos.delete(document);
  }

  protected override async validateAst(
    rootNode: AstNode,
    options: ValidationOptions,
    cancelToken: CancellationToken = CancellationToken.None,
  ): Promise<Diagnostic[]> {
    const items: Diagnostic[] = [];
    let sink: Diagnostic[] | undefined;
    const acceptor: ValidationAcceptor = (severity, message, info) => {
      const diagnostic = this.toDiagnostic(severity, message, info);
      items.push(diagnostic);
      sink?.push(diagnostic);
    };
    await this.validateAstBefore(rootNode, options, acceptor, cancelToken);
    const document = rootNode.$document;
    const categories = options.categories?.join(',') ?? '*';
    const memo = document ? this.memos.get(document) : undefined;
    const update = document ? incrementalUpdateOf(document) : undefined;
    const dirty =
      memo && update && memo.generation === update.base && memo.categories === categories
        ? dirtyAfter(update)
        : undefined;
    const byNode = new Map<AstNode, Diagnostic[]>();
    const run = async (node: AstNode): Promise<void> => {
      sink = [];
      for (const check of this.checksFor(node.$type, options.categories)) {
        const result = check(node, acceptor, cancelToken);
        if (result) await result;
      }
      if (sink.length > 0) byNode.set(node, sink);
      sink = undefined;
    };
    if (dirty && memo && update) {
      // Nodes outside the edit's reach report what they reported before, moved.
      const detached = (node: AstNode): boolean => {
        for (let current: AstNode | undefined = node; current; current = current.$container)
          if (current === update.old) return true;
        return false;
      };
      for (const [node, previous] of memo.byNode) {
        if (dirty.has(node) || detached(node)) continue;
        const moved = previous.map((d) => shifted(d, update));
        items.push(...moved);
        byNode.set(node, moved);
      }
      for (const node of dirty) await run(node);
    } else {
      const interrupt = interrupter(cancelToken);
      for (const node of allNodes(rootNode)) {
        const pause = interrupt();
        if (pause) await pause;
        await run(node);
      }
    }
    await this.validateAstAfter(rootNode, options, acceptor, cancelToken);
    if (document) this.memos.set(document, { generation: generationOf(document), categories, byNode });
    return items;
  }
}

/**
 * The reference index (what "find references" and cross-file updates read), computed when first
 * read instead of after every edit: an edit's diagnostics do not wait for it.
 */
export class LazyReferenceIndexManager extends DefaultIndexManager {
  private readonly pending = new Map<string, LangiumDocument>();

  override async updateReferences(document: LangiumDocument): Promise<void> {
    const uri = document.uri.toString();
    this.referenceIndex.delete(uri);
    this.pending.set(uri, document);
  }

  override removeReferences(uri: URI): void {
    this.pending.delete(uri.toString());
    super.removeReferences(uri);
  }

  override findAllReferences(targetNode: AstNode, astNodePath: string): Stream<ReferenceDescription> {
    this.flush();
    return super.findAllReferences(targetNode, astNodePath);
  }

  override isAffected(document: LangiumDocument, changedUris: Set<string>): boolean {
    this.flush(document.uri.toString());
    return super.isAffected(document, changedUris);
  }

  private flush(only?: string): void {
    for (const [uri, document] of [...this.pending]) {
      if (only !== undefined && uri !== only) continue;
      this.pending.delete(uri);
      const provider = this.serviceRegistry.getServices(document.uri).workspace.ReferenceDescriptionProvider;
      const descriptions =
        provider instanceof FastReferenceDescriptionProvider ? provider.descriptionsOf(document) : [];
      this.referenceIndex.set(uri, descriptions);
    }
  }
}
