// Signals of the description and the input schema: telling phrases (irreversible, runs code,
// pays, market data) and telling arguments (amount and currency, a command, a start flag).
import { MONEY_WORDS } from './lexicon.js';
import type { JsonSchema } from './types.js';

/** Write verbs that, applied to code, a query or a migration, run it (`apply_migration`). */
export const RUNNING_WRITES: ReadonlySet<string> = new Set(['apply', 'send', 'submit']);

export const READ_ONLY_PHRASE =
  /\bread[- ]?only\b|\bin read mode\b|\bwithout (modifying|changing|making (any )?changes)\b|\bdoes not (modify|change|write)\b|\bnon[- ]destructive\b|\bno side[- ]effects\b/;

export const DESTRUCTIVE_PHRASE = /\bwipes?\b|\bdestroys?\b|\berases?\b/;

/** The description calls the tool destructive ("is destructive to existing data"), not "non-destructive". */
/** The call itself pays: "requires x402 USDC payment", "paid automatically from the wallet". */
export const PAYS_PHRASE =
  /\brequires? (an? )?([\w-]+ ){0,2}payment\b|\b(is|are|will be) (paid|charged) automatically\b|\bpaid automatically\b|\bgas (is |will be )?paid\b|\bcharges? (your|the) (card|wallet|account)\b/;

export const NETWORK_OPENINGS: ReadonlySet<string> = new Set(['tunnel', 'tunnels', 'portforward', 'portforwards', 'pty', 'ptys', 'tty']);

export const CREATES_RUNNING =
  /\b(service|app|application|container|deployment|worker|function|site|website)s? from (a |an |the )?(given )?(github |git |docker |container |app )?(repo|repository|image|template|dockerfile|spec|specification)\b/;

/** Firing an event or a webhook that starts automations runs them. */
export const TRIGGERS_PHRASE =
  /\b(trigger(s|ing) (an? |the |its )?|trigger (an? |the |its )|to trigger (an? |the |its )?)([a-z]+ )?(automations?|workflows?|pipelines?|jobs?|builds?|runs?|syncs?|scans?|rescans?|refresh|backups?|deploy(ment)?s?)\b/;

export const SAYS_DESTRUCTIVE = /(?<!non[- ])\bdestructive\b(?! ?hint)|\bdrops? existing\b/;

export const IRREVERSIBLE_PHRASE =
  /\bpermanently\b|\b(un|non-?)recoverabl\w*|\bis permanent\b|\birreversibl\w*|\b(cannot|can ?not|can't|can[’']t) be (undone|recovered|reversed|restored)\b|\bno way to (undo|recover)\b|\b(overwrit\w*|replac\w*) (the )?(current|live) (state|data|disk|contents?)\b/;

export const EXEC_PHRASE =
  /\b(execut\w*|runs?|eval\w*|invok\w*)\b (an? |the |any )?(arbitrary |raw |custom |given |provided |shell |python |javascript |js |sql )*(code|scripts?|commands?|shell|sql|javascript|python|bash|cypher|programs?|snippets?)\b/;

export const ARBITRARY_PHRASE = /\barbitrary (code|commands?|sql|scripts?|python|javascript|shell)\b/;

export const MONEY_PHRASE = /\b(payments?|refunds?|invoices?|payouts?|billing|money|funds|wire transfers?|purchases?|charges? (a|the) (card|customer))\b/;

/** Boilerplate hedges ("may be irreversible") weigh less than a plain statement. */
export const HEDGED_IRREVERSIBLE = /\b(may|might|can|could) be (irreversible|permanent)\b/;

export const HEDGED_IRREVERSIBLE_ALL = new RegExp(HEDGED_IRREVERSIBLE.source, 'g');

export const SIGNS_TRANSACTION =
  /\bstate[- ]changing (function|method|call|transaction)\b|\bsigns? (and (sends?|broadcasts?) )?(an? |the )?(on[- ]?chain )?transactions?\b/;

export const FEED_PHRASE = /\b(notification|webhook|event) subscriptions?\b/;

