/**
 * Incremental re-parsing for the language server. An edit inside one block item (a route, a
 * `use` line, a model's `price` …) re-parses that item alone with its own grammar rule, splices the
 * new subtree into the document's AST and CST, and shifts the positions after it — instead of
 * parsing a 10k-line file again. The result is the tree a full parse would build (the tests compare
 * both after random edits); whenever that cannot be guaranteed cheaply (syntax errors before or
 * after, an edit across items, a comment at an item's edge) the document is parsed whole.
 *
 * Linking then only needs the new subtree and the references that pointed into the old one
 * ({@link IncrementalUpdate}); everything else keeps its links. The parse tree is changed in place
 * through langium-internals.ts, the one module that touches Langium's private fields.
 */
import {
  type AstNode,
  type CstNode,
  DefaultLangiumDocumentFactory,
  DocumentState,
  type LangiumCoreServices,
  type LangiumDocument,
  type LangiumSharedCoreServices,
  type MultiReference,
  type Reference,
  isAstNode,
} from 'langium';
import type { CancellationToken } from 'vscode-languageserver-protocol';
import { allNodes } from './ast-walk.js';
import {
  forgetRange,
  leafOffset,
  leafRange,
  moveLeaf,
  ownAstNode,
  resolvedTarget,
  setFullText,
  setOwnAstNode,
  setRoot,
  unlinkReference,
} from './langium-internals.js';

/** AST properties whose elements are block items or top-level elements: what can be re-parsed. */
const ITEM_LISTS = ['imports', 'providers', 'models', 'policies', 'tests', 'items', 'fields'] as const;

/** Re-parse only when the item is at most this share of the file (else a full parse is as cheap). */
const MAX_SHARE = 0.5;

type AnyReference = Reference | MultiReference;

/** What an incremental update changed, for the linker and the validator. */
export interface IncrementalUpdate {
  /** The new subtree (already in the AST), and the one it replaced (detached). */
  replacement: AstNode;
  old: AstNode;
  /** References elsewhere in the document that pointed into the replaced subtree, now unlinked. */
  relink: AnyReference[];
  /** The document's parse generation this update was made from, and the one it makes. */
  base: number;
  generation: number;
  /** Where the replaced text ended before and ends now: positions after it moved by this much. */
  shift: { oldEnd: Position; newEnd: Position };
}

const updates = new WeakMap<LangiumDocument, IncrementalUpdate>();
const generations = new WeakMap<LangiumDocument, number>();

/** Counts the parses of a document's text; incremental work is only valid on top of the last one. */
export function generationOf(document: LangiumDocument): number {
  return generations.get(document) ?? 0;
}

/** The incremental update of the document's current parse, if its last parse was one. */
export function incrementalUpdateOf(document: LangiumDocument): IncrementalUpdate | undefined {
  const update = updates.get(document);
  return update && update.generation === generationOf(document) ? update : undefined;
}

/** Moves a position that was after the replaced text to where it is now. */
export function shiftPosition(update: IncrementalUpdate, p: Position): Position {
  const { oldEnd, newEnd } = update.shift;
  if (p.line < oldEnd.line || (p.line === oldEnd.line && p.character < oldEnd.character)) return p;
  return p.line === oldEnd.line
    ? { line: newEnd.line, character: newEnd.character + (p.character - oldEnd.character) }
    : { line: p.line + (newEnd.line - oldEnd.line), character: p.character };
}

/** How documents were re-parsed since the process started (tests and benchmarks read it). */
export const reparseCounts = { incremental: 0, full: 0 };

/** Documents whose unlinking was deferred to the re-parse (see SwitchyardDocumentBuilder). */
const deferredUnlink = new WeakSet<LangiumDocument>();

export function deferUnlink(document: LangiumDocument): void {
  deferredUnlink.add(document);
}

function isComposite(node: CstNode): node is CstNode & { content: CstNode[] } {
  return Array.isArray((node as { content?: unknown }).content);
}

/** The rule that parses an item of this type (its own name, except the `given` alternatives). */
function ruleOf(node: AstNode): string {
  return node.$type.startsWith('Given') ? 'Given' : node.$type;
}

