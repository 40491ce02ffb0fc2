// Admission: the one gate every message from a client passes before the
// gateway looks at it, on every transport (stdio, Streamable HTTP, legacy
// SSE, the 2026-07-28 stateless lane, serve). It parses, enforces the wire
// limits, and refuses any message that another JSON parser could read
// differently from the way the gateway reads it:
//   - duplicate keys (JSON.parse keeps the last, some parsers the first);
//   - keys that collide case-insensitively (Go's encoding/json matches keys to
//     fields case-insensitively, last one wins), and, where the gateway reads
//     a key (the envelope, tools/call params), a case variant of that key
//     standing alone (`"ID"`, `"Method"`, `"Arguments"`);
//   - numbers outside the double range (`1e309` parses to Infinity);
//   - nesting deeper than the limit (re-serialising would overflow the stack).
// A message that passes can be forwarded as its own text: every parser reads
// it the same way. Everything here is iterative (no recursion on the input).
import type { Frame } from './channel.js';
import { errorResponse, ErrorCode, idKey, isPlainObject, type JsonRpcId, type JsonRpcResponse } from './jsonrpc.js';

export interface WireLimits {
  /** Deepest nesting of objects and arrays (the message object itself is depth 1). */
  maxDepth: number;
  /** Most object keys in one message, counted over every object in it. */
  maxKeys: number;
  /** Most messages in one batch. */
  maxBatch: number;
  /** Largest message (bytes of UTF-8 text). */
  maxMessageBytes: number;
}

export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxDepth: 64,
  maxKeys: 10_000,
  maxBatch: 100,
  maxMessageBytes: 4 * 1024 * 1024,
});

/** `value`: the parsed message when it parsed (for the audit record of a refused call). */
export type Admission = { ok: true; value: unknown } | { ok: false; error: JsonRpcResponse; value?: unknown };

/** The envelope keys the gateway reads. */
const ENVELOPE_KEYS = ['jsonrpc', 'id', 'method', 'params', 'result', 'error'];
/** The tools/call params the gateway reads or decides on. */
const CALL_PARAM_KEYS = ['name', 'arguments', '_meta', 'requestState'];

/**
 * A key as a case-insensitive decoder matches it: Unicode simple case folding
 * as Go does it (upper then lower case maps ſ to s and the Kelvin sign to k),
 * with lone surrogates read as U+FFFD (Go's decoder replaces them so).
 */
export function foldKey(key: string): string {
  // Most keys are lower-case ASCII already: their fold is themselves (no strings made).
  if (PLAIN_KEY.test(key)) return key;
  return (key as string & { toWellFormed(): string }).toWellFormed().toUpperCase().toLowerCase();
}

const PLAIN_KEY = /^[a-z0-9_./$-]*$/;

const FOLDED_ENVELOPE = new Map(ENVELOPE_KEYS.map((k) => [foldKey(k), k]));
const FOLDED_CALL_PARAMS = new Map(CALL_PARAM_KEYS.map((k) => [foldKey(k), k]));

