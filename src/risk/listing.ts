// A server's whole listing says things no single tool does. What every tool of a listing shares
// tells nothing about any one of them: a description prefix that every tool repeats (a vendor
// label, "This is the public … API.") hides the sentence that says what the call does, and an
// annotation set on every tool, plain reads included, does not tell reads from deletes. `scan` and
// `classify` see whole listings, so they read each tool without what the listing shares.
//
// Safe against a hostile server: annotations may only raise a verdict (classify.ts), so dropping
// one never takes a tool below what its name, description and schema say; and a shared prefix
// is dropped only when something is left to read, and only to raise a verdict (a warning that a
// server repeats on every tool still counts). A name's shared first word (a product's name that is
// also a verb, `protect_…`) is set aside even when that lowers a verdict: the server chooses its
// names freely, so a hostile one gains nothing it could not have by naming its tools otherwise.
import { classifyTool, classifyToolDetail, type ClassificationDetail } from './classify.js';
import { BARE_ROUTE } from './live.js';
import { listingFeatures, withSecondOpinion } from './model.js';
import { BUDGET_ARG } from './paid.js';
import { singular } from './reading.js';
import { lemma, VERBS } from './lexicon.js';
import { deepProperties, normalizeArg } from './signals.js';
import { tokenizeName } from './tokenize.js';
import type { Classification, ToolAnnotations, ToolDefinition } from './types.js';

/** A listing this small says too little about what its tools share. */
const MIN_TOOLS = 4;
/** Share of the described tools that must open with the same sentence for it to be boilerplate. */
const SHARED = 0.8;

/** The leading segments of a description: sentences and labels ("Twilio - Api:"), with their spacing. */
function leadingSegment(text: string): string | undefined {
  const m = /^.*?[.:!?](\s+|$)/s.exec(text);
  return m && m[0].length < text.length ? m[0] : undefined;
}

/** Strip the sentences that open (nearly) every description of the listing, one at a time. */
function dropSharedPrefix(descriptions: (string | undefined)[]): (string | undefined)[] {
  let out = descriptions.map((d) => d?.trim());
  for (let round = 0; round < 4; round++) {
    const described = out.filter((d): d is string => !!d);
    if (described.length < MIN_TOOLS) break;
    const counts = new Map<string, number>();
    for (const d of described) {
      const seg = leadingSegment(d);
      if (seg) counts.set(seg.trim(), (counts.get(seg.trim()) ?? 0) + 1);
    }
    const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    if (!top || n < SHARED * described.length) break;
    out = out.map((d) => {
      const seg = d ? leadingSegment(d) : undefined;
      return d && seg && seg.trim() === top ? d.slice(seg.length).trim() : d;
    });
  }
  return out;
}

/** A read by everything but the annotations: what a tool the server marks destructive may plainly be. */
function readsPlainly(tool: ToolDefinition): boolean {
  const { annotations: _hints, ...bare } = tool;
  return classifyTool(bare).category === 'Read';
}

/**
 * Hints that do not discriminate: `destructiveHint: true` or `readOnlyHint: false` set on every
 * tool of the listing while some of those tools plainly read. They carry no information.
 */
function uniformHints(tools: readonly ToolDefinition[]): (keyof ToolAnnotations)[] {
  if (tools.length < MIN_TOOLS) return [];
  const every = (key: keyof ToolAnnotations, value: boolean) => tools.every((t) => t.annotations?.[key] === value);
  const keys: (keyof ToolAnnotations)[] = [];
  if (every('destructiveHint', true)) keys.push('destructiveHint');
  if (every('readOnlyHint', false)) keys.push('readOnlyHint');
  return keys.length > 0 && tools.some(readsPlainly) ? keys : [];
}

/** Each tool of a listing as the classifier reads it: without what the whole listing shares. */
export function inListing(tools: readonly ToolDefinition[]): ToolDefinition[] {
  const descriptions = dropSharedPrefix(tools.map((t) => t.description));
  const ignored = uniformHints(tools);
  const namespace = sharedNamespace(tools);
  return tools.map((tool, i) => {
    const out: ToolDefinition = { ...tool };
    const words = tokenizeName(tool.name);
    if (namespace && words[0] === namespace && words.length > 1) out.name = words.slice(1).join('_');
    const d = descriptions[i];
    if (d && d !== tool.description?.trim()) out.description = d;
    if (ignored.length > 0 && tool.annotations) {
      const hints: ToolAnnotations = { ...tool.annotations };
      for (const k of ignored) delete hints[k];
      out.annotations = hints;
    }
    return out;
  });
}

/**
 * A verb that opens (nearly) every tool name of a listing when what follows it holds, in most names,
 * a verb again: a product's or a server's name (`protect_get_info`, `protect_play_siren` of UniFi
 * Protect), not the verb it also is. It says nothing about one tool, so the tools are read without
 * it; a hostile server, which names its tools as it likes, gains nothing from that.
 */
