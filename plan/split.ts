/**
 * Stable `split` picks (docs/language.md §6 step 3, §6.3): the same request id always picks the
 * same target, in every process and on every replay, so retries and replays never move a request.
 */

/**
 * A 32-bit hash of `text`: FNV-1a over its UTF-8 bytes, followed by the murmur3 finaliser so that
 * ids differing only in their last characters (`req-1`, `req-2`) spread over the whole range.
 * Pure integer arithmetic: identical in every JavaScript engine.
 */
export function hashId(text: string): number {
  let h = 0x811c9dc5;
  const byte = (b: number): void => {
    h = Math.imul(h ^ b, 0x01000193);
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) {
      byte(c);
    } else if (c < 0x800) {
      byte(0xc0 | (c >> 6));
      byte(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      byte(0xe0 | (c >> 12));
      byte(0x80 | ((c >> 6) & 0x3f));
      byte(0x80 | (c & 0x3f));
    } else {
      byte(0xf0 | (c >> 18));
      byte(0x80 | ((c >> 12) & 0x3f));
      byte(0x80 | ((c >> 6) & 0x3f));
      byte(0x80 | (c & 0x3f));
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Picks one of `weights` (any positive integers; the remaining targets of a split after `require`
 * filtering keep their relative weights) for request `id`: the hash is scaled onto
 * `[0, total)` and the first target whose cumulative weight exceeds that point wins.
 * Returns the index, or -1 when there is nothing to pick.
 */
export function pickWeighted(weights: readonly number[], id: string): number {
  let total = 0;
  for (const w of weights) total += w > 0 ? w : 0;
  if (total <= 0) return -1;
  // hash < 2^32 and total ≤ a few hundred: the product stays far below 2^53.
  const point = Math.floor((hashId(id) * total) / 0x1_0000_0000);
  let cumulative = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] ?? 0;
    if (w <= 0) continue;
    cumulative += w;
    if (point < cumulative) return i;
  }
  return weights.length - 1;
}
