// The classifier: a pure, deterministic function from a tool definition to a risk category,
// a risk level, a confidence and the reasons. No model calls, no I/O.
//
// How it decides. Each piece of evidence votes for a category with a weight (the table is in
// README.md beside this file): money nouns in the name (20) > amount with currency or a trade
// side (16) > a command argument, the most severe of the tool's actions (15) > money or
// irreversibility in the description (12) > the verb of the name, read with its object (10) >
// the description's verb and phrases (5–6) > the server's annotations (1–3: claims, which may
// only raise). The heaviest category wins; ties and close calls (ROUND_UP) go to the more
// severe. The risk level then follows from the category and modifiers (secrets, bulk deletes,
// arbitrary code, force/confirm flags, destructiveHint…).
import {
  ACCESS_NOUNS,
  ATTACHMENT_NOUNS,
  AWAITED_NOUNS,
  RUN_HEAD_NOUNS,
  THREAD_NOUNS,
  CACHE_CLEARS,
  CACHE_NOUNS,
  BROWSER_NOUNS,
  BROWSER_VERBS,
  BULK_WORDS,
  CODE_NOUNS,
  COMPOUNDS,
  CONTEXT_MONEY_NOUNS,
  DATABASE_WORDS,
  INFRA_NOUNS,
  INFRA_WRITES,
  RESTORE_VERBS,
  RUNNING_CHANGES,
  MACHINE_NOUNS,
  MACHINE_STARTS,
  REMOTE_SHELL_NOUNS,
  RUNNING_NOUNS,
  SAVED_STATE_NOUNS,
  STORED_SNAPSHOT_OBJECTS,
  CREDENTIAL_ROTATIONS,
  SESSION_NOUNS,
  SESSION_STOPS,
  TRADING_WORDS,
  FAR_REACHING_WRITES,
  FEED_WORDS,
  FILLER,
  FINANCIAL_NOUNS,
  MILD_EXEC,
  MONEY_WORDS,
  QUERY_NOUNS,
  SECRET_NOUNS,
  VERBS,
  WEAK_VERBS,
  lemma,
  type VerbClass,
} from './lexicon.js';
import { tokenizeName, tokenizeText } from './tokenize.js';
import { RISKS, type Category, type Classification, type JsonSchema, type Risk, type ToolDefinition } from './types.js';

type Scored = Exclude<Category, 'Other'>;

/** Write verbs that, applied to code, a query or a migration, run it (`apply_migration`). */
const RUNNING_WRITES: ReadonlySet<string> = new Set(['apply', 'send', 'submit']);

/** More severe first: ties between equal scores go to the first of these. */
const SEVERITY: readonly Scored[] = ['Financial', 'Destructive', 'Execute', 'Write', 'Read'];

const CLASS_CATEGORY: Record<VerbClass, Scored> = {
  read: 'Read',
  write: 'Write',
  destroy: 'Destructive',
  exec: 'Execute',
  pay: 'Financial',
};

interface Evidence {
  category: Scored;
  weight: number;
  reason: string;
}

/** Details the scaffold writer also needs (the amount argument of a financial tool). */
export interface ClassificationDetail extends Classification {
  /** The verb the decision rests on, if any (lemma). */
  verb?: string;
  /** An amount-like argument (for a spend cap), if the input schema has one. */
  amountArg?: string;
  /** A code/command-like argument (for an argument-validation example), if any. */
  codeArg?: string;
}

/** Classify one tool. Pure and deterministic. */
export function classifyTool(tool: ToolDefinition): Classification {
  const { category, risk, confidence, reasons } = classifyToolDetail(tool);
  return { category, risk, confidence, reasons };
}

