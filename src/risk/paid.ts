// Money records and paid compute that the name alone does not show. A server for creators or a
// GPU cloud names its tools after plain nouns (`retrieve_transfers`, `list_memberships`,
// `create_campaign`, `create-pod`) whose money or compute is only in the fields, the response
// schema or a later sentence: a transfer with an amount, a membership bought with a plan, a
// checkout priced in a currency, a campaign with a daily budget, a pod billed by the hour, a
// prediction that runs a model.
import { singular } from './reading.js';
import { type Prop, type ToolView, type Vote, normalizeArg } from './signals.js';
import { tokenizeText } from './tokenize.js';

/** Records that move money when their fields carry an amount or a currency. */
const MOVEMENT_NOUNS: ReadonlySet<string> = new Set(['transfer', 'withdrawal', 'deposit', 'remittance']);
const AMOUNT_WORDS: ReadonlySet<string> = new Set(['amount', 'currency', 'fee', 'fees']);

/** What makes a membership a paid plan, in its description or fields (not a team's or a channel's). */
const PAID_WORDS: ReadonlySet<string> = new Set(['purchase', 'purchased', 'billing', 'renewal', 'renew', 'price', 'payment', 'paid', 'invoice', 'promo']);
const PAID_ARG = /^(plan|promocode|price|billingperiod|renewalprice|payment)(id|ids)?$/;

/** A checkout is a sale when it is priced (not a git checkout). */
const PRICED_WORDS: ReadonlySet<string> = new Set(['currency', 'price', 'plan', 'payment', 'amount']);

/** A budget or a bid is money the account commits to spend (an ad campaign, an ad set). */
export const BUDGET_ARG = /^(daily|lifetime|total|monthly)?budget(amount)?$|^spendcap$|^bid(amount|cap)$/;

/** A write that says it is billed while what it makes runs ("BILLABLE", "billed by the hour") on a machine (named in the first sentence). */
const BILLED = /\bbillable\b|\bbilled (by the|per) (hour|minute|second)\b|\bhourly (price|rate|cost)\b/;
const COMPUTE_WORDS: ReadonlySet<string> = new Set(['gpu', 'cpu', 'pod', 'worker', 'instance', 'machine', 'vm', 'server', 'serverless', 'hardware']);

/** GPUs chosen for what runs (`gpuIds`, `gpuCount`, `gpuTypeId`). */
const GPU_ARG = /^gpu(s|ids?|typeids?|count|types?)?$/;

/** Things a create starts as it makes them: a model's prediction or training, an inference. */
const RUN_RECORDS: ReadonlySet<string> = new Set(['prediction', 'training', 'inference', 'finetune']);

/** Verbs of a name that make a new thing (not `update`: a dedicated inference instance changed runs nothing new). */
const STARTS: ReadonlySet<string> = new Set(['create', 'new', 'start', 'submit']);

/** Work handed in to be run ("Submit a synchronous job to a Serverless endpoint"). */
const SUBMITTED = /^(submits?|enqueues?|queues?) (an? |the )?(\w+ ){0,2}(jobs?|runs?|tasks?|predictions?)\b/;

export function paidSignals(v: ToolView, deep: readonly Prop[], allDescTokens: ReadonlySet<string>): Vote[] {
  const out: Vote[] = [];
  const nouns = v.nameTokens.map(singular);
  const args = deep.map((p) => normalizeArg(p.name));
  const said = (words: ReadonlySet<string>) => [...allDescTokens].some((t) => words.has(t)) || args.some((a) => words.has(a));
  const movement = nouns.find((t) => MOVEMENT_NOUNS.has(t));
  if (movement && !v.moneyNoun && said(AMOUNT_WORDS)) out.push({ category: 'Financial', weight: 20, reason: `a "${movement}" with an amount: a money record` });
  if (nouns.includes('membership') && (said(PAID_WORDS) || args.some((a) => PAID_ARG.test(a)))) {
    out.push({ category: 'Financial', weight: 20, reason: 'a membership bought with a plan: a paid subscription' });
  }
  if (nouns.includes('checkout') && said(PRICED_WORDS)) out.push({ category: 'Financial', weight: 20, reason: 'a priced checkout: a sale' });
  const writes = v.verbClass === 'write' || v.verbClass === 'exec';
  const budget = writes ? deep.find((p) => BUDGET_ARG.test(normalizeArg(p.name))) : undefined;
  if (budget) out.push({ category: 'Financial', weight: 12, reason: `argument "${budget.name}": commits money to spend` });
  if (writes && BILLED.test(v.lower) && [...nouns, ...tokenizeText(v.firstSentence)].some((t) => COMPUTE_WORDS.has(t))) {
    out.push({ category: 'Execute', weight: 12, reason: 'description: billed while the machine it makes runs' });
  }
  const gpu = v.verbClass === 'write' && (args.some((a) => GPU_ARG.test(a)) || /\bgpus?\b/.test(v.firstSentence));
  if (gpu) out.push({ category: 'Execute', weight: 12, reason: 'a write choosing the GPUs what runs uses: a rollout' });
  const run = v.verbClass === 'write' && STARTS.has(v.nameVerb ?? '') ? nouns.find((t) => RUN_RECORDS.has(t)) : undefined;
  if (run) out.push({ category: 'Execute', weight: 12, reason: `a "${run}" made is a model run started` });
  if (SUBMITTED.test(v.firstSentence)) out.push({ category: 'Execute', weight: 12, reason: 'description: hands in work to be run' });
  return out;
}
