// Combining evidence: each piece votes for a class with a weight; the heaviest class wins,
// rounded up towards the more severe when close. Confidence is the winner's share.
import type { VerbClass } from './lexicon.js';
import type { Category, ToolDefinition } from './types.js';

export type Scored = Exclude<Category, 'Other'>;

/** More severe first: ties between equal scores go to the first of these. */
export const SEVERITY: readonly Scored[] = ['Financial', 'Destructive', 'Execute', 'Write', 'Read'];

export const CLASS_CATEGORY: Record<VerbClass, Scored> = {
  read: 'Read',
  write: 'Write',
  destroy: 'Destructive',
  exec: 'Execute',
  pay: 'Financial',
};

export interface Evidence {
  category: Scored;
  weight: number;
  reason: string;
}

/**
 * How sure the classifier is, 0 to 1: the winning class's share of the evidence for it and its
 * strongest rival, scaled down when the evidence is thin (less than a verb in the name).
 */
export function confidenceOf(category: Category, best: number, totals: ReadonlyMap<Scored, number>): number {
  if (category === 'Other' || best <= 0) return 0;
  let rival = 0;
  for (const [c, t] of totals) if (c !== category && t > rival) rival = t;
  const share = best / (best + rival);
  return Math.round(share * Math.min(1, best / 10) * 100) / 100;
}

/** Classes that get approval or validation from `scan`: rounding up goes only towards these. */
export const HIGH_RISK: ReadonlySet<Scored> = new Set(['Financial', 'Destructive', 'Execute']);

/** A more severe class with at least this share of the winner's weight wins instead. */
export const ROUND_UP = 0.7;

/** What the evidence decides: the class, its weight, every class's total, and the notes on how. */
export interface Decision {
  category: Category;
  best: number;
  totals: ReadonlyMap<Scored, number>;
  notes: string[];
}

/**
 * The heaviest class wins, ties going to the more severe. When unsure, round up: a more severe
 * high-risk class with at least ROUND_UP of the winner's weight takes its place (a tool that may
 * run or destroy is treated as one that does). A server's destructiveHint lifts a Read.
 */
export function decide(evidence: readonly Evidence[], hints: NonNullable<ToolDefinition['annotations']>): Decision {
  const notes: string[] = [];
  const totals = new Map<Scored, number>();
  for (const e of evidence) totals.set(e.category, (totals.get(e.category) ?? 0) + e.weight);
  let category: Category = 'Other';
  let best = 0;
  for (const c of SEVERITY) {
    const t = totals.get(c) ?? 0;
    if (t > best) {
      best = t;
      category = c;
    }
  }
  const winnerScore = best;
  if (category !== 'Other') {
    for (const c of SEVERITY) {
      if (c === category) break;
      if (!HIGH_RISK.has(c)) continue;
      const t = totals.get(c) ?? 0;
      if (t > 0 && t >= ROUND_UP * winnerScore) {
        notes.push(`rounded up from ${category}: the ${c} evidence is close (${t} against ${winnerScore})`);
        category = c;
        best = t;
        break;
      }
    }
  }
  // An annotation may also lift a Read: the server itself says the tool is destructive.
  if (category === 'Read' && hints.destructiveHint === true && hints.readOnlyHint !== true) {
    category = 'Write';
    notes.push('raised from Read: the server declares destructiveHint: true');
  }
  return { category, best, totals, notes };
}
