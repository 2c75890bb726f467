/** Plain-loop walks over the AST: what `streamAst` and `streamReferences` yield, without streams. */
import type { AstNode, Reference, ReferenceInfo } from 'langium';

function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).$type === 'string';
}

function isRef(value: unknown): value is Reference {
  return typeof value === 'object' && value !== null && typeof (value as Reference).$refText === 'string';
}

/** Every node below (and including) `root`, in document order (the order of `streamAst`). */
export function allNodes(root: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const stack: AstNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    out.push(node);
    const children: AstNode[] = [];
    for (const key in node) {
      if (key.charCodeAt(0) === 36 /* $ */) continue;
      const value = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) children.push(item);
      } else if (isNode(value)) {
        children.push(value);
      }
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

/** The references a node holds itself (what `streamReferences` yields). */
export function referencesOf(node: AstNode, visit: (info: ReferenceInfo) => void): void {
  for (const key in node) {
    if (key.charCodeAt(0) === 36) continue;
    const value = (node as unknown as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        if (isRef(item)) visit({ reference: item, container: node, property: key, index });
      });
    } else if (isRef(value)) {
      visit({ reference: value, container: node, property: key });
    }
  }
}
