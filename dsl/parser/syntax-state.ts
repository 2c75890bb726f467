import { type AstNode, AstUtils, type LangiumDocument } from 'langium';

const errorOffsets = new WeakMap<object, number[]>();

/** Offsets of the document's lexer and parser errors, sorted (an error at end of file counts as its end). */
function offsetsOf(document: LangiumDocument): number[] {
  const result = document.parseResult;
  let offsets = errorOffsets.get(result);
  if (!offsets) {
    const end = document.textDocument.getText().length;
    offsets = [
      ...result.lexerErrors.map((e) => e.offset),
      ...result.parserErrors.map((e) => (Number.isNaN(e.token.startOffset) ? end : e.token.startOffset)),
    ].sort((a, b) => a - b);
    errorOffsets.set(result, offsets);
  }
  return offsets;
}

/**
 * Does a syntax error fall inside this node (or right after it)? The parser's recovery may have
 * dropped items there, so checks for a missing item would only add noise.
 */
export function hasSyntaxError(node: AstNode): boolean {
  const cst = node.$cstNode;
  if (!cst) return true;
  const offsets = offsetsOf(AstUtils.getDocument(node));
  if (offsets.length === 0) return false;
  // First error at or after the node's start.
  let low = 0;
  let high = offsets.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (offsets[mid]! < cst.offset) low = mid + 1;
    else high = mid;
  }
  return low < offsets.length && offsets[low]! <= cst.end;
}