/** Block items containing [start, end), innermost first. */
function itemsContaining(root: AstNode, start: number, end: number): AstNode[] {
  const found: AstNode[] = [];
  let current: AstNode | undefined = root;
  while (current) {
    let next: AstNode | undefined;
    for (const list of ITEM_LISTS) {
      const items = (current as unknown as Record<string, unknown>)[list];
      if (!Array.isArray(items)) continue;
      for (const item of items as AstNode[]) {
        const cst = item.$cstNode;
        if (cst && cst.offset <= start && end <= cst.end) {
          next = item;
          break;
        }
      }
      if (next) break;
    }
    if (next) found.unshift(next);
    current = next;
  }
  return found;
}

/** The deepest composite CST node that stands for `node` (an item's rule call may nest one level). */
function itemComposite(node: AstNode): (CstNode & { content: CstNode[] }) | undefined {
  const start = node.$cstNode;
  if (!start || !isComposite(start)) return undefined;
  let cst: CstNode & { content: CstNode[] } = start;
  for (;;) {
    const only: CstNode | undefined = cst.content.length === 1 ? cst.content[0] : undefined;
    if (only && !only.hidden && isComposite(only) && ownAstNode(only) === node) cst = only;
    else return cst;
  }
}

interface Position {
  line: number;
  character: number;
}

export class IncrementalDocumentFactory extends DefaultLangiumDocumentFactory {
  private readonly services: LangiumSharedCoreServices;

  constructor(services: LangiumSharedCoreServices) {
    super(services);
    this.services = services;
  }

  override async update<T extends AstNode = AstNode>(
    document: LangiumDocument<T>,
    cancellationToken: CancellationToken,
  ): Promise<LangiumDocument<T>> {
    const deferred = deferredUnlink.has(document);
    deferredUnlink.delete(document);
    const textDocument = this.textDocuments?.get(document.uri.toString());
    const old = document.parseResult?.value?.$cstNode?.root.fullText;
    if (deferred && textDocument && old !== undefined) {
      const text = textDocument.getText();
      const base = generationOf(document);
      const update = text === old ? { replacement: undefined } : this.reparse(document, old, text);
      if (update) {
        Object.defineProperty(document, 'textDocument', { value: textDocument, configurable: true });
        if (update.replacement) {
          const full = update as IncrementalUpdate;
          full.base = base;
          full.generation = base + 1;
          generations.set(document, base + 1);
          updates.set(document, full);
          reparseCounts.incremental++;
        }
        document.state = DocumentState.Parsed;
        return document;
      }
    }
    if (deferred) this.linker(document).unlink(document);
    updates.delete(document);
    generations.set(document, generationOf(document) + 1);
    reparseCounts.full++;
    return super.update(document, cancellationToken);
  }

  private linker(document: LangiumDocument) {
    return this.services.ServiceRegistry.getServices(document.uri).references.Linker;
  }

  private languageServices(document: LangiumDocument): LangiumCoreServices {
    return this.services.ServiceRegistry.getServices(document.uri);
  }

  /** Re-parses the innermost item around the change; undefined when a full parse is needed. */
  private reparse(document: LangiumDocument, old: string, text: string): IncrementalUpdate | undefined {
    const { parseResult } = document;
    if (parseResult.lexerErrors.length > 0 || parseResult.parserErrors.length > 0) return undefined;
    let start = 0;
    const shortest = Math.min(old.length, text.length);
    while (start < shortest && old.charCodeAt(start) === text.charCodeAt(start)) start++;
    let oldEnd = old.length;
    let newEnd = text.length;
    while (oldEnd > start && newEnd > start && old.charCodeAt(oldEnd - 1) === text.charCodeAt(newEnd - 1)) {
      oldEnd--;
      newEnd--;
    }
    const candidates = itemsContaining(parseResult.value, start, oldEnd).slice(0, 3);
    for (const node of candidates) {
      const cst = node.$cstNode!;
      if (cst.length > old.length * MAX_SHARE) return undefined;
      const update = this.replace(document, node, old, text);
      if (update) return update;
    }
    return undefined;
  }

