import type { AstNode, Reference } from 'langium';
import { fail } from './errors.js';

/** The first block item of a kind: single-valued items count once (the validator reports repeats). */
export function first<T extends AstNode>(
  items: readonly AstNode[],
  is: (item: unknown) => item is T,
): T | undefined {
  return items.find(is);
}

/** The file (absolute path) that declares a node. */
export function fileOf(node: AstNode): string {
  let root: AstNode = node;
  while (root.$container) root = root.$container;
  return root.$document?.uri.fsPath ?? '';
}

/** The target of a reference, or a compile error at `at` (validation normally reports it first). */
export function resolveRef<T extends AstNode>(ref: Reference<T> | undefined, at: AstNode, what: string): T {
  const target = ref?.ref;
  if (!target) fail(at, 'E-COMPILE-UNRESOLVED', `unknown ${what} '${ref?.$refText ?? ''}'`);
  return target;
}
