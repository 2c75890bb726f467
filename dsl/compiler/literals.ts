import { type CstNode, CstUtils } from 'langium';
import { readDollars } from '../../plan/money.js';

/**
 * Dollars as written (`"0.0025"`, `"$500"`) to integer nano-dollars, exactly: the integer and
 * fraction digits are read as decimal strings, never as a binary float. Digits beyond the ninth
 * decimal round **up** (reservations round up; the validator reports such literals anyway).
 * Returns `undefined` for text that is not money or an amount beyond the safe-integer range.
 */
export function dollarsToNanos(text: string): number | undefined {
  const nanos = readDollars(text)?.nanos;
  return nanos !== undefined && nanos <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(nanos) : undefined;
}

/** Tokens that stick to their neighbours when a condition or rule is printed. */
const NO_SPACE_AFTER = new Set(['(', '[', '.']);
const NO_SPACE_BEFORE = new Set([')', ']', ',', '.']);

/**
 * The source text of a node, normalised: its tokens without comments, separated by single spaces
 * (none around `.`, inside brackets, before `,`). The same whatever the layout, so the plan's hash
 * does not change with whitespace or comments: `capability  ==  "chat"  // x` → `capability == "chat"`.
 */
export function normalisedText(node: CstNode | undefined): string {
  if (!node) return '';
  let text = '';
  let previous: string | undefined;
  for (const { text: leaf } of CstUtils.flattenCst(node).filter((leaf) => !leaf.hidden)) {
    if (previous !== undefined && !NO_SPACE_AFTER.has(previous) && !NO_SPACE_BEFORE.has(leaf)) text += ' ';
    text += leaf;
    previous = leaf;
  }
  return text;
}
