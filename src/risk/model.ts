// A learned second opinion that may only raise a verdict. The rules (classify.ts) read a tool the
// way the rubric is written; on servers they have never seen they agree with careful labels on
// about 85 % of tools and understate about a fifth of the high-risk ones, mostly creates and
// updates of things that run, in a product's own words. A linear model over the words of the
// name, the description and the argument names, trained on every labelled tool in
// data/risk-heldout (scripts/train-risk-model.mjs), has seen those words; replayed honestly on
// each set with the rules of the commit that first met it, raising a Read or Write verdict to the
// model's high-risk class when the model is sure cut the understated tools by more than a quarter
// for a few tenths of a point of agreement (models/README.md has the figures).
//
// Safe against a hostile server: the model only ever raises a verdict to Execute, Destructive or
// Financial, never lowers one, so descriptions written to look harmless gain nothing from it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClassificationDetail } from './classify.js';
import { singular } from './reading.js';
import { HIGH_RISK } from './combine.js';
import { type Category, RISKS, type Risk, type ToolDefinition } from './types.js';

/** The classes the model scores, in the order of each weight vector. */
export const MODEL_CLASSES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'] as const;
export type ModelClass = (typeof MODEL_CLASSES)[number];

/** How sure the model must be of a high-risk class before it raises a Read or Write verdict. */
export const RAISE_AT = 0.7;
/**
 * How sure it must be to call a Read a read of money records: the line between those (Financial)
 * and costs, prices and estimates (Read) is the rubric's finest, and the development labels draw it
 * where the held-out rubric's words would not (`get_cost`, an estimate, is Read).
 */
export const RAISE_READ_TO_MONEY_AT = 0.8;

/** The feature that every tool has: the model's prior. */
export const BIAS = '*';

export interface RiskModel {
  about: string;
  trainedOn: { tools: number; servers: number; sets: string[] };
  classes: readonly string[];
  /** feature → one weight per class of `classes`. */
  weights: Record<string, number[]>;
}

/** Lower-case words of a name or a sentence; camelCase and snake_case split. */
function words(text: string | undefined): string[] {
  return (text ?? '')
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, '$1 $2')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map(singular);
}

/** Words the description may contribute: enough for what the call does, not a whole manual. */
const DESCRIPTION_WORDS = 80;

/**
 * What the model reads of a tool: the name's words (its first and last apart, and pairs), the
 * description's words and pairs (its first three apart), the argument names' words and the
 * annotations. The training script calls this same function.
 */
export function modelFeatures(tool: ToolDefinition): string[] {
  const out = new Set<string>([BIAS]);
  const name = words(tool.name);
  name.forEach((w, i) => {
    out.add(`n:${w}`);
    if (i === 0) out.add(`v:${w}`);
    if (i > 0) out.add(`nb:${name[i - 1]}_${w}`);
  });
  if (name.length > 0) out.add(`last:${name[name.length - 1]}`);
  const desc = words(tool.description).slice(0, DESCRIPTION_WORDS);
  desc.forEach((w, i) => {
    out.add(`d:${w}`);
    if (i > 0) out.add(`db:${desc[i - 1]}_${w}`);
    if (i < 3) out.add(`d0:${w}`);
  });
  const properties = tool.inputSchema?.properties;
  if (properties && typeof properties === 'object') for (const p of Object.keys(properties)) for (const w of words(p)) out.add(`s:${w}`);
  for (const [k, v] of Object.entries(tool.annotations ?? {})) if (typeof v === 'boolean') out.add(`a:${k}=${v}`);
  return [...out];
}

/** A listing this small says too little about what its tools share (as in listing.ts). */
const MIN_LISTING = 4;
/** Share of a listing's tools a feature must reach to be the listing's, not the tool's. */
const SHARED = 0.8;

/**
 * The features of each tool of one server's listing, without those (nearly) every tool of it has:
 * a vendor's suffix on every description ("Uses default AccountSid") or an argument every tool
 * takes tells nothing about what one of them does.
 */
export function listingFeatures(tools: readonly ToolDefinition[]): string[][] {
  const each = tools.map(modelFeatures);
  if (tools.length < MIN_LISTING) return each;
  const counts = new Map<string, number>();
  for (const features of each) for (const f of features) counts.set(f, (counts.get(f) ?? 0) + 1);
  const shared = new Set([...counts].filter(([f, n]) => f !== BIAS && n >= SHARED * tools.length).map(([f]) => f));
  return shared.size === 0 ? each : each.map((features) => features.filter((f) => !shared.has(f)));
}

