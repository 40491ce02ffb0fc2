// The level (Low–Critical) of a decided class and the reasons shown for it in `classify`,
// `scan` and the catalogue.
import { ACCESS_NOUNS, BULK_WORDS, CODE_NOUNS, FAR_REACHING_WRITES, MILD_EXEC, SECRET_NOUNS, type VerbClass } from './lexicon.js';
import type { Evidence } from './combine.js';
import { ARBITRARY_PHRASE, EXEC_PHRASE, QUERY_WORDS, SQLISH } from './signals.js';
import { type Category, RISKS, type Risk, type ToolDefinition } from './types.js';

export interface RiskInput {
  verb: string | undefined;
  verbClass: VerbClass | undefined;
  nameTokens: string[];
  allDescTokens: Set<string>;
  lower: string;
  readOnlyQuery: boolean;
  codeArg: string | undefined;
  hints: NonNullable<ToolDefinition['annotations']>;
}

export function riskOf(category: Category, r: RiskInput): { risk: Risk; why?: string; query?: true } {
  const inName = (set: ReadonlySet<string>): string | undefined => r.nameTokens.find((t) => set.has(t));
  switch (category) {
    case 'Read': {
      if (r.readOnlyQuery) return { risk: 'Medium', why: 'risk Medium: runs queries; read-only by its own claim', query: true };
      const q = inName(CODE_NOUNS) ?? r.codeArg;
      if (q) return { risk: 'Medium', why: `risk Medium: runs a caller's query or code ("${q}")`, query: true };
      const secret = inName(SECRET_NOUNS);
      if (secret) return { risk: 'Medium', why: `risk Medium: reads "${secret}" (may expose secrets)` };
      if (r.hints.readOnlyHint === false) return { risk: 'Medium', why: 'risk Medium: the server says it is not read-only' };
      return { risk: 'Low' };
    }
    case 'Write': {
      if (r.verb && FAR_REACHING_WRITES.has(r.verb)) return { risk: 'High', why: `risk High: "${r.verb}" reaches beyond the caller` };
      const code = inName(CODE_NOUNS);
      if (code) return { risk: 'High', why: `risk High: runs a caller's "${code}" that writes` };
      const access = inName(ACCESS_NOUNS);
      if (access) return { risk: 'High', why: `risk High: changes "${access}" (access control or secrets)` };
      if (r.hints.destructiveHint === true) return { risk: 'High', why: 'risk High: the server declares destructiveHint: true' };
      if (/\boverwrit/.test(r.lower)) return { risk: 'High', why: 'risk High: may overwrite existing data' };
      return { risk: 'Medium' };
    }
    case 'Execute': {
      const code = r.nameTokens.find((t) => CODE_NOUNS.has(t) && (!QUERY_WORDS.has(t) || SQLISH.test(r.lower)));
      if (ARBITRARY_PHRASE.test(r.lower) || code || r.codeArg || EXEC_PHRASE.test(r.lower)) {
        return { risk: 'Critical', why: 'risk Critical: runs code, commands or queries given by the caller' };
      }
      if (r.verb && MILD_EXEC.has(r.verb)) return { risk: 'Medium', why: `risk Medium: "${r.verb}" has little effect on its own` };
      return { risk: 'High' };
    }
    case 'Destructive': {
      const bulk = inName(BULK_WORDS) ?? (['prune', 'purge', 'wipe', 'drop', 'truncate', 'nuke', 'obliterate'].includes(r.verb ?? '') ? r.verb : undefined);
      if (bulk) return { risk: 'Critical', why: `risk Critical: "${bulk}" reaches many objects or a whole store` };
      if (/\b(all|every|entire|permanent(ly)?|irreversibl\w*)\b/.test(r.lower)) {
        return { risk: 'Critical', why: 'risk Critical: description says all, permanent or irreversible' };
      }
      return { risk: 'High' };
    }
    case 'Financial': {
      if (r.verbClass === 'read') return { risk: 'Medium', why: 'risk Medium: reads financial records, moves no money' };
      return { risk: 'Critical', why: 'risk Critical: can move money or change billing' };
    }
    default:
      return { risk: 'Medium', why: 'risk Medium: unknown; review by hand' };
  }
}

/**
 * The level and the reasons of a decided class: the evidence for it (heaviest first), what set
 * the level and what raised it, the notes on how it was decided, and the strongest evidence against.
 */
export function explain(
  category: Category,
  evidence: readonly Evidence[],
  decisionNotes: readonly string[],
  input: RiskInput & { guardArg: string | undefined },
): { risk: Risk; reasons: string[]; query?: true } {
  const a = input.hints;
  const notes = [...decisionNotes];
  // Conflicts worth telling.
  if (a.readOnlyHint === true && category !== 'Read' && category !== 'Other') {
    notes.push(`server claims readOnlyHint: true, but the name and description say ${category}`);
  }
  if (a.readOnlyHint === undefined && a.destructiveHint === undefined && category === 'Other') {
    notes.push('no annotations: by the MCP defaults the tool may modify and destroy');
  }

  const reasons: string[] = [];
  if (category === 'Other') {
    reasons.push('no known verb or noun in the name or description');
  } else {
    const winning = category === 'Read' && input.readOnlyQuery ? 'Read' : category;
    const forIt = evidence.filter((e) => e.category === winning).sort((x, y) => y.weight - x.weight);
    reasons.push(...forIt.map((e) => e.reason));
  }
  const base = riskOf(category, input);
  let risk = base.risk;
  if (base.why) reasons.push(base.why);
  // Signals that raise the level (never lower it).
  const raise = (to: Risk, why: string): void => {
    if (RISKS.indexOf(to) > RISKS.indexOf(risk)) {
      risk = to;
      reasons.push(`risk ${to}: ${why}`);
    }
  };
  if (input.guardArg && category !== 'Read') raise('High', `argument "${input.guardArg}": the server itself guards this act`);
  if (a.destructiveHint === true && a.readOnlyHint !== true && category !== 'Read') raise('High', 'the server declares destructiveHint: true');
  if (a.openWorldHint === true && category === 'Execute') raise('High', 'the server declares openWorldHint: true (reaches outside systems)');
  reasons.push(...notes);
  const against = evidence.filter((e) => e.category !== category && e.weight >= 5).sort((x, y) => y.weight - x.weight)[0];
  if (against && category !== 'Other') reasons.push(`against: ${against.reason} (${against.category})`);
  return base.query ? { risk, reasons, query: true } : { risk, reasons };
}
