/**
 * The one place that reads and writes fields Langium keeps private: incremental re-parsing
 * (incremental.ts) moves parsed leaves, splices subtrees and unlinks references in place, which
 * Langium's public API cannot do without parsing and linking the whole file again.
 *
 * Written against Langium 4.2 (`CstNodeBuilder` in `langium/lib/parser/cst-node-builder.js`,
 * references in `langium/lib/references/linker.js`). A Langium upgrade that renames or drops one of
 * these fields fails test/lsp/langium-internals.test.ts, which names the installed version.
 */
import type { AstNode, CstNode, MultiReference, Reference } from 'langium';

interface Position {
  line: number;
  character: number;
}

interface Range {
  start: Position;
  end: Position;
}

/** The private state of a CST node: a leaf's offset and range, a composite's range cache, the root's text. */
interface CstInternals {
  _offset: number;
  _range: Range;
  _rangeCache?: unknown;
  _astNode?: AstNode;
  _text: string;
  root: CstNode;
}

/** The private state of a reference: its resolved target (or error) and the description it came from. */
interface ReferenceInternals {
  _ref?: unknown;
  _nodeDescription?: unknown;
}

const cst = (node: CstNode): CstInternals => node as unknown as CstInternals;

/** A leaf's offset, read without the getter (hot loops). */
export function leafOffset(leaf: CstNode): number {
  return cst(leaf)._offset;
}

/** A leaf's range as stored (the same object `range` returns). */
export function leafRange(leaf: CstNode): Range {
  return cst(leaf)._range;
}

/** Puts a leaf at a new offset and range. */
export function moveLeaf(leaf: CstNode, offset: number, range: Range): void {
  const internals = cst(leaf);
  internals._offset = offset;
  internals._range = range;
}

/** A composite computes its range once; after its leaves moved it must compute it again. */
export function forgetRange(composite: CstNode): void {
  cst(composite)._rangeCache = undefined;
}

/** The AST node this CST node was built for itself (not the one it inherits from its container). */
export function ownAstNode(node: CstNode): AstNode | undefined {
  return cst(node)._astNode;
}

export function setOwnAstNode(node: CstNode, astNode: AstNode): void {
  cst(node)._astNode = astNode;
}

/** Makes a node parsed on its own part of another tree. */
export function setRoot(node: CstNode, root: CstNode): void {
  cst(node).root = root;
}

/** Replaces the text a root CST node holds (what `fullText` and every node's `text` read). */
export function setFullText(root: CstNode, text: string): void {
  cst(root)._text = text;
}

/** What a reference resolved to without resolving it: an AST node, a linking error, or nothing yet. */
export function resolvedTarget(reference: Reference | MultiReference): unknown {
  return (reference as unknown as ReferenceInternals)._ref;
}

/** Unlinks one reference, as Langium's linker does for a whole document; the next link resolves it again. */
export function unlinkReference(reference: Reference | MultiReference): void {
  const internals = reference as unknown as ReferenceInternals;
  internals._ref = undefined;
  delete internals._nodeDescription;
}