/** Class probabilities of a feature list under a set of weights (softmax of the summed weights). */
export function probabilities(weights: ReadonlyMap<string, readonly number[]> | Record<string, readonly number[]>, features: readonly string[]): number[] {
  const get = weights instanceof Map ? (f: string) => weights.get(f) : (f: string) => (weights as Record<string, readonly number[]>)[f];
  const z = MODEL_CLASSES.map((_, k) => features.reduce((sum, f) => sum + (get(f)?.[k] ?? 0), 0));
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

const MODEL_FILE = fileURLToPath(new URL('../../../models/risk-model.json', import.meta.url));
let loaded: RiskModel | null | undefined;

/**
 * The shipped model, read once. Without it (a damaged install) the rules stand alone: the model
 * only ever raises, so its absence lowers nothing the rules say.
 */
export function riskModel(): RiskModel | undefined {
  if (loaded === undefined) {
    try {
      const m = JSON.parse(readFileSync(MODEL_FILE, 'utf8')) as RiskModel;
      loaded = Array.isArray(m.classes) && m.classes.join() === MODEL_CLASSES.join() && m.weights && typeof m.weights === 'object' ? m : null;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** Words that weigh in the model but explain nothing to a reader ("from \"that\""). */
const FUNCTION_WORDS = new Set([
  'a',
  'an',
  'and',
  'as',
  'at',
  'be',
  'by',
  'for',
  'from',
  'in',
  'is',
  'it',
  'of',
  'on',
  'or',
  'that',
  'the',
  'this',
  'to',
  'with',
]);

/** A feature as a reader would say it: `d:deploy` → "deploy", `nb:edge_function` → "edge function". */
function spoken(feature: string): string {
  const [kind, text = ''] = feature.split(/:(.*)/s);
  const words = text.replace(/_/g, ' ');
  return kind === 's' ? `argument word "${words}"` : kind?.startsWith('a') ? words : `"${words}"`;
}

export interface Opinion {
  category: ModelClass;
  probability: number;
  /** The words that pushed hardest towards that class, as the reasons show them. */
  drivers: string[];
}

/** What the model makes of a tool's features, or nothing when no model is installed. */
export function modelOpinion(features: readonly string[], model: RiskModel | undefined = riskModel()): Opinion | undefined {
  if (!model) return undefined;
  const p = probabilities(model.weights, features);
  const k = p.indexOf(Math.max(...p));
  const drivers = [
    ...new Set(
      features
        .filter((f) => f !== BIAS && (model.weights[f]?.[k] ?? 0) > 0 && !f.split(/[:_]/).some((w) => FUNCTION_WORDS.has(w)))
        .sort((a, b) => model.weights[b]![k]! - model.weights[a]![k]!)
        .map(spoken),
    ),
  ].slice(0, 3);
  return { category: MODEL_CLASSES[k]!, probability: p[k]!, drivers };
}

/** HIGH_RISK read with any category (Other included, which it never holds). */
const HIGH = HIGH_RISK as ReadonlySet<Category>;

/**
 * Whether an opinion raises the rules' verdict: only a Read, Write or Other, only to a high-risk
 * class, only when the model is sure enough. A Read the rules gave to a caller's read-only query
 * stays a Read: whether such a query runs (Execute) or reads is a convention the rules settle, as
 * the development labels do, while the held-out rubric the model learnt from calls it Execute.
 */
export function raises(
  rules: Pick<ClassificationDetail, 'category' | 'query'>,
  opinion: Pick<Opinion, 'category' | 'probability'>,
  raiseAt = RAISE_AT,
): boolean {
  if (HIGH.has(rules.category) || !HIGH.has(opinion.category)) return false;
  if (rules.category === 'Read' && rules.query && opinion.category === 'Execute') return false;
  const needed = rules.category === 'Read' && opinion.category === 'Financial' ? Math.max(raiseAt, RAISE_READ_TO_MONEY_AT) : raiseAt;
  return opinion.probability >= needed;
}

/**
 * The rules' verdict on a tool, raised to the model's class when the model, reading the tool's
 * features (listingFeatures), is sure it is Execute, Destructive or Financial (see `raises`).
 */
export function withSecondOpinion(features: readonly string[], detail: ClassificationDetail, model: RiskModel | undefined = riskModel()): ClassificationDetail {
  if (HIGH.has(detail.category)) return detail;
  const opinion = modelOpinion(features, model);
  if (!opinion || !raises(detail, opinion)) return detail;
  const floor: Risk = opinion.category === 'Financial' && detail.category === 'Read' ? 'Medium' : 'High';
  const risk = RISKS.indexOf(detail.risk) > RISKS.indexOf(floor) ? detail.risk : floor;
  const from = opinion.drivers.length > 0 ? `, from ${opinion.drivers.join(', ')}` : '';
  const why = `raised from ${detail.category}: a model trained on ${model!.trainedOn.tools} labelled tools reads it as ${opinion.category} (p ${opinion.probability.toFixed(2)}${from})`;
  // Below 0.5, the mark for review by hand: the rules and the model disagree.
  return { ...detail, category: opinion.category, risk, confidence: Math.min(opinion.probability, 0.49), reasons: [why, ...detail.reasons] };
}
