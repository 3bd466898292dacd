/**
 * "Did you mean": the commands closest to what was typed, by edit distance with transpositions (`stauts` ->
 * `status` is one edit), so a typo gets the command, not a list of all of them. Pure.
 */

/** Most suggestions shown. */
export const MAX_SUGGESTIONS = 3;

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * Commands (space-separated ids) close to what was typed (its words; extra words are taken for arguments, so
 * `storag ls vault` is compared as `storag ls` with `storage ls`): within a third of the compared length, at
 * least 2 edits; nearest first, ties in alphabetical order.
 */
export function closestCommands(typed: string, commands: readonly string[]): string[] {
  const words = typed.trim().toLowerCase().split(/\s+/);
  return commands
    .map((c) => {
      const t = words.slice(0, c.split(' ').length).join(' ');
      return { c, d: editDistance(t, c), limit: Math.max(2, Math.floor(t.length / 3)) };
    })
    .filter((x) => x.d <= x.limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, MAX_SUGGESTIONS)
    .map((x) => x.c);
}