function sharedNamespace(tools: readonly ToolDefinition[]): string | undefined {
  if (tools.length < MIN_TOOLS) return undefined;
  const names = tools.map((t) => tokenizeName(t.name));
  const counts = new Map<string, number>();
  for (const n of names) if (n[0]) counts.set(n[0], (counts.get(n[0]) ?? 0) + 1);
  const [top, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  // Only a word the rules would read as the verb needs setting aside (`browser_go_back` keeps its browser).
  if (!top || n < SHARED * tools.length || !VERBS.has(top)) return undefined;
  const rest = names.filter((w) => w[0] === top && w.length > 1);
  // The tool's own verb may come after a part's name (`bash_sandbox_read_file`).
  const verbAfter = rest.filter((w) => w.slice(1).some((t) => VERBS.has(t))).length;
  if (rest.length === 0 || verbAfter < 0.5 * rest.length) return undefined;
  // And the descriptions must bear it out: most of them open with verbs of their own, few with the
  // shared word. A server of deletes (`delete_post`: "Delete a post") keeps its verb; so does one
  // that says nothing.
  const opening = tools.filter((t, i) => names[i]![0] === top && names[i]!.length > 1).map((t) => openingVerb(t.description));
  const own = opening.filter((v) => v !== undefined && v !== top).length;
  const shared = opening.filter((v) => v === top).length;
  return own >= 0.5 * opening.length && shared <= 0.2 * opening.length ? top : undefined;
}

/** The verb a description opens with ("Deletes a post" -> delete), if its first word is one. */
function openingVerb(description: unknown): string | undefined {
  const word = typeof description === 'string' ? /^[^A-Za-z]*([A-Za-z]+)/.exec(description)?.[1]?.toLowerCase() : undefined;
  const verb = word === undefined ? undefined : lemma(word);
  return verb !== undefined && VERBS.has(verb) ? verb : undefined;
}

const SEVERITY: Record<string, number> = { Read: 0, Other: 1, Write: 2, Execute: 3, Destructive: 4, Financial: 5 };

/**
 * The tool a bare-route tool extends: `CreateNumberLocal` ("Make a POST request to /Numbers/Local")
 * is a kind of `CreateNumber` ("Purchase a phone number"), the longest other name it starts with.
 */
function extended(tool: ToolDefinition, listing: readonly ToolDefinition[]): ToolDefinition | undefined {
  if (!BARE_ROUTE.test(tool.description ?? '')) return undefined;
  let best: ToolDefinition | undefined;
  for (const t of listing) {
    const rest = tool.name.slice(t.name.length);
    if (t === tool || !tool.name.startsWith(t.name) || !/^([A-Z]|[_.-]\w)/.test(rest) || !t.description || BARE_ROUTE.test(t.description)) continue;
    if (!best || t.name.length > best.name.length) best = t;
  }
  return best;
}

/** What a tool's name acts on: its words without the verb it rests on (`create_ad_set`, `list_ad_sets`: "ad set"). */
function objectOf(name: string, verb: string | undefined): string {
  const words = tokenizeName(name);
  const at = verb ? words.indexOf(verb) : -1;
  if (at >= 0) words.splice(at, 1);
  if (words.length > 0) words.push(singular(words.pop()!));
  return words.join(' ');
}

/**
 * The objects this listing's writes give a budget or a bid (an ad campaign, an ad set): money the
 * account commits to spend, so reading, pausing or deleting one is Financial too.
 */
function budgeted(tools: readonly ToolDefinition[], details: readonly ClassificationDetail[]): Set<string> {
  const out = new Set<string>();
  tools.forEach((t, i) => {
    if (deepProperties(t.inputSchema).some((p) => BUDGET_ARG.test(normalizeArg(p.name))) && details[i]!.category !== 'Read') {
      const object = objectOf(t.name, details[i]!.verb);
      if (object) out.add(object);
    }
  });
  return out;
}

export interface ListingOptions {
  /** The rules alone, without the learned second opinion: for measuring what each adds. */
  rulesOnly?: boolean;
}

/**
 * Classify the tools of one server's listing with the details the scaffold writer uses: the rules,
 * the listing's money, then the learned second opinion, which may only raise (model.ts).
 */
export function classifyToolsDetail(tools: readonly ToolDefinition[], options: ListingOptions = {}): ClassificationDetail[] {
  const listing = inListing(tools);
  const details = classifyEach(tools, listing);
  const money = budgeted(tools, details);
  const features = listingFeatures(listing);
  return details.map((d, i) => {
    const object = objectOf(tools[i]!.name, d.verb);
    if (d.category === 'Financial' || !money.has(object)) return options.rulesOnly ? d : withSecondOpinion(features[i]!, d);
    const risk = d.category === 'Read' ? 'Medium' : 'Critical';
    return { ...d, category: 'Financial', risk, reasons: [`a "${object}" carries a budget in this listing's writes: money the account spends`, ...d.reasons] };
  });
}

function classifyEach(tools: readonly ToolDefinition[], listing: readonly ToolDefinition[]): ClassificationDetail[] {
  return listing.map((tool, i) => {
    let own = classifyToolDetail(tool);
    // A shared opening may be dropped only to raise: a hostile server cannot hide a warning it gives every tool.
    if (tool.description !== tools[i]!.description) {
      const whole = classifyToolDetail({ ...tool, description: tools[i]!.description ?? '' });
      if (SEVERITY[whole.category]! > SEVERITY[own.category]! && whole.category !== 'Other') own = whole;
    }
    // A tool that says nothing but its HTTP route is read as the tool it extends, when that is more severe.
    const base = extended(tool, listing);
    if (!base) return own;
    const like = classifyToolDetail({ ...tool, description: base.description! });
    if (SEVERITY[like.category]! <= SEVERITY[own.category]!) return own;
    return { ...like, reasons: [`a kind of "${base.name}" (its description is only an HTTP route)`, ...like.reasons] };
  });
}

/** Classify the tools of one server's listing, in order (see `inListing`). */
export function classifyTools(tools: readonly ToolDefinition[], options: ListingOptions = {}): Classification[] {
  return classifyToolsDetail(tools, options).map(({ category, risk, confidence, reasons }) => ({ category, risk, confidence, reasons }));
}