/** Classify one tool and return the details the scaffold writer uses. */
export function classifyToolDetail(tool: ToolDefinition): ClassificationDetail {
  const rawNameTokens = joinCompounds(tokenizeName(tool.name));
  const nameTokens = rawNameTokens.map(lemma);
  const description = (tool.description ?? '').trim();
  const descTokens = joinCompounds(tokenizeText(firstSentence(description), true)).map(lemmaInProse);
  const allDescTokens = new Set(tokenizeText(description).map(lemmaInProse));
  const nameSet = new Set(nameTokens);
  const props = schemaProperties(tool.inputSchema);
  const evidence: Evidence[] = [];
  const notes: string[] = [];

  // 1. The verb of the name.
  const descVerbFirst = findDescriptionVerb(descTokens);
  const nameVerb =
    findNameVerb(rawNameTokens, descVerbFirst !== undefined && VERBS.get(descVerbFirst) === 'read') ??
    (descVerbFirst ? undefined : findWeakNameVerb(rawNameTokens));
  let verbClass: VerbClass | undefined = nameVerb ? verbClassOf(nameVerb, nameTokens, allDescTokens) : undefined;
  const objectTokens = [...nameTokens, ...descTokens];
  if (nameVerb && verbClass) {
    const browser = BROWSER_VERBS.has(nameVerb) && nameTokens.some((t) => BROWSER_NOUNS.has(t));
    const runsCode = verbClass === 'write' && RUNNING_WRITES.has(nameVerb) && nameTokens.some((t) => CODE_NOUNS.has(t) || t === 'migration');
    const context =
      verbInContext(nameVerb, verbClass, objectTokens, nameObject(rawNameTokens, nameVerb)) ??
      detachInContext(nameVerb, nameTokens, descTokens) ??
      resendInContext(nameVerb, objectTokens) ??
      downloadInContext(nameVerb, props, allDescTokens) ??
      runHeadInContext(nameVerb, verbClass, nameTokens) ??
      savesInContext(verbClass, tool.inputSchema);
    if (context) {
      verbClass = context.verbClass;
      evidence.push({ category: CLASS_CATEGORY[context.verbClass], weight: 10, reason: `"${nameVerb}" ${context.why}` });
    } else if (runsCode) {
      verbClass = 'exec';
      evidence.push({ category: 'Execute', weight: 10, reason: `"${nameVerb}" code, a query or a migration runs it` });
    } else if (browser) {
      verbClass = 'exec';
      evidence.push({ category: 'Execute', weight: 10, reason: `"${nameVerb}" a page, tab or URL drives a browser` });
    } else {
      evidence.push({ category: CLASS_CATEGORY[verbClass], weight: 10, reason: `verb "${nameVerb}" in the name` });
    }
  }

  // A generic create whose description starts a job or a run ("createSdk: Starts an SDK
  // generation job") runs it: the description says what the call does.
  const startsInDesc = descVerbFirst !== undefined && STARTING_VERBS.has(descVerbFirst) ? descVerbFirst : undefined;
  if (startsInDesc && verbClass === 'write' && nameVerb && MACHINE_STARTS.has(nameVerb) && STARTED_THINGS.test(firstSentence(description.toLowerCase()))) {
    evidence.push({ category: 'Execute', weight: 10, reason: `description: "${startsInDesc}" — the create starts a job or a run` });
  }

  // 2. Money nouns in the name.
  const moneyNoun = nameTokens.find(
    (t) => isFinancialNoun(t, nameSet, allDescTokens) || isContextMoneyNoun(t, [...nameTokens, ...descTokens], allDescTokens, props),
  );
  if (moneyNoun) {
    evidence.push({ category: 'Financial', weight: 20, reason: `"${moneyNoun}" in the name: money or billing` });
  }

  // 3. Code nouns in a name without a verb (`sql`, `shell`, `python_code`).
  const codeNoun = nameTokens.find((t) => CODE_NOUNS.has(t));
  if (codeNoun && !nameVerb) {
    evidence.push({ category: 'Execute', weight: 6, reason: `"${codeNoun}" in the name: runs code or queries` });
  }
  // Tunnels, port forwards and terminals open a way into or out of a system.
  const opening = nameTokens.find((t) => NETWORK_OPENINGS.has(t));
  if (opening) evidence.push({ category: 'Execute', weight: 12, reason: `"${opening}" in the name: opens a network path or a terminal` });

  // 4. The description: its leading verb, money in its first sentence, telling phrases anywhere.
  const descMoneyEvidence: Evidence[] = [];
  const descEvidence = new Map<Scored, Evidence>();
  const addDesc = (e: Evidence): void => {
    const prev = descEvidence.get(e.category);
    if (!prev || prev.weight < e.weight) descEvidence.set(e.category, e);
  };
  const descVerb = findDescriptionVerb(descTokens);
  if (descVerb) {
    const cls = verbClassOf(descVerb, descTokens, allDescTokens);
    const browser = BROWSER_VERBS.has(descVerb) && descTokens.some((t) => BROWSER_NOUNS.has(t));
    const context = verbInContext(descVerb, cls, objectTokens) ?? detachInContext(descVerb, nameTokens, descTokens);
    addDesc({
      category: context ? CLASS_CATEGORY[context.verbClass] : browser ? 'Execute' : CLASS_CATEGORY[cls],
      weight: 5,
      reason: context ? `description: "${descVerb}" ${context.why}` : `description: "${descVerb}"`,
    });
  }
  // Money named in the first sentence outweighs the verb of the name: "Create an adjustment to
  // refund or credit a transaction" is Financial, whatever the tool is called.
  const descMoney = descTokens.find(
    (t) => isFinancialNoun(t, new Set(descTokens), allDescTokens) || isContextMoneyNoun(t, descTokens, allDescTokens) || STRONG_MONEY_WORDS.has(t),
  );
  if (descMoney) descMoneyEvidence.push({ category: 'Financial', weight: 12, reason: `description: "${descMoney}" (money)` });
  else if (PAYS_PHRASE.test(description.toLowerCase())) descMoneyEvidence.push({ category: 'Financial', weight: 12, reason: 'description: the call pays' });
  const lower = description.toLowerCase();
  const readOnlyClaim = READ_ONLY_PHRASE.test(lower);
  if (readOnlyClaim) addDesc({ category: 'Read', weight: 6, reason: 'description says read-only' });
  // Irreversibility outweighs a write or execute verb in the name ("close_account: Permanently
  // close an account"): an act that cannot be undone is Destructive.
  if (IRREVERSIBLE_PHRASE.test(lower.replace(HEDGED_IRREVERSIBLE_ALL, '')))
    addDesc({ category: 'Destructive', weight: 12, reason: 'description: permanent, cannot be undone' });
  else if (HEDGED_IRREVERSIBLE.test(lower)) addDesc({ category: 'Destructive', weight: 6, reason: 'description: may be irreversible' });
  else if (SAYS_DESTRUCTIVE.test(lower)) addDesc({ category: 'Destructive', weight: 12, reason: 'description: says it is destructive' });
  else if (DESTRUCTIVE_PHRASE.test(lower)) addDesc({ category: 'Destructive', weight: 6, reason: 'description: destroys or wipes' });
  if (TRIGGERS_PHRASE.test(lower)) addDesc({ category: 'Execute', weight: 12, reason: 'description: triggers automations, workflows or jobs' });
  if (AGENT_PHRASE.test(lower)) addDesc({ category: 'Execute', weight: 12, reason: 'description: an agent drives a browser or computer' });
  if (EXEC_PHRASE.test(lower) || ARBITRARY_PHRASE.test(lower)) {
    addDesc({ category: 'Execute', weight: 6, reason: 'description: runs code, commands or queries' });
  }
  // A call that signs a chain transaction spends gas or moves tokens, whatever it writes.
  if (SIGNS_TRANSACTION.test(lower)) addDesc({ category: 'Financial', weight: 12, reason: 'description: signs a chain transaction' });
  // "Cancel a scheduled email. Removes it from the queue and deletes it": a later sentence that
  // deletes what the call acts on makes the act destructive (rounded up over a write verb).
  if (DELETES_IT.test(lower)) addDesc({ category: 'Destructive', weight: 11, reason: 'description: the call deletes what it acts on' });
  // A report of sales, costs or revenue is a financial report (read or made).
  const report = nameTokens.find((t) => REPORT_NOUNS.has(t));
  const reportOf = report ? [...nameTokens, ...descTokens].find((t) => REPORTED_MONEY.has(t)) : undefined;
  if (report && reportOf) addDesc({ category: 'Financial', weight: 12, reason: `a "${report}" of "${reportOf}": a financial report` });
  if (MONEY_PHRASE.test(lower) && !FEED_PHRASE.test(lower)) {
    addDesc({ category: 'Financial', weight: 6, reason: 'description: payments or billing' });
  }
  evidence.push(...descEvidence.values(), ...descMoneyEvidence);

  // 5. The input schema: amount + currency or side, code-like arguments, replicas.
  const amountArg = props.find((p) => AMOUNT_ARG.test(normalizeArg(p.name)));
  const currencyArg = props.find((p) => CURRENCY_ARG.test(normalizeArg(p.name)));
  const sideArg = props.find((p) => isTradeSide(p));
  const quantityArg = amountArg ?? props.find((p) => QUANTITY_ARG.test(normalizeArg(p.name)));
  if (amountArg && currencyArg) {
    evidence.push({
      category: 'Financial',
      weight: 16,
      reason: `arguments "${amountArg.name}" and "${currencyArg.name}": moves money`,
    });
  } else if (sideArg && quantityArg) {
    evidence.push({ category: 'Financial', weight: 16, reason: `arguments "${sideArg.name}" and "${quantityArg.name}": places a trade` });
  } else if (amountArg && (moneyNoun || MONEY_PHRASE.test(lower))) {
    evidence.push({ category: 'Financial', weight: 3, reason: `argument "${amountArg.name}"` });
  }
  const codeArg = props.find((p) => isCodeArg(p, nameVerb === 'test' ? `${lower} run` : lower));
  if (codeArg) {
    // A command or script argument is run: stronger than the verbs of name and description.
    // Testing given code runs it, as much as a command argument does.
    const strong = CODE_ARG_STRONG.test(normalizeArg(codeArg.name)) || nameVerb === 'test';
    evidence.push({ category: 'Execute', weight: strong ? 15 : 5, reason: `argument "${codeArg.name}" takes code or a command` });
  }
  // A tool of many actions ("action": list | create | delete, or "list/get/create/delete" in
  // its description) can do the most severe of them.
  // Creating a service from an image, a repository or a template builds and runs it.
  if ((verbClass === 'write' || descVerb === 'create') && CREATES_RUNNING.test(lower)) {
    evidence.push({ category: 'Execute', weight: 15, reason: 'creates from an image, repository or template: builds and runs it' });
  }
  // Creating or changing something with a container image, a start command or a sync policy
  // changes what runs (an app spec, a GitOps application), whatever the verb says.
  const runsArg = verbClass === 'write' ? findRunSpecArg(tool.inputSchema, lower) : undefined;
  if (runsArg)
    evidence.push({ category: 'Execute', weight: 12, reason: `argument "${runsArg}": says what runs (a container image, a start command, a sync policy)` });
  // Applying a manifest (Kubernetes server-side apply) changes what runs, whatever the verb.
  if (APPLY_PHRASE.test(lower)) evidence.push({ category: 'Execute', weight: 12, reason: 'description: applies a manifest (changes what runs)' });
  // A create that may also start what it creates runs it (rounded up when unsure).
  const startArg = props.find((p) => START_ARG.test(normalizeArg(p.name)) && isBooleanish(p.schema));
  if (startArg && verbClass === 'write') evidence.push({ category: 'Execute', weight: 12, reason: `argument "${startArg.name}": may start what it creates` });
  // Transferring to an address (a wallet) moves an asset, whatever the asset is called.
  const recipientArg = props.find((p) => RECIPIENT_ADDRESS_ARG.test(normalizeArg(p.name)));
  if (recipientArg && (nameVerb === 'transfer' || descVerb === 'transfer') && (amountArg || movesAsset(recipientArg, allDescTokens))) {
    evidence.push({ category: 'Financial', weight: 12, reason: `transfer to argument "${recipientArg.name}": moves an asset to another owner` });
  }
  // A tool over "any document type" reaches the money records among the types it names.
  const kindArg = props.find((p) => KIND_ARG.test(normalizeArg(p.name)));
  if (kindArg && !moneyNoun && !descMoney) {
    const all = [...allDescTokens];
    const money = all.find((t) => MONEY_RECORDS.has(t) && (FINANCIAL_NOUNS.has(t) || isContextMoneyNoun(t, all, allDescTokens)));
    if (money) evidence.push({ category: 'Financial', weight: 12, reason: `argument "${kindArg.name}" reaches "${money}" records` });
  }
  // Its actions say what it can do better than a vague verb ("manage") in its name.
  const action = verbClass === 'read' && readOnlyClaim ? undefined : mostSevereAction(props, description, objectTokens);
  if (action) {
    evidence.push({ category: CLASS_CATEGORY[action.verbClass], weight: 15, reason: `action "${action.value}" among its actions` });
  }
  const replicasArg = props.find((p) => /^replicas?$|^(desired|instance)count$/.test(normalizeArg(p.name)));
  if (replicasArg) evidence.push({ category: 'Execute', weight: 5, reason: `argument "${replicasArg.name}": scales what runs` });
  const guardArg = props.find((p) => GUARD_ARG.test(normalizeArg(p.name)) && isBooleanish(p.schema));
  const irreversibleArg = props.find((p) => IRREVERSIBLE_ARG.test(normalizeArg(p.name)));
  if (irreversibleArg) evidence.push({ category: 'Destructive', weight: 5, reason: `argument "${irreversibleArg.name}": deletes data` });

  // Market data (tickers, order books, candles) is Read by the rubric, whatever money words
  // surround it; a preview or estimate computes a price and records nothing.
  const readsMarket = verbClass === 'read' && MARKET_DATA.test(`${nameTokens.join(' ')} ${lower}`);
  if (readsMarket) evidence.push({ category: 'Read', weight: 15, reason: 'reads market data (tickers, order books, candles)' });
  const preview = verbClass === 'read' && (PREVIEW_VERBS.has(nameVerb ?? '') || RECORDS_NOTHING.test(firstSentence(lower)));
  if (preview) {
    // Its money nouns name what it computes, not a record it makes or reads.
    for (let i = evidence.length - 1; i >= 0; i--) if (evidence[i]!.category === 'Financial') evidence.splice(i, 1);
    evidence.push({ category: 'Read', weight: 10, reason: `a preview or estimate ("${nameVerb}"): computes without recording anything` });
  }

  // 6. Annotations come from the server, which may be hostile: they may raise the risk the
  // name, description and schema give, never lower it. readOnlyHint: true adds nothing.
  const a = tool.annotations ?? {};
  if (a.readOnlyHint !== true && a.destructiveHint === true) {
    evidence.push({ category: 'Destructive', weight: 3, reason: 'annotation destructiveHint: true' });
  } else if (a.readOnlyHint === false) {
    evidence.push({ category: 'Write', weight: 1, reason: 'annotation readOnlyHint: false' });
    if (a.destructiveHint !== false) {
      evidence.push({ category: 'Destructive', weight: 1, reason: 'not read-only and no destructiveHint: the MCP default is destructive' });
    }
  }

  // Decide.
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
  // When unsure, round up: a more severe high-risk class with at least ROUND_UP of the winner's
  // weight takes its place (a tool that may run or destroy is treated as one that does).
  let roundedFrom: Category | undefined;
  if (category !== 'Other') {
    for (const c of SEVERITY) {
      if (c === category) break;
      if (!HIGH_RISK.has(c)) continue;
      const t = totals.get(c) ?? 0;
      if (t > 0 && t >= ROUND_UP * winnerScore) {
        roundedFrom = category;
        category = c;
        best = t;
        notes.push(`rounded up from ${roundedFrom}: the ${c} evidence is close (${t} against ${winnerScore})`);
        break;
      }
    }
  }
  // An annotation may also lift a Read: the server itself says the tool is destructive.
  if (category === 'Read' && a.destructiveHint === true && a.readOnlyHint !== true) {
    roundedFrom = 'Read';
    category = 'Write';
    notes.push('raised from Read: the server declares destructiveHint: true');
  }

  // A query tool that says it only reads is a Read (with Medium risk below).
  let readOnlyQuery = false;
  if (
    category === 'Execute' &&
    readOnlyClaim &&
    // The query noun in the name, or the read-only claim in the first sentence: a read-only
    // remark deep in the description of an `execute` tool does not make it a Read.
    (nameTokens.some((t) => QUERY_NOUNS.has(t)) || (descTokens.some((t) => QUERY_NOUNS.has(t)) && READ_ONLY_PHRASE.test(firstSentence(lower))))
  ) {
    category = 'Read';
    readOnlyQuery = true;
    notes.push('a query tool whose description says read-only: Read, but the claim is unverified');
  }

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
    const winning = category === 'Read' && readOnlyQuery ? 'Read' : category;
    const forIt = evidence.filter((e) => e.category === winning).sort((x, y) => y.weight - x.weight);
    reasons.push(...forIt.map((e) => e.reason));
  }
  const base = riskOf(category as Category, {
    verb: nameVerb ?? descVerb,
    verbClass: verbClass ?? (descVerb ? verbClassOf(descVerb, descTokens, allDescTokens) : undefined),
    nameTokens,
    allDescTokens,
    lower,
    readOnlyQuery,
    codeArg: codeArg?.name,
    hints: a,
  });
  let risk = base.risk;
  if (base.why) reasons.push(base.why);
  // Signals that raise the level (never lower it).
  const raise = (to: Risk, why: string): void => {
    if (RISKS.indexOf(to) > RISKS.indexOf(risk)) {
      risk = to;
      reasons.push(`risk ${to}: ${why}`);
    }
  };
  if (guardArg && category !== 'Read') raise('High', `argument "${guardArg.name}": the server itself guards this act`);
  if (a.destructiveHint === true && a.readOnlyHint !== true && category !== 'Read') raise('High', 'the server declares destructiveHint: true');
  if (a.openWorldHint === true && category === 'Execute') raise('High', 'the server declares openWorldHint: true (reaches outside systems)');
  reasons.push(...notes);
  const against = evidence.filter((e) => e.category !== category && e.weight >= 5).sort((x, y) => y.weight - x.weight)[0];
  if (against && category !== 'Other') reasons.push(`against: ${against.reason} (${against.category})`);

  const detail: ClassificationDetail = { category, risk, confidence: confidenceOf(category, best, totals), reasons };
  const verb = nameVerb ?? descVerb;
  if (verb) detail.verb = verb;
  if (amountArg) detail.amountArg = amountArg.name;
  if (codeArg) detail.codeArg = codeArg.name;
  return detail;
}