/** A subscription to a feed, not a paid plan: webhooks or change notifications named anywhere. */
export const FEED_ANYWHERE =
  /\bwebhooks?\b|\bchange notifications?\b|\b(message|event)s? subscriptions?\b|\bsubscribe to (\w+ ){0,3}(messages|events|notifications)\b/;

/** Arguments of a notification feed (where to deliver, which changes). */
export const FEED_ARG = /^(notificationurl|webhookurl|callback|callbackurl|changetype|changetypes|eventtypes?)$/;

/** Maintenance mode switched on or off takes an app offline or back online (Execute). */
export const MAINTENANCE_PHRASE = /\b(enabl\w*|disabl\w*|turn\w* (on|off)|toggl\w*|enter\w*|exit\w*|leav\w*)\b( \w+){0,3} maintenance mode\b/;

/** A message or request handed to a queue or a URL is delivered and runs its consumer (Execute). */
export const DELIVERS_PHRASE =
  /\b(publish\w*|enqueu\w*|send\w*|deliver\w*) (an? |the )?(http )?(messages?|requests?|jobs?) to (an? |the )?(specified |given )?(destination( url)?|endpoint|url|queue|topic)\b/;

/** Discarding local changes (git checkout or restore of paths) loses work (Destructive). */
export const DISCARDS_PHRASE =
  /\brestores? (the )?working[- ]tree files\b|\bdiscard\w* (all |any |your )?(local |uncommitted |unstaged |unsaved )*(changes|edits|modifications)\b/;

/**
 * A boolean flag that turns a write into a delete or a loss (`force`: "overwrites remote history").
 * Overwriting contents alone stays a Write, as the rubric has it.
 */
export const DESTRUCTIVE_FLAG_ARG = /^(force|delete\w*|remove\w*|prune|purge|discard\w*|hard)$/;

export const DESTRUCTIVE_FLAG_TEXT =
  /\b(discard\w*|delet\w*|destroy\w*|wip\w*|prun\w*|los[et])\b|\boverwrit\w* (the )?(remote |branch |commit |git )?history\b/;

/** On a call that runs or stops something, a flag that loses data (`purge`: "deletes its history"). */
export const LOSS_FLAG_TEXT = /\b(purg\w*|wip\w*|destroy\w*|los[et])\b|\b(delet\w*|remov\w*) (its|the|all) (data|history|volumes?|files|disks?)\b/;

/** Fetching an image stores it locally: it names what would run but runs nothing. */
export const FETCHES_IMAGE: ReadonlySet<string> = new Set(['pull', 'fetch', 'download']);

/** A region argument on a hosted database, cluster or instance: provisioning or moving infrastructure. */
export const REGION_ARG = /^(\w*regions?)$/;

export const HOSTED_NOUNS: ReadonlySet<string> = new Set(['database', 'databases', 'db', 'cluster', 'clusters', 'instance', 'instances', 'server', 'servers']);

/** Properties at any depth (nested objects and array items), for words the top level hides. */
export function deepProperties(schema: JsonSchema | undefined, depth = 0): Prop[] {
  if (depth > 3) return [];
  const out: Prop[] = [];
  for (const p of schemaProperties(schema)) {
    out.push(p);
    const nested = p.schema.type === 'array' && p.schema.items && typeof p.schema.items === 'object' ? (p.schema.items as JsonSchema) : p.schema;
    out.push(...deepProperties(nested, depth + 1));
  }
  return out;
}

/** Words that name money itself, wherever they stand in a first sentence. */
export const STRONG_MONEY_WORDS: ReadonlySet<string> = new Set(['money', 'funds', 'cash']);

export const AGENT_PHRASE = /\bbrowser[- ]automation agent\b|\bcomputer[- ]use\b|\bautonomously (execute|perform|complete|carr(y|ies) out)\b/;

/** Money records a generic document tool may name among the kinds it takes. */
export const MONEY_RECORDS: ReadonlySet<string> = new Set(
  'invoice invoices payment payments order orders bill bills expense expenses refund refunds journalentry journalentries creditnote creditnotes salaryslip salaryslips payroll transaction transactions'.split(
    ' ',
  ),
);

