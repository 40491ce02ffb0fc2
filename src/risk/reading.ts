// Reading a tool's name and description: the verb a name rests on, the leading verb of a
// description, the words a verb acts on, and which nouns name money.
import {
  BROWSER_NOUNS,
  CODE_NOUNS,
  COMPOUNDS,
  CONTEXT_MONEY_NOUNS,
  DATABASE_WORDS,
  FEED_WORDS,
  FILLER,
  FINANCIAL_NOUNS,
  MONEY_WORDS,
  TRADING_WORDS,
  VERBS,
  type VerbClass,
  WEAK_VERBS,
  lemma,
} from './lexicon.js';
import { type Prop, normalizeArg } from './signals.js';

export const LEVERAGE_WORDS: ReadonlySet<string> = new Set([
  'margin',
  'futures',
  'position',
  'positions',
  'perpetual',
  'perp',
  'symbol',
  'trading',
  'exchange',
  'isolated',
  'cross',
]);

/**
 * Words before "order" that make it no purchase: a sequence ("display order", "ingestion order")
 * or an instruction to a system ("a deploy order", "a work order").
 */
const NOT_PURCHASE_BEFORE: ReadonlySet<string> = new Set(
  'display insertion ingestion creation chronological alphabetical reverse natural random same default numerical execution processing deploy deployment release build job task work'.split(
    ' ',
  ),
);

/** An order, trade or transaction among trading or commerce words (not of a database). */
export function isContextMoneyNoun(t: string, tokens: readonly string[], descTokens: ReadonlySet<string>, props: readonly Prop[] = []): boolean {
  if (!CONTEXT_MONEY_NOUNS.has(t)) return false;
  const all = [...tokens, ...descTokens, ...props.map((p) => normalizeArg(p.name))];
  if ((t === 'transaction' || t === 'transactions') && all.some((w) => DATABASE_WORDS.has(w))) return false;
  if (t === 'order' || t === 'orders') {
    // An order is a purchase or a trade unless it is a sort order ("ascending order", "display
    // order", "in order to") or an instruction ("a deploy order").
    if (all.some((w) => /^(sort|sorting|sortorder|reorder|ordering|ascending|descending|asc|desc)$/.test(w))) return false;
    // "in order to" is a purpose; "the items in order 1042" is still a purchase.
    return !tokens.some((w, i) => w === t && (NOT_PURCHASE_BEFORE.has(tokens[i - 1] ?? '') || (tokens[i - 1] === 'in' && tokens[i + 1] === 'to')));
  }
  if (t === 'trade' || t === 'trades') return true;
  // "leverages a model" is a verb; the leverage of an account goes with positions and margin.
  if (t === 'leverage') return all.some((w) => LEVERAGE_WORDS.has(w));
  return all.some((w) => TRADING_WORDS.has(w) || FINANCIAL_NOUNS.has(w) || MONEY_WORDS.has(w));
}

export function joinCompounds(tokens: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    const c = next === undefined ? undefined : COMPOUNDS.find(([a, b]) => a === t && b === next);
    if (c) {
      out.push(c[2]);
      i++;
    } else {
      out.push(t);
    }
  }
  return out;
}

export const KNOWN_NOUNS = new Set<string>([...COMPOUNDS.map((c) => c[2]), ...FINANCIAL_NOUNS, ...CODE_NOUNS, ...BROWSER_NOUNS]);

/**
 * The verb a name rests on: the first verb token, as written (no inflections: `logs`, `comments`
 * are nouns in a name). A weak verb (one that is usually a noun when
 * not first, like `log` or `comment`) counts only first, or second after an unknown prefix word
 * (`slack_post_message`, `asana_set_parent`).
 */
export function findNameVerb(tokens: string[], readingDescription = false): string | undefined {
  const verb = firstNameVerb(tokens, readingDescription);
  // A read verb that is also a noun, before a more severe verb at the end (`monitor_delete`,
  // `scan_remove`): the name is noun-then-verb and the last word is what the call does.
  const last = tokens[tokens.length - 1];
  if (verb && !PLAIN_READS.has(verb) && VERBS.get(verb) === 'read' && last && VERBS.get(last) === 'destroy' && !WEAK_VERBS.has(last)) return last;
  return verb;
}

