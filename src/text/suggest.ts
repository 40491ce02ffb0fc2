// "Did you mean ...?": the names closest to a misspelt one, for the command
// line (unknown commands) and the gateway (policy tools a server lacks).
import { distance } from 'fastest-levenshtein';

/**
 * The candidates nearest to `word` by edit distance (case-insensitive), when
 * near enough to be a plausible typo: at most a third of the word's length,
 * and at least one edit. Ties are all returned, in the candidates' order.
 */
export function closestNames(word: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  const lower = word.toLowerCase();
  let best = Infinity;
  let found: string[] = [];
  for (const c of new Set(candidates)) {
    if (c === word) continue;
    const d = distance(lower, c.toLowerCase());
    if (d > limit || d > best) continue;
    if (d < best) {
      best = d;
      found = [];
    }
    found.push(c);
  }
  return found;
}

/** " (did you mean 'a' or 'b'?)", or "" when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const names = closestNames(word, candidates).map((n) => `'${n}'`);
  if (names.length === 0) return '';
  return ` (did you mean ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`}?)`;
}
