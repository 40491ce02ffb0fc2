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
  BROWSER_NOUNS,
  BROWSER_VERBS,
  CATALOGUE_NOUNS,
  CODE_NOUNS,
  FINANCIAL_NOUNS,
  MACHINE_STARTS,
  QUERY_NOUNS,
  VERBS,
  type VerbClass,
  lemma,
} from './lexicon.js';
import { CLASS_CATEGORY, type Evidence, type Scored, confidenceOf, decide } from './combine.js';
import {
  detachInContext,
  downloadInContext,
  mostSevereAction,
  resendInContext,
  runHeadInContext,
  savesInContext,
  statusInContext,
  verbInContext,
} from './context.js';
import {
  dropPreamble,
  findDescriptionVerb,
  findNameVerb,
  findWeakNameVerb,
  firstSentence,
  isContextMoneyNoun,
  isFinancialNoun,
  joinCompounds,
  laterVerb,
  lemmaInProse,
  PLAIN_READS,
  modifiesHead,
  namesPlan,
  nameObject,
  verbClassOf,
} from './reading.js';
import { liveSignals } from './live.js';
import { paidSignals } from './paid.js';
import { explain } from './reasons.js';
import {
  AGENT_PHRASE,
  AMOUNT_ARG,
  APPLY_PHRASE,
  ARBITRARY_PHRASE,
  CODE_ARG_STRONG,
  CREATES_RUNNING,
  CURRENCY_ARG,
  DELETES_IT,
  DELIVERS_PHRASE,
  DESTRUCTIVE_PHRASE,
  DISCARDS_PHRASE,
  EXEC_PHRASE,
  FETCHES_IMAGE,
  FEED_ANYWHERE,
  FEED_ARG,
  FEED_PHRASE,
  GUARD_ARG,
  HEDGED_IRREVERSIBLE,
  HEDGED_IRREVERSIBLE_ALL,
  IRREVERSIBLE_PHRASE,
  KIND_ARG,
  MAINTENANCE_PHRASE,
  MARKET_DATA,
  MONEY_PHRASE,
  MONEY_RECORDS,
  NETWORK_OPENINGS,
  PAYS_PHRASE,
  PREVIEW_VERBS,
  QUANTITY_ARG,
  READ_ONLY_PHRASE,
  RECIPIENT_ADDRESS_ARG,
  RECORDS_NOTHING,
  REPORTED_MONEY,
  REPORT_NOUNS,
  RUNNING_WRITES,
  SAYS_DESTRUCTIVE,
  SIGNS_TRANSACTION,
  STARTED_THINGS,
  SETS_OFF,
  STARTING_VERBS,
  START_ARG,
  STRONG_MONEY_WORDS,
  TRIGGERS_PHRASE,
  deepProperties,
  findRunSpecArg,
  furtherSignals,
  isBooleanish,
  isCodeArg,
  isTradeSide,
  saysCode,
  movesAsset,
  normalizeArg,
  schemaProperties,
} from './signals.js';
import { tokenizeName, tokenizeText } from './tokenize.js';
import { runsAsCode, transientInContext } from './transient.js';
import type { Classification, ToolDefinition } from './types.js';

/** Details the scaffold writer also needs (the amount argument of a financial tool). */
export interface ClassificationDetail extends Classification {
  /** The verb the decision rests on, if any (lemma). */
  verb?: string;
  /** An amount-like argument (for a spend cap), if the input schema has one. */
  amountArg?: string;
  /** A code/command-like argument (for an argument-validation example), if any. */
  codeArg?: string;
  /** A Read that runs the caller's query (read-only by its claim or its query language). */
  query?: true;
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
  const description = dropPreamble(tool.description ?? '');
  const descTokens = joinCompounds(tokenizeText(firstSentence(description), true)).map(lemmaInProse);
  const allDescTokens = new Set(tokenizeText(description).map(lemmaInProse));
  const nameSet = new Set(nameTokens);
  const props = schemaProperties(tool.inputSchema);
  // Nested fields too: a transaction's amount and payee may sit in its items or its update.
  const allProps = deepProperties(tool.inputSchema);
  const lower = description.toLowerCase();
  // Webhooks or change notifications anywhere, or a notification URL: a feed, not a paid plan.
  const feed = FEED_ANYWHERE.test(lower) || allProps.some((p) => FEED_ARG.test(normalizeArg(p.name)));
  const evidence: Evidence[] = [];