/** Read verbs that are only verbs (`get_commit` gets a commit): never a noun before another verb. */
export const PLAIN_READS: ReadonlySet<string> = new Set(
  'get list read fetch retrieve show view describe search find query lookup count export download'.split(' '),
);

function firstNameVerb(tokens: string[], readingDescription: boolean): string | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!VERBS.has(t) && t !== 'transfer') continue;
    if (!WEAK_VERBS.has(t)) return coordinated(tokens, i, false);
    // A weak verb then a clear verb is a noun then a verb (`log_read`, `domain_record_get`).
    if (i <= 1) {
      const clear = tokens.findIndex((u, j) => j > i && VERBS.has(u) && !WEAK_VERBS.has(u));
      if (clear > i) return coordinated(tokens, clear, false);
    }
    if (i === 0) return coordinated(tokens, i, false);
    // Last in the name after another word, with a reading description, it is a noun (`pods_log`: "Get the logs").
    if (i === 1 && (i < tokens.length - 1 || !readingDescription)) {
      const prev = tokens[0]!;
      if (!VERBS.has(prev) && !KNOWN_NOUNS.has(prev)) return coordinated(tokens, i, false);
    }
  }
  return undefined;
}

/** A weak verb further in (`browser_screenshot`): the verb when neither name nor description has a clear one. */
export function findWeakNameVerb(tokens: string[]): string | undefined {
  const weak = tokens.findIndex((u) => VERBS.has(u));
  return weak >= 0 ? coordinated(tokens, weak, false) : undefined;
}

export const CLASS_SEVERITY: Record<VerbClass, number> = { read: 1, write: 2, exec: 3, destroy: 4, pay: 5 };

/**
 * The most severe of the verbs coordinated with the one at `i` ("list and create",
 * `create_or_update`, "create, run and see"): a tool that can do both is the more dangerous.
 */
export function coordinated(tokens: string[], i: number, lemmatize: boolean): string {
  let best = tokens[i]!;
  let j = i + 1;
  let joined = false;
  while (j < tokens.length) {
    const t = tokens[j]!;
    if (t === 'and' || t === 'or' || t === ',') {
      joined = true;
      j++;
      continue;
    }
    if (!joined) break;
    const v = lemmatize ? lemma(t) : t;
    if (!VERBS.has(v)) break;
    if (CLASS_SEVERITY[VERBS.get(v)!] > CLASS_SEVERITY[VERBS.get(best) ?? 'read']) best = v;
    joined = false;
    j++;
  }
  return best;
}

/** The leading verb of a description sentence, after filler words ("Use this tool to …"). */
export function findDescriptionVerb(tokens: string[]): string | undefined {
  let seen = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (FILLER.has(t)) continue;
    if (t === 'transfer') return t;
    // The first word may be any verb; the second ("Web search …") only a clear one.
    if (VERBS.has(t) && (seen === 0 || !WEAK_VERBS.has(t))) return coordinated(tokens, i, true);
    if (++seen >= 2) return undefined;
  }
  return undefined;
}

export function verbClassOf(verb: string, tokens: string[], descTokens: Set<string>): VerbClass {
  if (verb === 'transfer') {
    const moneyish =
      tokens.some((t) => MONEY_WORDS.has(t) || FINANCIAL_NOUNS.has(t)) || [...descTokens].some((t) => MONEY_WORDS.has(t) || FINANCIAL_NOUNS.has(t));
    return moneyish ? 'pay' : 'write';
  }
  return VERBS.get(verb) ?? 'read';
}

export function isFinancialNoun(t: string, nameSet: Set<string>, descTokens: Set<string>, feed = false): boolean {
  if (!FINANCIAL_NOUNS.has(t)) return false;
  if (t === 'subscription' || t === 'subscriptions') {
    // A notification, webhook or event subscription is not a paid plan.
    if (feed) return false;
    for (const w of nameSet) if (FEED_WORDS.has(w)) return false;
  }
  if (t === 'wallet' || t === 'wallets') {
    // "wallet" alone is weak: only with money words nearby.
    return [...nameSet, ...descTokens].some((w) => MONEY_WORDS.has(w));
  }
  return true;
}