export const KIND_ARG = /^(doctype|documenttype|objecttype|recordtype|entitytype|sobject|sobjecttype)$/;

export const APPLY_PHRASE = /\bserver[- ]side apply\b|\bkubectl apply\b|\bapply (a |the |an? )?(kubernetes |k8s |yaml |json )?manifests?\b/;

export const START_ARG = /^(autostart|autorun|startaftercreate|startoncreate|autodeploy|deployaftercreate|instantdeploy|start|run|deploy)$/;

export const RECIPIENT_ADDRESS_ARG =
  /^(to|toaddress|recipient|recipientaddress|destination|destinationaddress|receiver|receiveraddress|towallet|walletaddress)$/;

export const QUANTITY_ARG = /^(quantity|qty|size|volume|shares|contracts|units|amount)$/;

export const GUARD_ARG = /^(force|confirm|confirmed|confirmation|confirm\w+|yes|iunderstand|acknowledge\w*|dangerously\w*)$/;

export const IRREVERSIBLE_ARG = /^(deletelocaldata|deletedata|purge|wipe|deletevolumes?|removevolumes?|deletebackups?)$/;

export const AMOUNT_ARG =
  /^(amount|amounts|amountcents|amountinminorunits|unitamount|totalamount|value(cents|minor)?|price|priceamount|cents|sum|total|payment(amount)?|(\w*)amount)$/;

export const CURRENCY_ARG = /^(\w*currency|currencycode|currencies|\w*asset|\w*token|\w*coin|denom|\w*mint)$/;

export const CODE_ARG_STRONG =
  /^(command|commands|cmd|script|shell|sql|sqlquery|javascript|js|python|bash|powershell|cypher|(startup|init|setup|boot|run)(script|scripts|commands?|cmds?))$/;

/** A `statement` argument whose own description says it is SQL or a script: a statement that runs. */
export function saysCode(p: Prop): boolean {
  const d = typeof p.schema.description === 'string' ? p.schema.description.toLowerCase() : '';
  const n = normalizeArg(p.name);
  if (n === 'statement' && /\b(sql|script)\b/.test(d)) return true;
  // A query or a statement its own description calls DDL or DML ("CREATE TABLE statement",
  // "INSERT, UPDATE or DELETE query") is SQL that changes the database, run as given.
  return CODE_ARG_WEAK.test(n) && CHANGING_SQL.test(d);
}

const CHANGING_SQL =
  /\b(create|alter|drop|truncate) (table|index|view|schema|database)\b|\b(insert|update|delete|upsert|merge)\b[^.]{0,40}\b(statements?|quer(y|ies)|sql)\b/;

export const CODE_ARG_WEAK = /^(code|expression|query|statement|source|program|function|snippet)$/;

export const QUERY_WORDS: ReadonlySet<string> = new Set(['query', 'queries']);

export const SQLISH = /\b(sql|cypher|database|db|table|select|insert|graphql|sparql|kql|jql|promql|logql)\b/;

/** A buy/sell argument: named side or action with buy and sell among its values. */
export function isTradeSide(p: Prop): boolean {
  const n = normalizeArg(p.name);
  const values = Array.isArray(p.schema.enum) ? p.schema.enum.map((v) => String(v).toLowerCase()) : [];
  if (values.includes('buy') && values.includes('sell')) return true;
  return (n === 'side' || n === 'orderside') && values.length === 0;
}

export function isBooleanish(s: JsonSchema): boolean {
  const t = s.type;
  return t === 'boolean' || (Array.isArray(t) && t.includes('boolean')) || (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'boolean'));
}