  private replace(
    document: LangiumDocument,
    node: AstNode,
    old: string,
    text: string,
  ): IncrementalUpdate | undefined {
    const delta = text.length - old.length;
    const composite = itemComposite(node);
    const outer = node.$cstNode!;
    if (!composite) return undefined;
    const regionStart = outer.offset;
    const regionOldEnd = outer.end;
    const regionNewEnd = regionOldEnd + delta;
    if (regionNewEnd <= regionStart) return undefined;
    // The item must still be delimited by whitespace or braces, exactly as before.
    const before = regionStart === 0 ? ' ' : text.charAt(regionStart - 1);
    const after = regionNewEnd >= text.length ? ' ' : text.charAt(regionNewEnd);
    if (!/[\s{]/.test(before) || !/[\s}]/.test(after)) return undefined;

    const services = this.languageServices(document);
    const region = text.slice(regionStart, regionNewEnd);
    let result;
    try {
      result = services.parser.LangiumParser.parse(region, { rule: ruleOf(node) });
    } catch {
      return undefined;
    }
    if (result.lexerErrors.length > 0 || result.parserErrors.length > 0) return undefined;
    const replacement = result.value;
    const sub = replacement.$cstNode;
    if (!sub || !isComposite(sub) || sub.content.length === 0) return undefined;
    // A comment at either edge belongs to the neighbours in a full parse: parse whole instead.
    if (sub.content[0]!.hidden || sub.content[sub.content.length - 1]!.hidden) return undefined;
    if (sub.offset !== 0 || sub.end !== region.length) return undefined;

    const oldNodes = new Set(allNodes(node));
    const newNodes = allNodes(replacement);
    // An import decides what every reference of the file can see: parse whole.
    if ([...oldNodes, ...newNodes].some((n) => n.$type === 'Import')) return undefined;
    const names = new Set<string>();
    for (const n of [...oldNodes, ...newNodes]) {
      const name = (n as { name?: unknown }).name;
      if (typeof name === 'string') names.add(name);
    }
    const relink = this.unlinkAround(document, oldNodes, names);

    // CST: the new children take the old item's place; positions are made absolute.
    const root = outer.root;
    const startPosition: Position = outer.range.start;
    const oldEndPosition: Position = outer.range.end;
    for (const cstNode of walk(sub)) {
      setRoot(cstNode, root);
      if (isComposite(cstNode)) {
        forgetRange(cstNode);
        continue;
      }
      const { start, end } = leafRange(cstNode);
      moveLeaf(cstNode, leafOffset(cstNode) + regionStart, {
        start: {
          line: start.line + startPosition.line,
          character: start.line === 0 ? start.character + startPosition.character : start.character,
        },
        end: {
          line: end.line + startPosition.line,
          character: end.line === 0 ? end.character + startPosition.character : end.character,
        },
      });
    }
    const children = [...sub.content];
    const lastLeaf = lastLeafOf(sub)!;
    const newEndPosition: Position = leafRange(lastLeaf).end;
    const lineDelta = newEndPosition.line - oldEndPosition.line;
    const map = (p: Position): Position =>
      p.line === oldEndPosition.line
        ? {
            line: newEndPosition.line,
            character: newEndPosition.character + (p.character - oldEndPosition.character),
          }
        : { line: p.line + lineDelta, character: p.character };
    shiftAfter(root, composite, regionOldEnd, delta, lineDelta === 0 ? oldEndPosition.line : -1, map);
    composite.content.splice(0, composite.content.length, ...children);
    for (let cst: CstNode | undefined = composite; cst; cst = cst.container) forgetRange(cst);
    for (let cst: CstNode | undefined = composite; cst && cst !== outer.container; cst = cst.container) {
      if (ownAstNode(cst) === node) setOwnAstNode(cst, replacement);
    }
    setFullText(root, text);

    // AST: the new subtree takes the old item's place in its container.
    const container = node.$container as unknown as Record<string, unknown>;
    const property = node.$containerProperty!;
    const index = node.$containerIndex;
    const target = replacement as { -readonly [K in keyof AstNode]: AstNode[K] };
    target.$container = node.$container;
    target.$containerProperty = property;
    target.$containerIndex = index;
    target.$cstNode = outer;
    if (index !== undefined) (container[property] as AstNode[])[index] = replacement;
    else container[property] = replacement;
    return {
      replacement,
      old: node,
      relink,
      base: 0,
      generation: 0,
      shift: { oldEnd: oldEndPosition, newEnd: newEndPosition },
    };
  }