/**
 * How sure the classifier is, 0 to 1: the winning class's share of the evidence for it and its
 * strongest rival, scaled down when the evidence is thin (less than a verb in the name).
 */
function confidenceOf(category: Category, best: number, totals: ReadonlyMap<Scored, number>): number {
  if (category === 'Other' || best <= 0) return 0;
  let rival = 0;
  for (const [c, t] of totals) if (c !== category && t > rival) rival = t;
  const share = best / (best + rival);
  return Math.round(share * Math.min(1, best / 10) * 100) / 100;
}

/** Classify many tools, in order. */
export function classifyTools(tools: readonly ToolDefinition[]): Classification[] {
  return tools.map(classifyTool);
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

const READ_ONLY_PHRASE =
  /\bread[- ]?only\b|\bin read mode\b|\bwithout (modifying|changing|making (any )?changes)\b|\bdoes not (modify|change|write)\b|\bnon[- ]destructive\b|\bno side[- ]effects\b/;
const DESTRUCTIVE_PHRASE = /\bwipes?\b|\bdestroys?\b|\berases?\b/;
/** The description calls the tool destructive ("is destructive to existing data"), not "non-destructive". */
/** The call itself pays: "requires x402 USDC payment", "paid automatically from the wallet". */
const PAYS_PHRASE =
  /\brequires? (an? )?([\w-]+ ){0,2}payment\b|\b(is|are|will be) (paid|charged) automatically\b|\bpaid automatically\b|\bcharges? (your|the) (card|wallet|account)\b/;
const NETWORK_OPENINGS: ReadonlySet<string> = new Set(['tunnel', 'tunnels', 'portforward', 'portforwards', 'pty', 'ptys', 'tty']);
const CREATES_RUNNING =
  /\b(service|app|application|container|deployment|worker|function)s? from (a |an |the )?(given )?(github |git |docker |container |app )?(repo|repository|image|template|dockerfile|spec|specification)\b/;
/** Firing an event or a webhook that starts automations runs them. */
const TRIGGERS_PHRASE =
  /\b(trigger(s|ing) (an? |the |its )?|trigger (an? |the |its )|to trigger (an? |the |its )?)(automations?|workflows?|pipelines?|jobs?|builds?|runs?)\b/;
const SAYS_DESTRUCTIVE = /(?<!non[- ])\bdestructive\b(?! ?hint)|\bdrops? existing\b/;
const IRREVERSIBLE_PHRASE =
  /\bpermanently\b|\bis permanent\b|\birreversibl\w*|\b(cannot|can ?not|can't|can[’']t) be (undone|recovered|reversed|restored)\b|\bno way to (undo|recover)\b|\b(overwrit\w*|replac\w*) (the )?(current|live) (state|data|disk|contents?)\b/;
