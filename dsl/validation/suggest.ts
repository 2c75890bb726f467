/** Edit distance (insertions, deletions, substitutions), bounded: returns `max + 1` once above `max`. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known names closest to `name` (a typo's likely targets), best first: within an edit distance
 * of a third of the name's length (at least 2), or differing only in case.
 */
export function closestNames(name: string, known: Iterable<string>, limit = 3): string[] {
  const max = Math.max(2, Math.floor(name.length / 3));
  const scored: { candidate: string; distance: number }[] = [];
  const seen = new Set<string>();
  for (const candidate of known) {
    if (candidate === name || seen.has(candidate)) continue;
    seen.add(candidate);
    const distance =
      candidate.toLowerCase() === name.toLowerCase() ? 0.5 : editDistance(name, candidate, max);
    if (distance <= max) scored.push({ candidate, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || x.candidate.localeCompare(y.candidate));
  return scored.slice(0, limit).map((s) => s.candidate);
}

/** `; did you mean 'x'?` or the empty string. */
export function didYouMean(candidates: string[], quote = "'"): string {
  return candidates.length > 0 ? `; did you mean ${quote}${candidates[0]}${quote}?` : '';
}