function isId(v: unknown): v is JsonRpcId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** Parse one frame from a client and admit it, or say why not (the JSON-RPC error to answer with). */
export function admit(text: string, limits: Readonly<WireLimits> = DEFAULT_WIRE_LIMITS): Admission {
  if (text.length > limits.maxMessageBytes || (text.length * 3 > limits.maxMessageBytes && Buffer.byteLength(text, 'utf8') > limits.maxMessageBytes)) {
    return refuse(null, ErrorCode.InvalidRequest, `Invalid Request: the message is larger than ${limits.maxMessageBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return refuse(null, ErrorCode.ParseError, 'Parse error: the message is not valid JSON');
  }
  const counted: KeyCount = { envelope: 0, inner: 0 };
  const problem = inspectClientMessage(value, limits, counted) ?? duplicateKeys(text, value, counted);
  return problem ? { ok: false, error: problem, value } : { ok: true, value };
}

/** A client frame through admission: admitted (its value is safe to act on and its text to forward), or refused. */
export function admitFrame(text: string, limits: Readonly<WireLimits> = DEFAULT_WIRE_LIMITS): Frame {
  const a = admit(text, limits);
  return a.ok ? { text, value: a.value, admitted: true } : { text, value: undefined, refused: { error: a.error, value: a.value } };
}

function refuse(id: JsonRpcId | null, code: number, message: string): { ok: false; error: JsonRpcResponse } {
  return { ok: false, error: errorResponse(id, code, message) };
}

/** The id to answer a refused single message with (null for a batch, or when the id itself is in doubt). */
function answerId(value: unknown): JsonRpcId | null {
  return isPlainObject(value) && isId(value.id) ? value.id : null;
}

/**
 * The structural checks on a parsed client message (or batch): limits,
 * finite numbers, case-insensitive key collisions. Undefined when it passes.
 */
export function inspectClientMessage(value: unknown, limits: Readonly<WireLimits>, counted: KeyCount = { envelope: 0, inner: 0 }): JsonRpcResponse | undefined {
  const batch = Array.isArray(value);
  const messages: unknown[] = batch ? value : [value];
  if (batch && messages.length > limits.maxBatch) {
    return errorResponse(null, ErrorCode.InvalidRequest, `Invalid Request: a batch of ${messages.length} messages (limit ${limits.maxBatch})`);
  }
  // The envelopes first: a problem there is an invalid request (-32600), and their ids must be beyond doubt.
  const ids = new Set<string>();
  for (const m of messages) {
    if (!isPlainObject(m)) continue;
    const env = variantOf(m, FOLDED_ENVELOPE);
    if (env) return errorResponse(null, ErrorCode.InvalidRequest, `Invalid Request: key ${JSON.stringify(env.key)} ${env.why}`);
    if (typeof m.id === 'number' && !Number.isFinite(m.id))
      return errorResponse(null, ErrorCode.InvalidRequest, 'Invalid Request: the id is a number out of range');
    if (batch && typeof m.method === 'string' && isId(m.id)) {
      if (ids.has(idKey(m.id)))
        return errorResponse(null, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(m.id)} appears twice in the batch`);
      ids.add(idKey(m.id));
    }
  }
  const id = batch ? null : answerId(value);
  const structural = walk(value, limits, batch ? 2 : 1, counted);
  if (structural) {
    // Beyond the limits is a bad request as a whole; a bad value inside params is bad params.
    const code = structural.kind === 'limit' || structural.depth <= (batch ? 2 : 1) ? ErrorCode.InvalidRequest : ErrorCode.InvalidParams;
    return errorResponse(id, code, `${code === ErrorCode.InvalidRequest ? 'Invalid Request' : 'Invalid params'}: ${structural.message}`);
  }
  for (const m of messages) {
    if (!isPlainObject(m) || m.method !== 'tools/call' || !isPlainObject(m.params)) continue;
    const p = variantOf(m.params, FOLDED_CALL_PARAMS);
    if (p) return errorResponse(id, ErrorCode.InvalidParams, `Invalid params: key ${JSON.stringify(p.key)} ${p.why}`);
  }
  return undefined;
}

/** A key of `obj` that is a case variant of a key the gateway reads (`known`: folded -> exact). */
function variantOf(obj: Record<string, unknown>, known: ReadonlyMap<string, string>): { key: string; why: string } | undefined {
  for (const key in obj) {
    const exact = known.get(foldKey(key));
    if (exact !== undefined && exact !== key) return { key, why: `is a case variant of "${exact}", which toolgate reads; send "${exact}" exactly` };
  }
  return undefined;
}

interface Structural {
  kind: 'limit' | 'value';
  /** Depth of the object or array where it was found (1: the message itself). */
  depth: number;
  message: string;
}

/** Keys in a parsed message: those of its envelope(s), and all the others. */
interface KeyCount {
  envelope: number;
  inner: number;
}

