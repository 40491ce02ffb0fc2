// Verbs read in context: the class of a verb depends on what it acts on (applying a manifest
// runs it, restoring a snapshot overwrites, removing a tag detaches it), and a tool of many
// actions is as risky as the most severe of them.
import {
  ATTACHMENT_NOUNS,
  AWAITED_NOUNS,
  CACHE_CLEARS,
  CACHE_NOUNS,
  CREDENTIAL_ROTATIONS,
  INFRA_NOUNS,
  INFRA_WRITES,
  MACHINE_NOUNS,
  MACHINE_STARTS,
  REMOTE_SHELL_NOUNS,
  RESTORE_VERBS,
  RUNNING_CHANGES,
  RUNNING_NOUNS,
  RUN_HEAD_NOUNS,
  SAVED_STATE_NOUNS,
  SECRET_NOUNS,
  SESSION_NOUNS,
  SESSION_STOPS,
  STORED_SNAPSHOT_OBJECTS,
  THREAD_NOUNS,
  VERBS,
  type VerbClass,
} from './lexicon.js';
import { ARTICLES, CLASS_SEVERITY, singular } from './reading.js';
import { type Prop, normalizeArg, schemaProperties } from './signals.js';
import { tokenizeName } from './tokenize.js';
import type { JsonSchema } from './types.js';

export const ACTION_ARG = /^(action|actions|operation|op|subcommand|command|cmd|mode|method|verb|task|strategy)$/;

/**
 * The most severe verb among a tool's actions: the string values of an action-like argument's
 * enum, or a slash-separated list of verbs in the description ("list/get/create/delete").
 */
