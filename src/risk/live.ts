// What a generic create or update really does. Servers generated from an API description name
// their tools after the HTTP operation (`CreateCall`, `UpdateStream`, `CreateIncomingPhoneNumber`)
// and say in the description what the call does ("Create a new outgoing call", "Stop a Stream",
// "Purchase a phone-number"): the generic verb of the name tells less than either.
import { VERBS } from './lexicon.js';
import { singular } from './reading.js';
import { type Prop, type ToolView, type Vote, isBooleanish, normalizeArg } from './signals.js';
import { tokenizeText } from './tokenize.js';

/** Verbs of a name that only say an HTTP operation happens: the description tells what it does. */
const GENERIC_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'modify', 'set', 'patch', 'put', 'post', 'edit', 'change', 'upsert']);

/**
 * Things that are live while they last: a phone call or a conference, a media stream, a recording
 * or a transcription of one. Creating one starts it (a call placed rings a phone, a recording
 * starts recording); updating one mostly pauses, stops, redirects or ends it.
 */
const LIVE_NOUNS: ReadonlySet<string> = new Set(['call', 'conference', 'stream', 'recording', 'transcription', 'livestream']);

/** Verbs that start, change or stop a live thing (not those that delete or read its record). */
const LIVE_VERBS: ReadonlySet<string> = new Set([...GENERIC_VERBS, 'start', 'stop', 'end', 'pause', 'resume', 'begin', 'place', 'initiate', 'redirect']);

/** Leading verbs of a description that plainly run something (not "start a claim", "perform a task"). */
const RUNS: ReadonlySet<string> = new Set(['deploy', 'redeploy', 'install', 'execute', 'run', 'launch', 'restart', 'reboot']);

/** A description that only names the HTTP request the tool makes ("Make a POST request to /v1/…"). */
export const BARE_ROUTE = /^(?:make an? )?(get|post|put|patch|delete)(?: request to)? \/\S*/i;

const METHOD_CLASS: Record<string, Vote['category']> = { get: 'Read', post: 'Write', put: 'Write', patch: 'Write', delete: 'Destructive' };

const SEVERITY: Record<string, number> = { read: 0, write: 1, exec: 2, destroy: 3, pay: 4 };
const CATEGORY: Record<string, Vote['category']> = { read: 'Read', write: 'Write', exec: 'Execute', destroy: 'Destructive', pay: 'Financial' };

/** Code a running system loads: switching one on or off changes what runs. */
const CODE_UNITS: ReadonlySet<string> = new Set(['plugin', 'extension', 'module', 'addon']);
const SWITCH_VERBS: ReadonlySet<string> = new Set(['activate', 'deactivate', 'enable', 'disable']);

/** What a write makes live: "so its latest changes go live", "promoting it to the live version", "to the security release". */
const GOES_LIVE =
  /\bgo(es)? live\b|\bto (the )?(live|production) (version|site|environment)\b|\bpromot(e|es|ing) (it |them )?to (the )?(live|production)\b|\bto the (\w+ )?(security|stable|maintenance) release\b|\bpull(s|ing)? the latest images?\b/;

/** Upkeep a database engine runs over a table or an index (OPTIMIZE, REPAIR, VACUUM): a job, not a record written. */
const UPKEEP_VERBS: ReadonlySet<string> = new Set(['optimize', 'optimise', 'repair', 'vacuum', 'defragment', 'compact', 'reindex']);
const STORE_NOUNS: ReadonlySet<string> = new Set(['table', 'index', 'database', 'collection', 'fulltext']);

/** A flag that empties the target before the write (`truncateFirst`, `dropExisting`): what was there is lost. */
const EMPTIES_FIRST = /^(truncate\w*|drop(existing|first|tables?|target))$/;

/** A change in a batch marked as a deletion (`shouldDelete`, `toDelete`, `markedForDeletion`; not a mail rule's `delete` action). */
const ITEM_DELETE = /^(should|to|markedfor)(delete|deletion)$/;

/** A cron expression says when what the write makes runs: a monitor, a job, a scheduled run. */
const CRON_ARG = /^(cron|cronexpression|cronschedule|schedulecron)$/;
const SENT_NOUNS: ReadonlySet<string> = new Set(['report', 'email', 'mail', 'message', 'reminder', 'notification', 'digest', 'newsletter']);