/**
 * A description's opening that speaks of the API or the server rather than the call: a label
 * ("Acme - Api:") and a sentence such as "This is the public Acme REST API." Generated servers
 * put them before the sentence that says what the call does; it is read without them.
 */
const PREAMBLE = [
  // A bracketed group label ("[Pipeline Management] Run a pipeline", "[API] Update a service").
  /^\[[^\]\n]{1,40}\]\s+/,
  /^[A-Z][\w.]*(?: [\w.]+){0,3} - [\w.]+(?: [\w.]+){0,3}:\s+/,
  /^this (?:is|tool is part of) (?:the|a|an) [^.]{0,80}?\b(?:api|server|sdk|service|integration)\.\s+/i,
];

export function dropPreamble(description: string): string {
  let text = description.trim();
  for (const p of PREAMBLE) {
    const m = p.exec(text);
    if (m && m[0].length < text.length) text = text.slice(m[0].length);
  }
  return text;
}

export function firstSentence(text: string): string {
  const m = /^(.*?)(\.\s|\n|$)/s.exec(text);
  const first = (m ? m[1] : text) ?? text;
  // A short title line ("Get store metrics summary") is read with the sentence after it.
  if (m?.[2] === '\n' && !/[.:!?]\s*$/.test(first) && first.trim().split(/\s+/).length <= 6) {
    const rest = text.slice(m[0].length).trimStart();
    const next = /^(.*?)(\.\s|\n|$)/s.exec(rest);
    if (next?.[1]) return `${first} ${next[1]}`;
  }
  return first;
}

/**
 * Participles that are adjectives or sorting in prose ("a trading pair", "exchange-traded", "an
 * ordered list", "filtering and ordering"): not the nouns "trade" and "order".
 */
export const PROSE_PARTICIPLES: ReadonlySet<string> = new Set(['trading', 'traded', 'ordered', 'ordering']);

export function lemmaInProse(word: string): string {
  return PROSE_PARTICIPLES.has(word) ? word : lemma(word);
}

/** The words a name's verb acts on: those after it (none when it comes last: then the context decides). */
export function nameObject(rawNameTokens: readonly string[], verb: string): string[] {
  const i = rawNameTokens.indexOf(verb);
  return i < 0 ? [] : rawNameTokens.slice(i + 1).map(lemma);
}

export const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the', 'its', 'your', 'their', 'this', 'that', 's', 'one', 'or', 'more', 'given']);

export function singular(t: string): string {
  return t.endsWith('ies') ? `${t.slice(0, -3)}y` : t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t;
}

/**
 * Heads a money noun may modify without naming a money record: the configuration, people and
 * categories around payments (`payment_gateways`, `payroll_employees`, `expense_categories`).
 */
export const NON_RECORD_HEADS: ReadonlySet<string> = new Set(
  `gateway gateways provider providers setting settings config configuration configurations network networks
   tier tiers option options type types category categories employee employees address addresses note notes
   template templates field fields tag tags label labels calendar calendars account accounts link links`.split(/\s+/),
);

/** The money noun at `i` only qualifies the noun after it ("payment gateway"), which is not a money record. */
export function modifiesHead(tokens: readonly string[], i: number): boolean {
  const next = tokens[i + 1];
  return next !== undefined && NON_RECORD_HEADS.has(next);
}

/**
 * A plan that a money noun qualifies ("a subscription plan", "billing plans") is what customers
 * subscribe to: a catalogue object, like a price, made and changed as a Write and read as a Read.
 * Changing the account's own plan is read elsewhere (paid levels, context.ts).
 */
export function namesPlan(tokens: readonly string[], i: number): boolean {
  const next = tokens[i + 1];
  return next === 'plan' || next === 'plans';
}

/** Verbs too common in prose to tell what a call does ("it is", "has", "can go"). */
export const VAGUE_VERBS: ReadonlySet<string> = new Set(['is', 'has', 'exists', 'see', 'go', 'call', 'use', 'help', 'access', 'open']);

/** The first clear (not weak, not vague) verb anywhere in a text's tokens. */
export function laterVerb(tokens: readonly string[]): string | undefined {
  return tokens.find((t) => VERBS.has(t) && !WEAK_VERBS.has(t) && !VAGUE_VERBS.has(t) && !FILLER.has(t));
}