export function mostSevereAction(
  props: readonly Prop[],
  description: string,
  objects: readonly string[],
  /** A plain read by its name (`get_flag_history`): a pair in its description ("enable/disable") is what it reads about. */
  plainRead = false,
): { value: string; verbClass: VerbClass } | undefined {
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
    // Not when they are HTTP methods ("The HTTP method to call the `url` with: `GET` or `POST`").
    const named = [...hint.matchAll(/['"`]([a-z][a-z_-]*)['"`]/g)].map((m) => m[1]!);
    if (!/\bhttp (request )?(method|verb)\b/.test(hint) && !named.every((v) => HTTP_METHODS.has(v))) values.push(...named);
  }
  // "list/get/delete", not a URL or a path ("/api/agents/register", "docs/skill.md").
  // Single words only: "start_line/line_count" names arguments, not actions.
  // Every part a verb: "release/cycle" or "null/empty" names things, not operations.
  for (const m of description.toLowerCase().matchAll(/(?<![\w/.:-])[a-z]+(?:\/[a-z]+)+(?![\w/.:-])/g)) {
    const ops = m[0].split('/');
    if (ops.every((op) => VERBS.has(op)) && !(plainRead && ops.length === 2)) values.push(...ops);
  }
  // A list of a tool's operations may end its sentence ("Recipe ops: list/get/create/delete."): three
  // or more, reads among them; a file name may not ("docs/skill.md"), nor a pair ("start/end.").
  for (const m of description.toLowerCase().matchAll(/(?<![\w/.:-])[a-z]+(?:\/[a-z]+){2,}(?=\.(?:\s|$))/g)) {
    const ops = m[0].split('/');
    if (ops.includes('list') || ops.includes('get')) values.push(...ops);
  }
  let best: { value: string; verbClass: VerbClass } | undefined;
  for (const value of values) {
    const [first, ...own] = tokenizeName(value);
    if (!first || !VERBS.has(first)) continue;
    // The action's own object first ("cancel_event" cancels an event), then the tool's words.
    let cls = verbInContext(first, VERBS.get(first)!, [...own, ...objects])?.verbClass ?? VERBS.get(first)!;
    // Removing a link, a relation or a tag between things detaches them: both remain.
    if (cls === 'destroy' && DETACHES.has(first) && [...own, ...objects].some((t) => LINK_NOUNS.has(t))) cls = 'write';
    if (cls === 'read') continue;
    if (!best || CLASS_SEVERITY[cls] > CLASS_SEVERITY[best.verbClass]) best = { value, verbClass: cls };
  }
  return best;
}

/** Verbs that take something off another thing. */
const DETACHES: ReadonlySet<string> = new Set(['remove', 'unlink', 'disassociate', 'detach', 'untag', 'unassign']);

/** What ties things together; taking one off loses neither thing. */
const LINK_NOUNS: ReadonlySet<string> = new Set(
  'link links relation relations relationship relationships association associations tag tags label labels'.split(' '),
);

/**
 * A verb whose class depends on its object: applying, syncing or restarting infrastructure runs
 * it (Execute); restoring a snapshot or backup puts it over the current state (Destructive).
 */
export function verbInContext(
  verb: string,
  cls: VerbClass,
  objects: readonly string[],
  ownObject: readonly string[] = [],
): { verbClass: VerbClass; why: string } | undefined {
  // What a create or a change acts on: the name's own object when it has one (`cluster_create_topic`
  // makes a topic, not a cluster), else the words around it.
  const made = ownObject.length > 0 ? ownObject : objects;
  // Suspending or resuming a person's account changes their access, it stops nothing that runs.
  if (PEOPLE_HOLDS.has(verb) && made.some((t) => PEOPLE_NOUNS.has(t) || t === 'account' || t === 'accounts')) {
    return { verbClass: 'write', why: 'a person or an account changes their access' };
  }
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
  // Passing or rejecting a pipeline's manual gate lets the held run go on, or stops it.
  if (GATE_VERBS.has(verb) && objects.some((t) => GATES.has(t)) && objects.some((t) => t === 'pipeline' || t === 'pipelines')) {
    return { verbClass: 'exec', why: "a pipeline's manual gate lets the held run go on or stops it" };
  }
  if ((verb === 'load' || verb === 'import') && objects.includes('into')) return { verbClass: 'write', why: 'into a store writes to it' };
  // Restoring a paused or stopped thing starts it again.
  if (verb === 'restore' && objects.some((t) => t === 'pause' || t === 'stop' || t === 'suspend' || t === 'hibernate')) {
    return { verbClass: 'exec', why: 'a paused or stopped thing starts it again' };
  }
  if (RESTORE_VERBS.has(verb)) {
    const saved = objects.find((t) => SAVED_STATE_NOUNS.has(t));
    if (saved) return { verbClass: 'destroy', why: `a "${saved}" overwrites the current state` };
  }
  // Formatting a disk or a partition erases it; a signal sent to a process may kill it.
  if (verb === 'format' && objects.some((t) => FORMATTED.has(t))) return { verbClass: 'destroy', why: 'a disk or a partition erases what is on it' };
  if (verb === 'signal' && objects.some((t) => t === 'process' || t === 'processes' || t === 'pid')) {
    return { verbClass: 'destroy', why: 'to a process may kill it' };
  }
  // Releasing an address or a number gives it up: someone else may take it (Destructive).
  if (verb === 'release' && objects.some((t) => RELEASED.has(t))) return { verbClass: 'destroy', why: 'an address or a number gives it up' };
  // Renewing a registration, a licence or a membership pays for another term.
  if (verb === 'renew') {
    const paid = objects.find((t) => PAID_TERMS.has(t));
    if (paid) return { verbClass: 'pay', why: `a "${paid}" pays for another term` };
  }
  // Upgrading or downgrading a plan, a tier or a seat count changes what the account pays.
  if ((verb === 'upgrade' || verb === 'downgrade') && objects.some((t) => PAID_LEVELS.has(t))) {
    return { verbClass: 'pay', why: 'a plan, a tier or seats changes what the account pays' };
  }
  // Opening or exposing a port makes a service reachable from outside (Execute).
  if ((verb === 'open' || verb === 'expose') && objects.some((t) => t === 'port' || t === 'ports')) {
    return { verbClass: 'exec', why: 'a port makes a service reachable from outside' };
  }
  // Running a health check or a diagnostic only reads the state of what it checks.
  if (verb === 'run' && objects.some((t) => CHECKS.has(t))) return { verbClass: 'read', why: 'a health check or a diagnostic reads a status' };
  // Terminating or aborting a run, a job or an execution stops what runs, like cancelling it.
  if (verb === 'terminate' || verb === 'abort') {
    // A process or a session force-terminated is killed (Destructive), whatever runs in it.
    const run = made.find((t) => CANCELLED_RUNS.has(t) || t === 'execution' || t === 'executions');
    if (run && !objects.some((t) => SESSION_NOUNS.has(t))) return { verbClass: 'exec', why: `a "${run}" stops what runs` };
  }
  // Keys or input sent to a terminal, a pane or a session are typed into its shell.
  if (verb === 'send' || verb === 'type' || verb === 'write') {
    const session = objects.find((t) => SESSION_NOUNS.has(t) || t === 'pane' || t === 'tmux');
    if (session && objects.some((t) => TYPED_INPUT.has(t))) return { verbClass: 'exec', why: `input to a "${session}" runs in its shell` };
  }
  if (verb === 'cancel') {
    // A cancelled meeting is called off for every attendee and leaves their calendars.
    const meeting = objects.find((t) => MEETING_NOUNS.has(t));
    if (meeting) return { verbClass: 'destroy', why: `a "${meeting}" calls it off for everyone invited` };
    // A cancelled run, job or build stops what runs.
    const run = objects.find((t) => CANCELLED_RUNS.has(t));
    if (run) return { verbClass: 'exec', why: `a "${run}" stops what runs` };
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
  // Closing a trading position sells (or buys back) what it holds; swapping tokens trades them.
  if ((verb === 'close' || verb === 'exit') && objects.some((t) => t === 'position' || t === 'positions')) {
    return { verbClass: 'pay', why: 'a trading position sells or buys back what it holds' };
  }
  if (verb === 'swap') {
    const asset = objects.find((t) => SWAPPED_ASSETS.has(t));
    if (asset) return { verbClass: 'pay', why: `"${asset}" for another trades one asset for another` };
  }
  if (cls === 'write' && RUNNING_CHANGES.has(verb)) {
    const running = made.find((t) => RUNNING_NOUNS.has(t));
    if (running) return { verbClass: 'exec', why: `a "${running}" changes what runs` };
  }
  return undefined;
}

/** What a swap or a conversion trades: coins, tokens and currencies. */
export const SWAPPED_ASSETS: ReadonlySet<string> = new Set([
  'token',
  'tokens',
  'coin',
  'coins',
  'currency',
  'currencies',
  'crypto',
  'eth',
  'btc',
  'usdc',
  'sol',
  'stablecoin',
]);

/** Holds that, on a person or an account, change access rather than what runs. */
export const PEOPLE_HOLDS: ReadonlySet<string> = new Set(['suspend', 'unsuspend', 'pause', 'resume', 'unpause']);

/** What formatting erases. */
export const FORMATTED: ReadonlySet<string> = new Set([
  'disk',
  'disks',
  'partition',
  'partitions',
  'drive',
  'drives',
  'volume',
  'volumes',
  'device',
  'filesystem',
]);

/** What a release gives up. */
export const RELEASED: ReadonlySet<string> = new Set(['ip', 'ips', 'ipv4', 'ipv6', 'address', 'addresses', 'number', 'numbers', 'reservation', 'floatingip']);

/** The status, history or progress of a run (`rollout_status`, `build_history`) is read; deleting or setting one is not. */
export function statusInContext(verb: string, cls: VerbClass, nameTokens: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  const head = nameTokens[nameTokens.length - 1];
  if (cls !== 'exec' || head === verb || !STATUS_HEADS.has(head ?? '')) return undefined;
  return { verbClass: 'read', why: `names what the "${head}" is about: reading it` };
}

export const STATUS_HEADS: ReadonlySet<string> = new Set(['status', 'statuses', 'history', 'progress']);

/** What is renewed for a fee. */
export const PAID_TERMS: ReadonlySet<string> = new Set(['domain', 'domains', 'registration', 'license', 'licence', 'licenses', 'membership', 'plan', 'lease']);

/** What a paid account is on: changing one changes the bill. */
const PAID_LEVELS: ReadonlySet<string> = new Set([
  'plan',
  'plans',
  'tier',
  'tiers',
  'seat',
  'seats',
  'subscription',
  'subscriptions',
  'membership',
  'license',
  'licence',
]);

/** Checks whose run only reads a status. */
export const CHECKS: ReadonlySet<string> = new Set(['health', 'healthcheck', 'healthchecks', 'diagnostic', 'diagnostics']);

/** What is typed into a terminal. */
export const TYPED_INPUT: ReadonlySet<string> = new Set(['key', 'keys', 'keystroke', 'keystrokes', 'input', 'command', 'commands', 'text', 'line']);

export const MEETING_NOUNS: ReadonlySet<string> = new Set(['meeting', 'meetings', 'appointment', 'appointments', 'event', 'events', 'occurrence']);

export const CANCELLED_RUNS: ReadonlySet<string> = new Set(
  'run runs job jobs build builds workflow workflows pipeline pipelines training trainings prediction predictions'.split(' '),
);

export const REACTION_NOUNS: ReadonlySet<string> = new Set(['reaction', 'reactions', 'emoji']);

/** Where a download is written: with none, the file comes back in the reply (Read). */
export const DESTINATION_ARG = /^(local|target|dest|destination|output|save|download)(path|dir|directory|file|filename|folder|location)?$/;

/** Creating a pipeline or a build runs it: the name's last noun is what is made. */
export function runHeadInContext(verb: string, cls: VerbClass, nameTokens: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  // The name's last noun: `create_pipeline` and `pipeline_create` both make a pipeline.
  const made = nameTokens.filter((t) => t !== verb).pop();
  const head = nameTokens[nameTokens.length - 1];
  if (cls !== 'write' || head === undefined || made === undefined) return undefined;
  if (MACHINE_STARTS.has(verb) && RUN_HEAD_NOUNS.has(made)) return { verbClass: 'exec', why: `a "${made}" runs it` };
  // The schedule of a pipeline or a job decides when it runs.
  const scheduled = nameTokens.find((t) => RUN_HEAD_NOUNS.has(t) || AWAITED_NOUNS.has(t));
  if (RUNNING_CHANGES.has(verb) && (head === 'schedule' || head === 'schedules') && scheduled) {
    return { verbClass: 'exec', why: `the schedule of a "${scheduled}" changes when it runs` };
  }
  return undefined;
}

/** A read that may save its result to a local path or directory writes a file. */
export function savesInContext(cls: VerbClass, schema: JsonSchema | undefined, lower = ''): { verbClass: VerbClass; why: string } | undefined {
  if (cls !== 'read') return undefined;
  if (SAVES_PHRASE.test(lower)) return { verbClass: 'write', why: 'and saves the result to a file' };
  const top = schemaProperties(schema);
  const all = [...top, ...top.flatMap((p) => schemaProperties(p.schema))];
  const dest = all.find((p) => SAVE_TO_ARG.test(normalizeArg(p.name)));
  return dest ? { verbClass: 'write', why: `with argument "${dest.name}" may save its result to a file` } : undefined;
}

export const SAVES_PHRASE =
  /\b(and )?(saves?|writes?) (it|them|the (result|output|file|export)s?) to (a |the )?(local |given )?(path|file|folder|directory|disk)\b/;

export const SAVE_TO_ARG = /^(output|save|local|export|download)(dir|directory|path|folder|file)$/;

/** A download into the reply reads; one saved to a path or imported writes. */
export function downloadInContext(verb: string, props: readonly Prop[], descTokens: ReadonlySet<string>): { verbClass: VerbClass; why: string } | undefined {
  if (verb !== 'download') return undefined;
  if (props.some((p) => DESTINATION_ARG.test(normalizeArg(p.name)))) return undefined;
  if (['import', 'save', 'saves', 'store', 'disk', 'local'].some((w) => descTokens.has(w))) return undefined;
  return { verbClass: 'read', why: 'with no destination returns the file in the reply' };
}

export const HTTP_METHODS: ReadonlySet<string> = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace', 'connect']);

/** People: removing one from a team or a group takes their access away (Destructive). */
export const PEOPLE_NOUNS: ReadonlySet<string> = new Set(['member', 'members', 'user', 'users', 'collaborator', 'collaborators', 'people', 'person']);

/** Containers that run: taking something out of one changes what runs, not a Write. */
export const RUNNING_CONTAINERS: ReadonlySet<string> = new Set([...INFRA_NOUNS, ...MACHINE_NOUNS, 'sandbox', 'sandboxes', 'server', 'servers']);

/** Verbs that decide a manual gate, and the gates a pipeline holds a run at. */
const GATE_VERBS: ReadonlySet<string> = new Set(['approve', 'pass', 'reject', 'refuse']);
const GATES: ReadonlySet<string> = new Set(['gate', 'gates', 'checkpoint', 'checkpoints', 'stage', 'stages']);

/** Lists of pointers a person keeps: removing from one loses nothing. */
const PERSONAL_LISTS: ReadonlySet<string> = new Set([
  'favorite',
  'favorites',
  'favourite',
  'favourites',
  'bookmark',
  'bookmarks',
  'starred',
  'pinned',
  'watchlist',
]);

/**
 * Removing something from another thing the tool names (`firewall_remove_droplets`: "Remove
 * droplets from a firewall") detaches it; both survive (Write). Removing it from a whole service
 * ("from Resend") deletes it, and removing people takes their access away.
 */
export function detachInContext(verb: string, nameTokens: readonly string[], descTokens: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  if (verb !== 'remove') return undefined;
  const inName = nameTokens.indexOf('from');
  let container: string[];
  if (inName >= 0) container = nameTokens.slice(inName + 1);
  else {
    const from = descTokens.indexOf('from');
    if (from < 0) return undefined;
    container = descTokens.slice(from + 1, from + 6).filter((t) => !ARTICLES.has(t));
    const named = new Set(nameTokens.map(singular));
    // A favourites or bookmarks list is a container by what it is, named or not.
    container = container.slice(0, 3).filter((t) => named.has(singular(t)) || PERSONAL_LISTS.has(t));
  }
  if (container.length === 0) return undefined;
  // People named by the name or by the description before "from" ("Remove a user from a channel").
  const before = descTokens.slice(0, Math.max(0, descTokens.indexOf('from')));
  if ([...nameTokens, ...before].some((t) => PEOPLE_NOUNS.has(t))) return undefined;
  if (container.some((t) => RUNNING_CONTAINERS.has(t))) return undefined;
  return { verbClass: 'write', why: `from a "${container.join(' ')}" detaches it: both remain` };
}

/** Things a replay sends again: a notification or an event delivered once more (Write). */
export const RESENT_NOUNS: ReadonlySet<string> = new Set([
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

export function resendInContext(verb: string, objects: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  if (verb !== 'replay' && verb !== 'retry') return undefined;
  const sent = objects.find((t) => RESENT_NOUNS.has(t));
  return sent ? { verbClass: 'write', why: `a "${sent}" sends it again` } : undefined;
}