const EXEC_PHRASE =
  /\b(execut\w*|runs?|eval\w*|invok\w*)\b (an? |the |any )?(arbitrary |raw |custom |given |provided |shell |python |javascript |js |sql )*(code|scripts?|commands?|shell|sql|javascript|python|bash|cypher|programs?|snippets?)\b/;
const ARBITRARY_PHRASE = /\barbitrary (code|commands?|sql|scripts?|python|javascript|shell)\b/;
const MONEY_PHRASE = /\b(payments?|refunds?|invoices?|payouts?|billing|money|funds|wire transfers?|purchases?|charges? (a|the) (card|customer))\b/;
/** Boilerplate hedges ("may be irreversible") weigh less than a plain statement. */
const HEDGED_IRREVERSIBLE = /\b(may|might|can|could) be (irreversible|permanent)\b/;
const HEDGED_IRREVERSIBLE_ALL = new RegExp(HEDGED_IRREVERSIBLE.source, 'g');
const SIGNS_TRANSACTION =
  /\bstate[- ]changing (function|method|call|transaction)\b|\bsigns? (and (sends?|broadcasts?) )?(an? |the )?(on[- ]?chain )?transactions?\b/;
const FEED_PHRASE = /\b(notification|webhook|event) subscriptions?\b/;

/** Classes that get approval or validation from `scan`: rounding up goes only towards these. */
const HIGH_RISK: ReadonlySet<Scored> = new Set(['Financial', 'Destructive', 'Execute']);
/** A more severe class with at least this share of the winner's weight wins instead. */
const ROUND_UP = 0.7;