export function normalizeArg(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface Prop {
  name: string;
  schema: JsonSchema;
}

export function schemaProperties(schema: JsonSchema | undefined): Prop[] {
  const props = schema && typeof schema === 'object' ? schema.properties : undefined;
  if (!props || typeof props !== 'object') return [];
  return Object.entries(props).map(([name, s]) => ({ name, schema: s && typeof s === 'object' ? s : {} }));
}

/**
 * Arguments, at any depth, that say what runs: a container image, a start command, a sync policy.
 * (A build command or a Dockerfile alone configures a build that runs on a later deploy: Write.)
 */
export const RUN_SPEC_ARG = /^(startcommand|runcommand|syncpolicy|entrypoint|containerimage)$/;

export const CONTAINER_WORDS = /\b(containers?|docker|registry|oci|dockerhub|ghcr)\b/;

export function findRunSpecArg(schema: JsonSchema | undefined, toolDescription: string, depth = 0): string | undefined {
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

export function isCodeArg(p: Prop, toolDescription: string): boolean {
  const n = normalizeArg(p.name);
  const type = p.schema.type;
  const stringy = type === undefined || type === 'string' || (Array.isArray(type) && type.includes('string'));
  // A command chosen from a list ("read", "write", "delete") is an action, not code.
  if (!stringy || Array.isArray(p.schema.enum)) return false;
  if (CODE_ARG_STRONG.test(n)) return true;
  if (!CODE_ARG_WEAK.test(n)) return false;
  const d = `${toolDescription} ${(typeof p.schema.description === 'string' ? p.schema.description : '').toLowerCase()}`;
  return /\b(execut\w*|run|runs|eval\w*|sql|javascript|python|script|shell|cypher|statement)\b/.test(d);
}

/** Exec verbs that, leading a create's description, say the call starts something. */
export const STARTING_VERBS: ReadonlySet<string> = new Set(['start', 'run', 'launch', 'trigger', 'execute', 'deploy', 'kick']);

/** Verbs that open a description by setting work off, whatever the name says the tool reads. */
export const SETS_OFF: ReadonlySet<string> = new Set(['trigger', 'launch', 'kick']);

/** What such a create starts: a job, a run, a build, a generation or an analysis. */
export const STARTED_THINGS = /\b(jobs?|runs?|builds?|pipelines?|workflows?|generation|analysis|scans?|process(es)?|tasks?|trainings?|predictions?)\b/;

/** Market data, Read by the rubric. */
export const MARKET_DATA = /\b(tickers?|order ?books?|ohlcv|candlesticks?|candles|klines?|market data|trading pairs?|price history|historical prices)\b/;

/** Verbs of a call that computes a result and records nothing. */
export const PREVIEW_VERBS: ReadonlySet<string> = new Set(['preview', 'estimate', 'dryrun']);

export const RECORDS_NOTHING = /\bwithout (creating|charging|billing|recording|committing|applying|placing|executing|making (any )?changes)\b/;

/** A transfer moves an asset when it carries an amount or goes to an address or a wallet. */
export function movesAsset(recipient: Prop, descTokens: ReadonlySet<string>): boolean {
  if (/address|wallet/.test(normalizeArg(recipient.name))) return true;
  return [...descTokens].some((t) => MONEY_WORDS.has(t) || t === 'address' || t === 'wallet' || t === 'nft');
}

/** A clause that deletes what the call acts on: "deletes it", "and deletes the associated draft". */
export const DELETES_IT =
  /\b(deletes|destroys|erases|purges|wipes) (it|them)\b|\b(and|then) (permanently )?(deletes|destroys|erases|purges|wipes) (the|its|all|any)\b/;

export const REPORT_NOUNS: ReadonlySet<string> = new Set(['report', 'reports', 'breakdown', 'statement', 'statements']);

/** Subjects that make a report a financial one. */
export const REPORTED_MONEY: ReadonlySet<string> = new Set([
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

/** Machines: a size or type given to a create or a change provisions or resizes what runs. */
export const MACHINE_LIKE: ReadonlySet<string> = new Set([
  'droplet',
  'droplets',
  'vm',
  'vms',
  'virtualmachine',
  'instance',
  'instances',
  'server',
  'servers',
  'cluster',
  'clusters',
]);

export const SIZE_ARG = /^(size|sizeslug|\w*(instance|machine|node|server|vm)(type|class|size)|flavou?r\w*|cpus?|vcpus?|memory|memorymb|ram)$/;

/** Deployed code: changing a function's or a worker's code changes what runs. */
export const DEPLOYED_CODE_HOLDERS: ReadonlySet<string> = new Set(['function', 'functions', 'worker', 'workers', 'lambda', 'lambdas']);

export const CODE_FIELD = /^(code|sourcecode|source|zipfile|script|handler|bundle)$/;

/** A later clause that restarts or redeploys what the call changed ("this restarts the app"). */
export const RESTARTS_PHRASE =
  /\bto (the |its |a )?(latest|newer|new|specified|given|target) (version|release)\b|\b(is|are|will be|gets?) (then |also |automatically |immediately )?(deployed|started|launched|restarted|redeployed|rebooted|executed)\b|\band (then )?(deploys?|starts?|launch(es)?|runs?|releases?) (it|them)\b|\b(this|which|and|then|also|will|automatically) (also |automatically |then )?(restarts?|redeploys?|reboots?|recreates? (the )?(pods?|containers?|dynos?))\b|\btriggers? an? (new )?(re)?deploy(ment)?\b/;

/** A paid plan, tier or add-on: choosing one starts paying for it. */
export const PAID_PHRASE =
  /\bpay(s|ing)? (with|using|by|from) (the |your |a )?(stored |saved |default |linked )?(card|wallet|account|balance|credits)\b|\bfees? (may|will|might|can) apply\b|\bpaid (plans?|tiers?|subscriptions?|add-?ons?)\b|\b(is|are|will be) (billed|charged) (to|on|for)\b/;

/** "the secondary contact is deleted": the call deletes something, said in the passive. */
export const PASSIVE_DELETES =
  /\b(the|this|its|their|your) ([\w-]+ ){0,2}(is|are|will be|gets?) (then |also )?(permanently )?(deleted|destroyed|erased|purged|wiped|lost)\b|\b(data|contents|history|changes|work) (is|are|will be|may be) (permanently )?lost\b/;

/** Balances, positions and prices are Read by the rubric, whatever money words describe them. */
export const HELD_AMOUNTS: ReadonlySet<string> = new Set(['balance', 'balances', 'position', 'positions', 'price', 'prices', 'pricing', 'rate', 'rates']);

/** Migrations run: applying or running them changes a live schema (Execute). */
export const MIGRATION_PHRASE =
  /\b(migrations?|manifests?) (is|are|will be|gets?) (then )?(applied|run|executed)\b|\b(runs?|applies|apply|executes?) (any |all |the |pending |newer )*(database )?migrations?\b|\bapply (it|them) to\b/;

/** An argument that confirms a quoted cost: the call is charged. */
export const COST_CONFIRM_ARG = /^confirm\w*(cost|charge|payment|price|billing)\w*$/;

/** Rewriting published history (a force push) loses others' commits. */
export const HISTORY_PHRASE = /\b(overwrit|rewrit)\w* (the )?(remote |branch |commit |git |published |shared )*history\b/;

/** What a tool looks like to the signals below: its verbs, its name and its arguments. */
export interface ToolView {
  verbClass: string | undefined;
  nameVerb: string | undefined;
  descVerb: string | undefined;
  nameTokens: readonly string[];
  firstSentence: string;
  lower: string;
  props: readonly Prop[];
  moneyNoun: string | undefined;
}

export interface Vote {
  category: 'Financial' | 'Destructive' | 'Execute' | 'Write' | 'Read';
  weight: number;
  reason: string;
}

/**
 * Signals of what runs, pays or is lost beyond the verb: a machine sized or resized, deployed
 * code replaced, a change that restarts, a paid plan, money sent to an address, a deletion said
 * in the passive, history rewritten.
 */
export function furtherSignals(v: ToolView): Vote[] {
  const out: Vote[] = [];
  const writes = v.verbClass === 'write';
  // A flag that makes a write overwrite or delete ("force: overwrites remote history"), or a run lose data.
  const flagText = writes ? DESTRUCTIVE_FLAG_TEXT : v.verbClass === 'exec' ? LOSS_FLAG_TEXT : undefined;
  const flag = flagText
    ? v.props.find(
        (p) => DESTRUCTIVE_FLAG_ARG.test(normalizeArg(p.name)) && isBooleanish(p.schema) && flagText.test(String(p.schema.description ?? '').toLowerCase()),
      )
    : undefined;
  if (flag) out.push({ category: 'Destructive', weight: 12, reason: `flag "${flag.name}": may overwrite or delete` });
  // A hosted database or cluster placed in regions is provisioned or moved (Execute).
  const region = writes && v.nameTokens.some((t) => HOSTED_NOUNS.has(t)) ? v.props.find((p) => REGION_ARG.test(normalizeArg(p.name))) : undefined;
  if (region) out.push({ category: 'Execute', weight: 12, reason: `argument "${region.name}": provisions or moves a hosted database or cluster` });
  const irreversible = v.props.find((p) => IRREVERSIBLE_ARG.test(normalizeArg(p.name)));
  if (irreversible) out.push({ category: 'Destructive', weight: 5, reason: `argument "${irreversible.name}": deletes data` });
  const size = writes && v.nameTokens.some((t) => MACHINE_LIKE.has(t)) ? v.props.find((p) => SIZE_ARG.test(normalizeArg(p.name))) : undefined;
  if (size) out.push({ category: 'Execute', weight: 12, reason: `argument "${size.name}": provisions or resizes a machine` });
  if (writes && v.nameTokens.some((t) => DEPLOYED_CODE_HOLDERS.has(t))) {
    const code =
      v.nameTokens.includes('code') || v.nameTokens.includes('script') ? 'the name' : v.props.find((p) => CODE_FIELD.test(normalizeArg(p.name)))?.name;
    if (code)
      out.push({ category: 'Execute', weight: 12, reason: `changes deployed code (${code === 'the name' ? code : `argument "${code}"`}): changes what runs` });
  }
  if (writes && RESTARTS_PHRASE.test(v.lower)) out.push({ category: 'Execute', weight: 12, reason: 'description: the change restarts or redeploys what runs' });
  if (PAID_PHRASE.test(v.lower)) out.push({ category: 'Financial', weight: 12, reason: 'description: a paid plan or a charge' });
  const sends = v.nameVerb === 'send' || v.descVerb === 'send';
  if (sends && [...v.nameTokens, ...v.firstSentence.split(/\W+/)].some((t) => MONEY_WORDS.has(t))) {
    const to = v.props.find((p) => RECIPIENT_ADDRESS_ARG.test(normalizeArg(p.name)));
    const amount = v.props.find((p) => AMOUNT_ARG.test(normalizeArg(p.name)));
    if (to && (amount || /address|wallet/.test(normalizeArg(to.name)))) {
      out.push({ category: 'Financial', weight: 12, reason: `sends money or tokens to argument "${to.name}"` });
    }
  }
  const head = v.nameTokens[v.nameTokens.length - 1];
  if (v.verbClass === 'read' && !v.moneyNoun && head && HELD_AMOUNTS.has(head)) {
    out.push({ category: 'Read', weight: 10, reason: `reads a "${head}": balances, positions and prices are not money records` });
  }
  if (v.verbClass !== 'read' && PASSIVE_DELETES.test(v.lower))
    out.push({ category: 'Destructive', weight: 11, reason: 'description: something is deleted by the call' });
  if (v.verbClass !== 'read' && MIGRATION_PHRASE.test(v.lower))
    out.push({ category: 'Execute', weight: 12, reason: 'description: applies or runs migrations' });
  const cost = v.props.find((p) => COST_CONFIRM_ARG.test(normalizeArg(p.name)));
  if (cost) out.push({ category: 'Financial', weight: 12, reason: `argument "${cost.name}": confirms a cost the call is charged` });
  if (HISTORY_PHRASE.test(v.lower)) out.push({ category: 'Destructive', weight: 12, reason: 'description: rewrites published history' });
  return out;
}
