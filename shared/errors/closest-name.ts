/**
 * "Did you mean ...?" for misspelt keys and field names: the known name with the smallest edit
 * distance, if that distance is at most `maxDistance` (2 catches a typo or a swapped pair, without
 * suggesting unrelated short names).
 */
export function closestName(
  name: string,
  known: readonly string[],
  { maxDistance = 2 }: { maxDistance?: number } = {},
): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of known) {
    // The distance is at least the difference in length: skip the O(n·m) table when that alone
    // rules a name out (a hostile 2 MB key is compared with nothing).
    if (Math.abs(name.length - candidate.length) > maxDistance) continue;
    // Case-insensitive: `Hidden` for `hidden` is a typo, not two edits.
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions counting as 1. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[i - 2][j - 2] + 1);
      }
      d[i][j] = best;
    }
  }
  return d[a.length][b.length];
}