/** Words that name money itself, wherever they stand in a first sentence. */
const STRONG_MONEY_WORDS: ReadonlySet<string> = new Set(['money', 'funds', 'cash']);

const AGENT_PHRASE = /\bbrowser[- ]automation agent\b|\bcomputer[- ]use\b|\bautonomously (execute|perform|complete|carr(y|ies) out)\b/;
const LEVERAGE_WORDS: ReadonlySet<string> = new Set([
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
/** Money records a generic document tool may name among the kinds it takes. */
const MONEY_RECORDS: ReadonlySet<string> = new Set(
  'invoice invoices payment payments order orders bill bills expense expenses refund refunds journalentry journalentries creditnote creditnotes salaryslip salaryslips payroll transaction transactions'.split(
    ' ',
  ),
);
const KIND_ARG = /^(doctype|documenttype|objecttype|recordtype|entitytype|sobject|sobjecttype)$/;
const APPLY_PHRASE = /\bserver[- ]side apply\b|\bkubectl apply\b|\bapply (a |the |an? )?(kubernetes |k8s |yaml |json )?manifests?\b/;
const START_ARG = /^(autostart|autorun|startaftercreate|startoncreate|autodeploy|deployaftercreate|instantdeploy|start|run|deploy)$/;
const RECIPIENT_ADDRESS_ARG = /^(to|toaddress|recipient|recipientaddress|destination|destinationaddress|receiver|receiveraddress|towallet|walletaddress)$/;

const QUANTITY_ARG = /^(quantity|qty|size|volume|shares|contracts|units|amount)$/;
const GUARD_ARG = /^(force|confirm|confirmed|confirmation|confirm\w+|yes|iunderstand|acknowledge\w*|dangerously\w*)$/;
const IRREVERSIBLE_ARG = /^(deletelocaldata|deletedata|purge|wipe|deletevolumes?|removevolumes?|deletebackups?)$/;

const AMOUNT_ARG =
  /^(amount|amounts|amountcents|amountinminorunits|unitamount|totalamount|value(cents|minor)?|price|priceamount|cents|sum|total|payment(amount)?|(\w*)amount)$/;
const CURRENCY_ARG = /^(\w*currency|currencycode|currencies|\w*asset|\w*token|\w*coin|denom|\w*mint)$/;
const CODE_ARG_STRONG = /^(command|commands|cmd|script|shell|sql|sqlquery|javascript|js|python|bash|powershell|cypher)$/;
const CODE_ARG_WEAK = /^(code|expression|query|statement|source|program|function|snippet)$/;

const QUERY_WORDS: ReadonlySet<string> = new Set(['query', 'queries']);
const SQLISH = /\b(sql|cypher|database|db|table|select|insert|graphql|sparql|kql|jql|promql|logql)\b/;

const ACTION_ARG = /^(action|actions|operation|op|subcommand|mode|method|verb|task|strategy)$/;

/**
 * The most severe verb among a tool's actions: the string values of an action-like argument's
 * enum, or a slash-separated list of verbs in the description ("list/get/create/delete").
 */
function mostSevereAction(props: readonly Prop[], description: string, objects: readonly string[]): { value: string; verbClass: VerbClass } | undefined {
  const values: string[] = [];
  for (const p of props) {
    // Batch tools take their operations as arguments: { create: [...], delete: [...] }.
    const n = normalizeArg(p.name);
    if (VERBS.get(n) === 'destroy' && (p.schema.type === 'array' || p.schema.type === 'object')) values.push(p.name);
    if (!ACTION_ARG.test(n)) continue;
    // An HTTP method (GET/POST/DELETE) is what a stored or sent request says, not the tool's act.
    if (Array.isArray(p.schema.enum) && p.schema.enum.length > 0 && p.schema.enum.every((v) => HTTP_METHODS.has(String(v).toLowerCase()))) continue;
    if (Array.isArray(p.schema.enum)) for (const v of p.schema.enum) if (typeof v === 'string') values.push(v);
    // A free-text action whose description names its values: "e.g., 'create', 'list', 'remove'".
    const hint = typeof p.schema.description === 'string' ? p.schema.description.toLowerCase() : '';
    for (const m of hint.matchAll(/['"`]([a-z][a-z_-]*)['"`]/g)) values.push(m[1]!);
  }
  // "list/get/delete", not a URL or a path ("/api/agents/register", "docs/skill.md").
  // Single words only: "start_line/line_count" names arguments, not actions.
  for (const m of description.toLowerCase().matchAll(/(?<![\w/.:-])[a-z]+(?:\/[a-z]+)+(?![\w/.:-])/g)) values.push(...m[0].split('/'));
  let best: { value: string; verbClass: VerbClass } | undefined;
  for (const value of values) {
    const first = tokenizeName(value)[0];
    if (!first || !VERBS.has(first)) continue;
    const cls = verbInContext(first, VERBS.get(first)!, objects)?.verbClass ?? VERBS.get(first)!;
    if (cls === 'read') continue;
    if (!best || CLASS_SEVERITY[cls] > CLASS_SEVERITY[best.verbClass]) best = { value, verbClass: cls };
  }
  return best;
}

/** A buy/sell argument: named side or action with buy and sell among its values. */
function isTradeSide(p: Prop): boolean {
  const n = normalizeArg(p.name);
  const values = Array.isArray(p.schema.enum) ? p.schema.enum.map((v) => String(v).toLowerCase()) : [];
  if (values.includes('buy') && values.includes('sell')) return true;
  return (n === 'side' || n === 'orderside') && values.length === 0;
}

function isBooleanish(s: JsonSchema): boolean {
  const t = s.type;
  return t === 'boolean' || (Array.isArray(t) && t.includes('boolean')) || (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'boolean'));
}

/**
 * A verb whose class depends on its object: applying, syncing or restarting infrastructure runs
 * it (Execute); restoring a snapshot or backup puts it over the current state (Destructive).
 */
function verbInContext(
  verb: string,
  cls: VerbClass,
  objects: readonly string[],
  ownObject: readonly string[] = [],
): { verbClass: VerbClass; why: string } | undefined {
  // What a create or a change acts on: the name's own object when it has one (`cluster_create_topic`
  // makes a topic, not a cluster), else the words around it.
  const made = ownObject.length > 0 ? ownObject : objects;
  if (CACHE_CLEARS.has(verb)) {
    const cache = objects.find((t) => CACHE_NOUNS.has(t));
    if (cache) return { verbClass: 'write', why: `a "${cache}" fills again: nothing is lost` };
  }
  if ((verb === 'remove' || verb === 'delete') && objects.includes('from')) {
    // Removing a tag or a reaction from something detaches it; deleting one deletes it, unless it is a reaction.
    const attached = objects.find((t) => ATTACHMENT_NOUNS.has(t) && (verb === 'remove' || REACTION_NOUNS.has(t)));
    if (attached && objects.indexOf(attached) < objects.indexOf('from')) return { verbClass: 'write', why: `a "${attached}" from something detaches it` };
  }
  if (verb === 'wait') {
    const awaited = objects.find((t) => AWAITED_NOUNS.has(t));
    if (awaited) return { verbClass: 'read', why: `for a "${awaited}" only reads its status` };
  }
  if (verb === 'resolve') {
    const thread = objects.find((t) => THREAD_NOUNS.has(t));
    if (thread) return { verbClass: 'write', why: `a "${thread}" marks it done` };
  }
  if (verb === 'approve' && objects.some((t) => t === 'deployment' || t === 'deployments')) {
    return { verbClass: 'exec', why: 'a held deployment lets it run' };
  }
  if ((verb === 'load' || verb === 'import') && objects.includes('into')) return { verbClass: 'write', why: 'into a store writes to it' };
  if (RESTORE_VERBS.has(verb)) {
    const saved = objects.find((t) => SAVED_STATE_NOUNS.has(t));
    if (saved) return { verbClass: 'destroy', why: `a "${saved}" overwrites the current state` };
  }
  if (cls === 'write' && INFRA_WRITES.has(verb)) {
    const infra = objects.find((t) => INFRA_NOUNS.has(t));
    if (infra) return { verbClass: 'exec', why: `"${infra}" changes what runs` };
  }
  if ((verb === 'snapshot' || verb === 'backup') && cls === 'read') {
    const stored = objects.find((t) => STORED_SNAPSHOT_OBJECTS.has(t));
    if (stored) return { verbClass: 'write', why: `a "${stored}" stores a copy` };
  }
  if (CREDENTIAL_ROTATIONS.has(verb)) {
    const secret = objects.find((t) => SECRET_NOUNS.has(t));
    if (secret) return { verbClass: 'destroy', why: `a "${secret}" invalidates the old one` };
  }
  if (cls === 'write' && SESSION_STOPS.has(verb)) {
    const session = objects.find((t) => SESSION_NOUNS.has(t));
    if (session) return { verbClass: 'exec', why: `a "${session}" stops what runs in it` };
  }
  if (cls === 'write' && MACHINE_STARTS.has(verb)) {
    const machine = made.find((t) => MACHINE_NOUNS.has(t));
    if (machine) return { verbClass: 'exec', why: `a "${machine}" starts it` };
  }
  if (cls === 'write' && (verb === 'connect' || verb === 'open' || verb === 'attach')) {
    const remote = objects.find((t) => REMOTE_SHELL_NOUNS.has(t));
    if (remote) return { verbClass: 'exec', why: `"${remote}" opens a session that runs commands` };
  }
  if (cls === 'write' && RUNNING_CHANGES.has(verb)) {
    const running = made.find((t) => RUNNING_NOUNS.has(t));
    if (running) return { verbClass: 'exec', why: `a "${running}" changes what runs` };
  }
  return undefined;
}

const REACTION_NOUNS: ReadonlySet<string> = new Set(['reaction', 'reactions', 'emoji']);

/** Where a download is written: with none, the file comes back in the reply (Read). */
const DESTINATION_ARG = /^(local|target|dest|destination|output|save|download)(path|dir|directory|file|filename|folder|location)?$/;

/** Creating a pipeline or a build runs it: the name's last noun is what is made. */
function runHeadInContext(verb: string, cls: VerbClass, nameTokens: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  const head = nameTokens[nameTokens.length - 1];
  if (cls !== 'write' || head === undefined) return undefined;
  if (MACHINE_STARTS.has(verb) && RUN_HEAD_NOUNS.has(head)) return { verbClass: 'exec', why: `a "${head}" runs it` };
  // The schedule of a pipeline or a job decides when it runs.
  const scheduled = nameTokens.find((t) => RUN_HEAD_NOUNS.has(t) || AWAITED_NOUNS.has(t));
  if (RUNNING_CHANGES.has(verb) && (head === 'schedule' || head === 'schedules') && scheduled) {
    return { verbClass: 'exec', why: `the schedule of a "${scheduled}" changes when it runs` };
  }
  return undefined;
}

/** A read that may save its result to a local path or directory writes a file. */
function savesInContext(cls: VerbClass, schema: JsonSchema | undefined): { verbClass: VerbClass; why: string } | undefined {
  if (cls !== 'read') return undefined;
  const top = schemaProperties(schema);
  const all = [...top, ...top.flatMap((p) => schemaProperties(p.schema))];
  const dest = all.find((p) => SAVE_TO_ARG.test(normalizeArg(p.name)));
  return dest ? { verbClass: 'write', why: `with argument "${dest.name}" may save its result to a file` } : undefined;
}
const SAVE_TO_ARG = /^(output|save|local|export|download)(dir|directory|path|folder|file)$/;

/** A download into the reply reads; one saved to a path or imported writes. */
function downloadInContext(verb: string, props: readonly Prop[], descTokens: ReadonlySet<string>): { verbClass: VerbClass; why: string } | undefined {
  if (verb !== 'download') return undefined;
  if (props.some((p) => DESTINATION_ARG.test(normalizeArg(p.name)))) return undefined;
  if (['import', 'save', 'saves', 'store', 'disk', 'local'].some((w) => descTokens.has(w))) return undefined;
  return { verbClass: 'read', why: 'with no destination returns the file in the reply' };
}

/** An order, trade or transaction among trading or commerce words (not of a database). */
function isContextMoneyNoun(t: string, tokens: readonly string[], descTokens: ReadonlySet<string>, props: readonly Prop[] = []): boolean {
  if (!CONTEXT_MONEY_NOUNS.has(t)) return false;
  const all = [...tokens, ...descTokens, ...props.map((p) => normalizeArg(p.name))];
  if ((t === 'transaction' || t === 'transactions') && all.some((w) => DATABASE_WORDS.has(w))) return false;
  if (t === 'order' || t === 'orders') {
    // An order is a purchase or a trade unless it is a sort order ("ascending order").
    return !all.some((w) => /^(sort|sorting|sortorder|reorder|ordering|ascending|descending|asc|desc)$/.test(w));
  }
  if (t === 'trade' || t === 'trades') return true;
  // "leverages a model" is a verb; the leverage of an account goes with positions and margin.
  if (t === 'leverage') return all.some((w) => LEVERAGE_WORDS.has(w));
  return all.some((w) => TRADING_WORDS.has(w) || FINANCIAL_NOUNS.has(w) || MONEY_WORDS.has(w));
}

function normalizeArg(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

interface Prop {
  name: string;
  schema: JsonSchema;
}

function schemaProperties(schema: JsonSchema | undefined): Prop[] {
  const props = schema && typeof schema === 'object' ? schema.properties : undefined;
  if (!props || typeof props !== 'object') return [];
  return Object.entries(props).map(([name, s]) => ({ name, schema: s && typeof s === 'object' ? s : {} }));
}

/**
 * Arguments, at any depth, that say what runs: a container image, a start command, a sync policy.
 * (A build command or a Dockerfile alone configures a build that runs on a later deploy: Write.)
 */
const RUN_SPEC_ARG = /^(startcommand|runcommand|syncpolicy|entrypoint|containerimage)$/;
const CONTAINER_WORDS = /\b(containers?|docker|registry|oci|dockerhub|ghcr)\b/;

function findRunSpecArg(schema: JsonSchema | undefined, toolDescription: string, depth = 0): string | undefined {
  if (depth > 5) return undefined;
  for (const p of schemaProperties(schema)) {
    const n = normalizeArg(p.name);
    if (RUN_SPEC_ARG.test(n)) return p.name;
    if (n === 'image') {
      const d = typeof p.schema.description === 'string' ? p.schema.description.toLowerCase() : '';
      if (CONTAINER_WORDS.test(d) || CONTAINER_WORDS.test(toolDescription)) return p.name;
    }
    const nested = p.schema.type === 'array' && p.schema.items && typeof p.schema.items === 'object' ? (p.schema.items as JsonSchema) : p.schema;
    const found = findRunSpecArg(nested, toolDescription, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function isCodeArg(p: Prop, toolDescription: string): boolean {
  const n = normalizeArg(p.name);
  const type = p.schema.type;
  const stringy = type === undefined || type === 'string' || (Array.isArray(type) && type.includes('string'));
  if (!stringy) return false;
  if (CODE_ARG_STRONG.test(n)) return true;
  if (!CODE_ARG_WEAK.test(n)) return false;
  const d = `${toolDescription} ${(typeof p.schema.description === 'string' ? p.schema.description : '').toLowerCase()}`;
  return /\b(execut\w*|run|runs|eval\w*|sql|javascript|python|script|shell|cypher|statement)\b/.test(d);
}

function joinCompounds(tokens: string[]): string[] {
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

const KNOWN_NOUNS = new Set<string>([...COMPOUNDS.map((c) => c[2]), ...FINANCIAL_NOUNS, ...CODE_NOUNS, ...BROWSER_NOUNS]);

/**
 * The verb a name rests on: the first verb token, as written (no inflections: `logs`, `comments`
 * are nouns in a name). A weak verb (one that is usually a noun when
 * not first, like `log` or `comment`) counts only first, or second after an unknown prefix word
 * (`slack_post_message`, `asana_set_parent`).
 */
function findNameVerb(tokens: string[], readingDescription = false): string | undefined {
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
function findWeakNameVerb(tokens: string[]): string | undefined {
  const weak = tokens.findIndex((u) => VERBS.has(u));
  return weak >= 0 ? coordinated(tokens, weak, false) : undefined;
}

const CLASS_SEVERITY: Record<VerbClass, number> = { read: 1, write: 2, exec: 3, destroy: 4, pay: 5 };

/**
 * The most severe of the verbs coordinated with the one at `i` ("list and create",
 * `create_or_update`, "create, run and see"): a tool that can do both is the more dangerous.
 */
function coordinated(tokens: string[], i: number, lemmatize: boolean): string {
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
function findDescriptionVerb(tokens: string[]): string | undefined {
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

function verbClassOf(verb: string, tokens: string[], descTokens: Set<string>): VerbClass {
  if (verb === 'transfer') {
    const moneyish =
      tokens.some((t) => MONEY_WORDS.has(t) || FINANCIAL_NOUNS.has(t)) || [...descTokens].some((t) => MONEY_WORDS.has(t) || FINANCIAL_NOUNS.has(t));
    return moneyish ? 'pay' : 'write';
  }
  return VERBS.get(verb) ?? 'read';
}

function isFinancialNoun(t: string, nameSet: Set<string>, descTokens: Set<string>): boolean {
  if (!FINANCIAL_NOUNS.has(t)) return false;
  if (t === 'subscription' || t === 'subscriptions') {
    // A notification, webhook or event subscription is not a paid plan.
    for (const w of nameSet) if (FEED_WORDS.has(w)) return false;
  }
  if (t === 'wallet' || t === 'wallets') {
    // "wallet" alone is weak: only with money words nearby.
    return [...nameSet, ...descTokens].some((w) => MONEY_WORDS.has(w));
  }
  return true;
}

function firstSentence(text: string): string {
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

interface RiskInput {
  verb: string | undefined;
  verbClass: VerbClass | undefined;
  nameTokens: string[];
  allDescTokens: Set<string>;
  lower: string;
  readOnlyQuery: boolean;
  codeArg: string | undefined;
  hints: NonNullable<ToolDefinition['annotations']>;
}

function riskOf(category: Category, r: RiskInput): { risk: Risk; why?: string } {
  const inName = (set: ReadonlySet<string>): string | undefined => r.nameTokens.find((t) => set.has(t));
  switch (category) {
    case 'Read': {
      if (r.readOnlyQuery) return { risk: 'Medium', why: 'risk Medium: runs queries; read-only by its own claim' };
      const q = inName(CODE_NOUNS) ?? r.codeArg;
      if (q) return { risk: 'Medium', why: `risk Medium: runs a caller's query or code ("${q}")` };
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

/** Participles that are adjectives in prose ("a trading pair", "exchange-traded"): not the noun "trade". */
const PROSE_PARTICIPLES: ReadonlySet<string> = new Set(['trading', 'traded']);
function lemmaInProse(word: string): string {
  return PROSE_PARTICIPLES.has(word) ? word : lemma(word);
}

/** Exec verbs that, leading a create's description, say the call starts something. */
const STARTING_VERBS: ReadonlySet<string> = new Set(['start', 'run', 'launch', 'trigger', 'execute', 'deploy', 'kick']);
/** What such a create starts: a job, a run, a build, a generation or an analysis. */
const STARTED_THINGS = /\b(jobs?|runs?|builds?|pipelines?|workflows?|generation|analysis|scans?|process(es)?|tasks?)\b/;

const HTTP_METHODS: ReadonlySet<string> = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace', 'connect']);

/** Market data, Read by the rubric. */
const MARKET_DATA = /\b(tickers?|order ?books?|ohlcv|candlesticks?|candles|klines?|market data|trading pairs?|price history|historical prices)\b/;
/** Verbs of a call that computes a result and records nothing. */
const PREVIEW_VERBS: ReadonlySet<string> = new Set(['preview', 'estimate', 'dryrun']);
const RECORDS_NOTHING = /\bwithout (creating|charging|billing|recording|committing|applying|placing|executing|making (any )?changes)\b/;

/** A transfer moves an asset when it carries an amount or goes to an address or a wallet. */
function movesAsset(recipient: Prop, descTokens: ReadonlySet<string>): boolean {
  if (/address|wallet/.test(normalizeArg(recipient.name))) return true;
  return [...descTokens].some((t) => MONEY_WORDS.has(t) || t === 'address' || t === 'wallet' || t === 'nft');
}

/** The words a name's verb acts on: those after it (none when it comes last: then the context decides). */
function nameObject(rawNameTokens: readonly string[], verb: string): string[] {
  const i = rawNameTokens.indexOf(verb);
  return i < 0 ? [] : rawNameTokens.slice(i + 1).map(lemma);
}

/** People: removing one from a team or a group takes their access away (Destructive). */
const PEOPLE_NOUNS: ReadonlySet<string> = new Set(['member', 'members', 'user', 'users', 'collaborator', 'collaborators', 'people', 'person']);
/** Containers that run: taking something out of one changes what runs, not a Write. */
const RUNNING_CONTAINERS: ReadonlySet<string> = new Set([...INFRA_NOUNS, ...MACHINE_NOUNS, 'sandbox', 'sandboxes', 'server', 'servers']);
const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the', 'its', 'your', 'their', 'this', 'that', 's', 'one', 'or', 'more', 'given']);

/**
 * Removing something from another thing the tool names (`firewall_remove_droplets`: "Remove
 * droplets from a firewall") detaches it; both survive (Write). Removing it from a whole service
 * ("from Resend") deletes it, and removing people takes their access away.
 */
function detachInContext(verb: string, nameTokens: readonly string[], descTokens: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  if (verb !== 'remove') return undefined;
  const inName = nameTokens.indexOf('from');
  let container: string[];
  if (inName >= 0) container = nameTokens.slice(inName + 1);
  else {
    const from = descTokens.indexOf('from');
    if (from < 0) return undefined;
    container = descTokens.slice(from + 1, from + 6).filter((t) => !ARTICLES.has(t));
    const named = new Set(nameTokens.map(singular));
    container = container.slice(0, 3).filter((t) => named.has(singular(t)));
  }
  if (container.length === 0) return undefined;
  if (nameTokens.some((t) => PEOPLE_NOUNS.has(t))) return undefined;
  if (container.some((t) => RUNNING_CONTAINERS.has(t))) return undefined;
  return { verbClass: 'write', why: `from a "${container.join(' ')}" detaches it: both remain` };
}

function singular(t: string): string {
  return t.endsWith('ies') ? `${t.slice(0, -3)}y` : t.endsWith('s') && !t.endsWith('ss') ? t.slice(0, -1) : t;
}

/** Things a replay sends again: a notification or an event delivered once more (Write). */
const RESENT_NOUNS: ReadonlySet<string> = new Set([
  'notification',
  'notifications',
  'webhook',
  'webhooks',
  'event',
  'events',
  'message',
  'messages',
  'email',
  'emails',
  'delivery',
  'deliveries',
]);
function resendInContext(verb: string, objects: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  if (verb !== 'replay' && verb !== 'retry') return undefined;
  const sent = objects.find((t) => RESENT_NOUNS.has(t));
  return sent ? { verbClass: 'write', why: `a "${sent}" sends it again` } : undefined;
}

/** A clause that deletes what the call acts on: "deletes it", "and deletes the associated draft". */
const DELETES_IT =
  /\b(deletes|destroys|erases|purges|wipes) (it|them)\b|\b(and|then) (permanently )?(deletes|destroys|erases|purges|wipes) (the|its|all|any)\b/;
const REPORT_NOUNS: ReadonlySet<string> = new Set(['report', 'reports', 'breakdown', 'statement', 'statements']);
/** Subjects that make a report a financial one. */
const REPORTED_MONEY: ReadonlySet<string> = new Set([
  'sales',
  'sale',
  'cost',
  'costs',
  'revenue',
  'revenues',
  'spend',
  'spending',
  'earnings',
  'profit',
  'tax',
  'taxes',
  'financial',
  'finance',
]);