  /**
   * Drops the references of the replaced subtree from the document's list and unlinks, to link
   * them again, the references elsewhere that may now resolve differently: those that pointed into
   * the old subtree, those that did not resolve, those whose name the edit declared or removed,
   * and everything inside a test whose `for` policy is among them. The rest keep their targets.
   */
  private unlinkAround(
    document: LangiumDocument,
    oldNodes: Set<AstNode>,
    names: Set<string>,
  ): AnyReference[] {
    const keep: { reference: AnyReference; container: AstNode | undefined }[] = [];
    const relink: AnyReference[] = [];
    const retests = new Set<AstNode>();
    const inside = (node: AstNode | undefined, set: Set<AstNode>): boolean => {
      for (let current = node; current; current = current.$container) if (set.has(current)) return true;
      return false;
    };
    const unlink = (reference: AnyReference): void => {
      unlinkReference(reference);
      relink.push(reference);
    };
    for (const reference of document.references) {
      const container = (reference as { $refNode?: CstNode }).$refNode?.astNode;
      if (container && oldNodes.has(container)) continue;
      const target = resolvedTarget(reference);
      if (
        reference.error ||
        !isAstNode(target) ||
        inside(target, oldNodes) ||
        names.has(reference.$refText)
      ) {
        if (container?.$type === 'Test') retests.add(container);
        unlink(reference);
      } else {
        keep.push({ reference, container });
      }
    }
    const kept: AnyReference[] = [];
    for (const { reference, container } of keep) {
      if (retests.size > 0 && inside(container, retests)) unlink(reference);
      else kept.push(reference);
    }
    document.references = kept;
    return relink;
  }
}

/**
 * Moves every leaf at or after `from` (outside `skip`, the replaced item) by `delta` characters and
 * to its new line and column. Subtrees that end before `from` are left alone; when the edit kept
 * the line count (`onlyLine` ≥ 0), only leaves on that line get new positions.
 */
function shiftAfter(
  root: CstNode,
  skip: CstNode,
  from: number,
  delta: number,
  onlyLine: number,
  map: (p: Position) => Position,
): void {
  const lastOffset = (node: CstNode): number => {
    const last = lastLeafOf(node);
    return last ? leafOffset(last) : -1;
  };
  const shiftLeaf = (leaf: CstNode): void => {
    const range = leafRange(leaf);
    const moved = onlyLine < 0 || range.start.line === onlyLine || range.end.line === onlyLine;
    moveLeaf(
      leaf,
      leafOffset(leaf) + delta,
      moved ? { start: map(range.start), end: map(range.end) } : range,
    );
  };
  /** Every leaf below `node` is at or after `from`. */
  const shiftAll = (node: CstNode): void => {
    const stack: CstNode[] = [node];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (current === skip) continue;
      if (isComposite(current)) {
        forgetRange(current);
        for (const child of current.content) stack.push(child);
      } else {
        shiftLeaf(current);
      }
    }
  };
  // Down the path of composites that straddle `from`: children before it stay, after it all move.
  let current: CstNode | undefined = root;
  while (current && current !== skip) {
    if (!isComposite(current)) {
      if (leafOffset(current) >= from) shiftLeaf(current);
      return;
    }
    if (lastOffset(current) < from) return;
    forgetRange(current);
    const content: CstNode[] = current.content;
    let low = 0;
    let high = content.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (lastOffset(content[middle]!) < from) low = middle + 1;
      else high = middle;
    }
    for (let i = low + 1; i < content.length; i++) shiftAll(content[i]!);
    current = content[low];
  }
}

function* walk(node: CstNode): Generator<CstNode> {
  const stack: CstNode[] = [node];
  while (stack.length > 0) {
    const current = stack.pop()!;
    yield current;
    if (isComposite(current))
      for (let i = current.content.length - 1; i >= 0; i--) stack.push(current.content[i]!);
  }
}

function lastLeafOf(node: CstNode): CstNode | undefined {
  let current: CstNode | undefined = node;
  while (current && isComposite(current)) current = current.content[current.content.length - 1];
  return current;
}