export function liveSignals(v: ToolView, deep: readonly Prop[] = v.props): Vote[] {
  const out: Vote[] = [];
  // With no verb in the name, the HTTP method of a bare route is weak evidence of what the call does.
  const method = v.nameVerb ? undefined : BARE_ROUTE.exec(v.firstSentence)?.[1]?.toLowerCase();
  if (method) out.push({ category: METHOD_CLASS[method]!, weight: 5, reason: `description: an HTTP ${method.toUpperCase()} request` });
  // Not what is only sent on a schedule (a report or a reminder e-mailed weekly).
  const sent = [...v.nameTokens, ...tokenizeText(v.firstSentence)].some((t) => SENT_NOUNS.has(singular(t)));
  const cron = v.verbClass === 'write' && !sent ? deep.find((p) => CRON_ARG.test(normalizeArg(p.name))) : undefined;
  if (cron) out.push({ category: 'Execute', weight: 12, reason: `argument "${cron.name}": schedules what runs` });
  const upkeep = v.nameTokens.find((t) => UPKEEP_VERBS.has(t));
  if (upkeep && [...v.nameTokens, ...tokenizeText(v.firstSentence)].some((t) => STORE_NOUNS.has(singular(t)))) {
    out.push({ category: 'Execute', weight: 12, reason: `"${upkeep}" a table or an index: runs the engine's upkeep job` });
  }
  const empties =
    v.verbClass === 'write' || v.verbClass === 'exec' ? v.props.find((p) => EMPTIES_FIRST.test(normalizeArg(p.name)) && isBooleanish(p.schema)) : undefined;
  if (empties) out.push({ category: 'Destructive', weight: 12, reason: `flag "${empties.name}": empties the target first` });
  // A generic update whose listed changes may each be a deletion (`changes[].shouldDelete`) deletes; a create
  // of such changes (a change request) applies nothing yet.
  const itemDelete =
    v.nameVerb && GENERIC_VERBS.has(v.nameVerb) && !v.nameTokens.some((t) => t.startsWith('creat') || t === 'new' || t === 'add')
      ? deep.find((p) => !v.props.includes(p) && ITEM_DELETE.test(normalizeArg(p.name)) && isBooleanish(p.schema))
      : undefined;
  if (itemDelete) out.push({ category: 'Destructive', weight: 12, reason: `flag "${itemDelete.name}" on its changes: each may be a deletion` });
  const verb = v.nameVerb ?? v.descVerb;
  const unit = verb && SWITCH_VERBS.has(verb) ? v.nameTokens.map(singular).find((t) => CODE_UNITS.has(t)) : undefined;
  if (unit) out.push({ category: 'Execute', weight: 12, reason: `"${verb}" a ${unit}: changes the code that runs` });
  if (v.verbClass === 'write' && GOES_LIVE.test(v.firstSentence)) out.push({ category: 'Execute', weight: 12, reason: 'description: the change goes live' });
  // The name's words, and those of the route a bare HTTP request is made to (".../Conferences/{Sid}/Participants.json").
  const words = [...v.nameTokens, ...(BARE_ROUTE.test(v.firstSentence) ? tokenizeText(v.firstSentence) : [])];
  const live = words.map(singular).find((t) => LIVE_NOUNS.has(t));
  if (verb && live && LIVE_VERBS.has(verb) && v.verbClass !== 'read' && v.verbClass !== 'destroy') {
    out.push({ category: 'Execute', weight: 12, reason: `"${verb}" a ${live}: starts, redirects or stops something live` });
  }
  // A generic verb of the name yields to a more severe, more telling leading verb of the description.
  const descClass = v.descVerb ? VERBS.get(v.descVerb) : undefined;
  if (v.nameVerb && GENERIC_VERBS.has(v.nameVerb) && v.descVerb && !GENERIC_VERBS.has(v.descVerb) && descClass) {
    const nameClass = v.verbClass ?? VERBS.get(v.nameVerb) ?? 'write';
    if ((SEVERITY[descClass] ?? 0) > (SEVERITY[nameClass] ?? 0) && (descClass === 'pay' || descClass === 'destroy' || RUNS.has(v.descVerb))) {
      out.push({ category: CATEGORY[descClass]!, weight: 6, reason: `description: "${v.descVerb}" says what the generic "${v.nameVerb}" does` });
    }
  }
  return out;
}