  // 1. The verb of the name.
  const descVerbFirst = findDescriptionVerb(descTokens);
  const nameVerb = laterVerbTheDescriptionOpens(
    rawNameTokens,
    findNameVerb(rawNameTokens, descVerbFirst !== undefined && VERBS.get(descVerbFirst) === 'read') ??
      (descVerbFirst ? undefined : findWeakNameVerb(rawNameTokens)),
    descVerbFirst,
  );
  let verbClass: VerbClass | undefined = nameVerb ? verbClassOf(nameVerb, nameTokens, allDescTokens) : undefined;
  const objectTokens = [...nameTokens, ...descTokens];
  if (nameVerb && verbClass) {
    const browser = BROWSER_VERBS.has(nameVerb) && nameTokens.some((t) => BROWSER_NOUNS.has(t));
    const runsCode = verbClass === 'write' && RUNNING_WRITES.has(nameVerb) && nameTokens.some((t) => CODE_NOUNS.has(t) || t === 'migration');
    const context =
      verbInContext(nameVerb, verbClass, objectTokens, nameObject(rawNameTokens, nameVerb)) ??
      transientInContext(nameVerb, objectTokens) ??
      detachInContext(nameVerb, nameTokens, descTokens) ??
      resendInContext(nameVerb, objectTokens) ??
      downloadInContext(nameVerb, props, allDescTokens) ??
      runHeadInContext(nameVerb, verbClass, nameTokens) ??
      statusInContext(nameVerb, verbClass, nameTokens) ??
      savesInContext(verbClass, tool.inputSchema, description.toLowerCase());
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
      // A read verb that names a purpose (`verify_sender`: "Sends a verification email") yields to a writing description.
      // Any read verb yields to a description that opens by setting something off ("search_missing:
      // Trigger a search for all missing episodes" queues downloads).
      const yields =
        verbClass === 'read' &&
        descVerbFirst !== undefined &&
        ((!PLAIN_READS.has(nameVerb) && VERBS.get(descVerbFirst) === 'write') || SETS_OFF.has(descVerbFirst));
      evidence.push({ category: CLASS_CATEGORY[verbClass], weight: yields ? 5 : 10, reason: `verb "${nameVerb}" in the name` });
    }
  }

  // A generic create whose description starts a job or a run ("createSdk: Starts an SDK
  // generation job") runs it: the description says what the call does.
  const startsInDesc = descVerbFirst !== undefined && STARTING_VERBS.has(descVerbFirst) ? descVerbFirst : undefined;
  if (startsInDesc && verbClass === 'write' && nameVerb && MACHINE_STARTS.has(nameVerb) && STARTED_THINGS.test(firstSentence(description.toLowerCase()))) {
    evidence.push({ category: 'Execute', weight: 10, reason: `description: "${startsInDesc}" — the create starts a job or a run` });
  }

  // 2. Money nouns in the name; a read of what a money noun only qualifies (`payment_gateways`) reads none.
  const reads = (verbClass ?? (descVerbFirst && VERBS.get(descVerbFirst))) === 'read';
  // Reading or making a plan is catalogue work; changing one may move a customer to another price.
  const catalogueOnly = reads || nameVerb === 'create';
  const moneyNoun = nameTokens.find(
    (t, i) =>
      !(reads && modifiesHead(nameTokens, i)) &&
      !(catalogueOnly && namesPlan(nameTokens, i)) &&
      (isFinancialNoun(t, nameSet, allDescTokens, feed) || isContextMoneyNoun(t, [...nameTokens, ...descTokens], allDescTokens, allProps)),
  );
  if (moneyNoun) {
    evidence.push({ category: 'Financial', weight: 20, reason: `"${moneyNoun}" in the name: money or billing` });
  }

  // 3. Code nouns in a name without a verb (`sql`, `shell`, `python_code`).
  const codeNoun = nameTokens.find((t) => CODE_NOUNS.has(t));
  if (codeNoun && !nameVerb && runsAsCode(nameTokens)) {
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
    const context =
      verbInContext(descVerb, cls, objectTokens) ?? transientInContext(descVerb, objectTokens) ?? detachInContext(descVerb, nameTokens, descTokens);
    addDesc({
      category: context ? CLASS_CATEGORY[context.verbClass] : browser ? 'Execute' : CLASS_CATEGORY[cls],
      weight: 5,
      reason: context ? `description: "${descVerb}" ${context.why}` : `description: "${descVerb}"`,
    });
  }
  // Money named in the first sentence outweighs the verb of the name: "Create an adjustment to
  // refund or credit a transaction" is Financial, whatever the tool is called.
  const descMoney = descTokens.find(
    (t, i) =>
      !(reads && modifiesHead(descTokens, i)) &&
      !(catalogueOnly && namesPlan(descTokens, i)) &&
      (isFinancialNoun(t, new Set(descTokens), allDescTokens, feed) || isContextMoneyNoun(t, descTokens, allDescTokens) || STRONG_MONEY_WORDS.has(t)),
  );
  if (descMoney) descMoneyEvidence.push({ category: 'Financial', weight: 12, reason: `description: "${descMoney}" (money)` });
  else if (PAYS_PHRASE.test(description.toLowerCase())) descMoneyEvidence.push({ category: 'Financial', weight: 12, reason: 'description: the call pays' });
  const readOnlyClaim = READ_ONLY_PHRASE.test(lower);
  if (readOnlyClaim) addDesc({ category: 'Read', weight: 6, reason: 'description says read-only' });
  // Irreversibility outweighs a write or execute verb in the name ("close_account: Permanently
  // close an account"): an act that cannot be undone is Destructive.
  if (IRREVERSIBLE_PHRASE.test(lower.replace(HEDGED_IRREVERSIBLE_ALL, '')))
    addDesc({ category: 'Destructive', weight: 12, reason: 'description: permanent, cannot be undone' });
  else if (HEDGED_IRREVERSIBLE.test(lower)) addDesc({ category: 'Destructive', weight: 6, reason: 'description: may be irreversible' });
  else if (SAYS_DESTRUCTIVE.test(lower)) addDesc({ category: 'Destructive', weight: 12, reason: 'description: says it is destructive' });
  else if (DESTRUCTIVE_PHRASE.test(lower)) addDesc({ category: 'Destructive', weight: 6, reason: 'description: destroys or wipes' });
  if (MAINTENANCE_PHRASE.test(lower))
    addDesc({ category: 'Execute', weight: 12, reason: 'description: switches maintenance mode (takes the app offline or back)' });
  if (DELIVERS_PHRASE.test(lower))
    addDesc({ category: 'Execute', weight: 12, reason: 'description: hands a message to a queue or URL that runs its consumer' });
  if (DISCARDS_PHRASE.test(lower)) addDesc({ category: 'Destructive', weight: 12, reason: 'description: discards local changes' });
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
  // Money records named later ("use them for reconciliation, transactions, refunds") weigh a little less.
  const reportLater =
    report && !reportOf ? [...allDescTokens].find((t) => REPORTED_MONEY.has(t) || isFinancialNoun(t, nameSet, allDescTokens, feed)) : undefined;
  if (report && reportOf) addDesc({ category: 'Financial', weight: 12, reason: `a "${report}" of "${reportOf}": a financial report` });
  else if (report && reportLater) addDesc({ category: 'Financial', weight: 11, reason: `a "${report}" of "${reportLater}" records: a financial report` });
  if (MONEY_PHRASE.test(lower) && !FEED_PHRASE.test(lower)) {
    addDesc({ category: 'Financial', weight: 6, reason: 'description: payments or billing' });
  }
  evidence.push(...descEvidence.values(), ...descMoneyEvidence);

  // 5. The input schema: amount + currency or side, code-like arguments, replicas.
  const amountArg = props.find((p) => AMOUNT_ARG.test(normalizeArg(p.name)));
  const currencyArg = props.find((p) => CURRENCY_ARG.test(normalizeArg(p.name)));
  const sideArg = props.find((p) => isTradeSide(p));
  const quantityArg = amountArg ?? props.find((p) => QUANTITY_ARG.test(normalizeArg(p.name)));
  // A price, a product or a discount is a catalogue object: its amount records no payment.
  const catalogue = !moneyNoun && nameTokens.some((t) => CATALOGUE_NOUNS.has(t));
  if (amountArg && currencyArg && !catalogue) {
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
    const strong = CODE_ARG_STRONG.test(normalizeArg(codeArg.name)) || saysCode(codeArg) || nameVerb === 'test';
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
  const runsArg = verbClass === 'write' && !FETCHES_IMAGE.has(nameVerb ?? '') ? findRunSpecArg(tool.inputSchema, lower) : undefined;
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
  const plainRead = verbClass === 'read' && nameVerb !== undefined && PLAIN_READS.has(nameVerb);
  const action = verbClass === 'read' && readOnlyClaim ? undefined : mostSevereAction(props, description, objectTokens, plainRead);
  if (action) {
    evidence.push({ category: CLASS_CATEGORY[action.verbClass], weight: 15, reason: `action "${action.value}" among its actions` });
  }
  const replicasArg = props.find((p) => /^replicas?$|^(desired|instance)count$/.test(normalizeArg(p.name)));
  if (replicasArg) evidence.push({ category: 'Execute', weight: 5, reason: `argument "${replicasArg.name}": scales what runs` });
  const guardArg = props.find((p) => GUARD_ARG.test(normalizeArg(p.name)) && isBooleanish(p.schema));
  // Flags that delete, regions that provision, machines sized, code replaced, restarts, paid plans…
  const view = { verbClass, nameVerb, descVerb, nameTokens, firstSentence: firstSentence(lower), lower, props, moneyNoun };
  evidence.push(...furtherSignals(view), ...liveSignals(view, allProps), ...paidSignals(view, allProps, allDescTokens));

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

  // Nothing telling in the name or the leading words: the first clear verb anywhere in the description,
  // unless it reads (a guess may raise an unknown tool, never lower it: Other keeps scan's rate limit).
  const found = evidence.some((e) => e.weight >= 5) ? undefined : laterVerb(tokenizeText(description).map(lemmaInProse));
  const guess = found === undefined ? 'Read' : CLASS_CATEGORY[VERBS.get(found)!];
  if (guess !== 'Read') evidence.push({ category: guess, weight: 4, reason: `description mentions "${found}"` });
  // Decide: the heaviest class, rounded up when a more severe one is close.
  const decision = decide(evidence, a);
  let category = decision.category;
  const { best, totals, notes } = decision;

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

  const { risk, reasons, query } = explain(category, evidence, notes, {
    verb: nameVerb ?? descVerb,
    verbClass: verbClass ?? (descVerb ? verbClassOf(descVerb, descTokens, allDescTokens) : undefined),
    nameTokens,
    allDescTokens,
    lower,
    readOnlyQuery,
    codeArg: codeArg?.name,
    guardArg: guardArg?.name,
    hints: a,
  });

  const detail: ClassificationDetail = { category, risk, confidence: confidenceOf(category, best, totals), reasons };
  const verb = nameVerb ?? descVerb;
  if (verb) detail.verb = verb;
  if (amountArg) detail.amountArg = amountArg.name;
  if (codeArg) detail.codeArg = codeArg.name;
  if (query) detail.query = true;
  return detail;
}

/**
 * Of two verbs in a name, the later one when the description opens with it: the earlier is then a
 * noun or a part's name (`trash_list_profiles`: "List the guides' profiles"; `change_requests_list`:
 * "List change requests"). Only past a verb that writes: a delete, a stop or a payment first in the
 * name may be what the call does after what it lists ("delete_list_items: List the items and delete
 * them"), so it keeps the name.
 */
function laterVerbTheDescriptionOpens(tokens: readonly string[], verb: string | undefined, descVerb: string | undefined): string | undefined {
  if (!verb || !descVerb || verb === descVerb || VERBS.get(verb) !== 'write') return verb;
  const at = tokens.indexOf(verb);
  return at >= 0 && tokens.indexOf(descVerb, at + 1) > at ? descVerb : verb;
}