/** Depth, key count, finite numbers and case-insensitive collisions, with an explicit stack; counts the keys into `counted`. */
function walk(root: unknown, limits: Readonly<WireLimits>, envelopeDepth: number, counted: KeyCount): Structural | undefined {
  if (typeof root !== 'object' || root === null) return undefined;
  const stack: Array<{ v: object; depth: number }> = [{ v: root, depth: 1 }];
  let keys = 0;
  // Children: objects go on the stack, numbers are checked here, the rest needs nothing.
  const child = (x: unknown, depth: number): Structural | undefined => {
    if (typeof x === 'object' && x !== null) stack.push({ v: x, depth: depth + 1 });
    else if (typeof x === 'number' && !Number.isFinite(x)) return { kind: 'value', depth, message: 'a number is out of range (it parses to Infinity)' };
    return undefined;
  };
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (depth > limits.maxDepth) return { kind: 'limit', depth, message: `the message is nested deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const bad = child(v[i], depth);
        if (bad) return bad;
      }
      continue;
    }
    const names = Object.keys(v);
    keys += names.length;
    if (depth === envelopeDepth) counted.envelope += names.length;
    else counted.inner += names.length;
    if (keys > limits.maxKeys) return { kind: 'limit', depth, message: `the message has more than ${limits.maxKeys} keys` };
    // Keys that are their own fold cannot collide (JSON.parse has merged exact duplicates): look closer only when one is not.
    if (names.length > 1 && names.some((k) => !PLAIN_KEY.test(k))) {
      const seen = new Map<string, string>();
      for (const k of names) {
        const f = foldKey(k);
        const other = seen.get(f);
        if (other !== undefined)
          return {
            kind: 'value',
            depth,
            message: `keys ${JSON.stringify(other)} and ${JSON.stringify(k)} differ only in case (servers that match keys case-insensitively would read one of them)`,
          };
        seen.set(f, k);
      }
    }
    for (const k of names) {
      const bad = child((v as Record<string, unknown>)[k], depth);
      if (bad) return bad;
    }
  }
  return undefined;
}

/**
 * Duplicate keys, which JSON.parse drops silently (the last one wins): the
 * text has one member (one colon outside strings) per key written, the parsed
 * value one key per distinct key. The envelope level is counted apart, so a
 * duplicate there (say two `method` keys) is an invalid request.
 */
function duplicateKeys(text: string, value: unknown, { envelope, inner }: KeyCount): JsonRpcResponse | undefined {
  const written = membersWritten(text, Array.isArray(value) ? 2 : 1);
  if (written.envelope !== envelope) return errorResponse(null, ErrorCode.InvalidRequest, 'Invalid Request: a key appears twice in the message envelope');
  if (written.inner !== inner)
    return errorResponse(Array.isArray(value) ? null : answerId(value), ErrorCode.InvalidParams, 'Invalid params: a key appears twice in an object');
  return undefined;
}

/**
 * Whether valid JSON `text` writes a key twice in one object (JSON.parse kept
 * only the last): for answers read outside admission, such as a hook's.
 */
export function repeatsAKey(text: string, value: unknown): boolean {
  const written = membersWritten(text, 1);
  let keys = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    const names = Object.keys(v);
    keys += names.length;
    for (const k of names) stack.push((v as Record<string, unknown>)[k]);
  }
  return written.envelope + written.inner !== keys;
}

/** Members (colons outside strings) in valid JSON text, at `envelopeDepth` and below it. */
function membersWritten(text: string, envelopeDepth: number): { envelope: number; inner: number } {
  let envelope = 0;
  let inner = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip to the closing quote: one not preceded by an odd run of backslashes.
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q === -1) return { envelope, inner };
        let b = q - 1;
        while (text.charCodeAt(b) === 0x5c /* \ */) b--;
        i = q;
        if ((q - 1 - b) % 2 === 0) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    else if (c === 0x3a /* : */) {
      if (depth === envelopeDepth) envelope++;
      else inner++;
    }
  }
  return { envelope, inner };
}

/** The result keys the gateway reads in a server's answer (list filter, call outcome, rounds, tasks). */
const RESULT_KEYS = ['tools', 'nextCursor', 'isError', 'resultType', 'task', 'requestState', 'inputRequests'];
const FOLDED_RESULT = new Map(RESULT_KEYS.map((k) => [foldKey(k), k]));

/** A key of `obj` that a case-insensitive decoder reads as one of `known` (or as another key of `obj`) while the gateway does not. */
function foldedVariant(obj: Record<string, unknown>, known: ReadonlyMap<string, string>): string | undefined {
  const seen = new Set<string>();
  for (const k of Object.keys(obj)) {
    const f = foldKey(k);
    if (seen.has(f)) return k;
    seen.add(f);
    const meant = known.get(f);
    if (meant !== undefined && meant !== k) return k;
  }
  return undefined;
}

/**
 * Why a server message could read differently to a client with another JSON
 * decoder than to the gateway, where that difference matters: a case variant
 * of an envelope key (`"ID"`, `"Result"`) or of a result key the gateway acts
 * on (`"Tools"` beside a filtered `"tools"` would hand a Go client the
 * unfiltered list). Such a message is not passed on.
 */
export function ambiguousServerMessage(value: unknown): string | undefined {
  for (const m of Array.isArray(value) ? value : [value]) {
    if (!isPlainObject(m)) continue;
    const env = foldedVariant(m, FOLDED_ENVELOPE);
    if (env !== undefined) return `has the key "${env}", a case variant of a JSON-RPC key`;
    if (isPlainObject(m.result)) {
      const res = foldedVariant(m.result, FOLDED_RESULT);
      if (res !== undefined) return `has the result key "${res}", a case variant of a key toolgate reads`;
    }
  }
  return undefined;
}

/** A tool entry of a tools/list answer whose keys collide under case folding (`"name"` and `"Name"`): clients could read another tool than the one decided. */
export function ambiguousToolEntry(tool: Record<string, unknown>): boolean {
  return foldedVariant(tool, FOLDED_TOOL) !== undefined;
}
const FOLDED_TOOL = new Map([['name', 'name']]);

/**
 * The limit on a message from a server: depth only (its keys are not the
 * gateway's to police, and a large result is legitimate). A message nested
 * deeper is not passed on: the gateway may have to re-serialise it (filtered
 * lists, batches), and it would overflow the stack.
 */
export function exceedsLimits(value: unknown, limits: Readonly<WireLimits>): string | undefined {
  // Servers answer with more than clients ask (tool lists with nested schemas): four times the depth.
  const maxDepth = limits.maxDepth * 4;
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (depth > maxDepth) return `nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) stack.push({ v: x, depth: depth + 1 });
      continue;
    }
    for (const k in v as Record<string, unknown>) {
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'object' && x !== null) stack.push({ v: x, depth: depth + 1 });
    }
  }
  return undefined;
}

/** The limits from flags or config values (undefined: the default); throws a message naming the flag on a bad value. */
export function wireLimitsFrom(given: { [K in keyof WireLimits]?: string | number | undefined }, names: { [K in keyof WireLimits]: string }): WireLimits {
  const out = { ...DEFAULT_WIRE_LIMITS };
  for (const k of Object.keys(names) as Array<keyof WireLimits>) {
    const v = given[k];
    if (v === undefined) continue;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${names[k]} must be a positive integer, got ${JSON.stringify(v)}`);
    out[k] = n;
  }
  return out;
}

/** The CLI flag of each limit. */
export const WIRE_LIMIT_FLAGS: { [K in keyof WireLimits]: string } = {
  maxDepth: '--max-depth',
  maxKeys: '--max-keys',
  maxBatch: '--max-batch',
  maxMessageBytes: '--max-message-bytes',
};
