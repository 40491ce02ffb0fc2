// A stdio MCP server that reads JSON the way real servers' parsers do, not the
// way toolgate does, for the wire tests (bypasses and fuzzing):
//   DECODE=go       Go's encoding/json into structs: keys match fields
//                   case-insensitively (Unicode simple folding), the last
//                   matching key wins (mark3labs/mcp-go and other Go servers);
//                   tool names are looked up case-insensitively, and a
//                   tools/call without an id is executed all the same.
//   DECODE=first    a parser that keeps the first of duplicate keys.
//   DECODE=pydantic Python's json (last key wins) with pydantic's lax mode:
//                   a string of digits given for a number field is that number.
// Every message it receives is appended to $SERVER_LOG as one JSON line:
// { raw, method, id, tool, args (the map), fields (what the tool acts on), executed }. With DEEP_LIST=1 its tools/list
// answer is nested 5,000 deep (a hostile server). Without DECODE it does
// nothing (the test runner may load this file).
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

type Json = null | boolean | number | string | Json[] | Members;
/** An object as written: every member, in order, duplicates kept. */
class Members {
  constructor(readonly entries: Array<[string, Json]>) {}
}

/** A JSON parser that keeps duplicate keys (Members), for decoding like other languages. */
export function parseMembers(text: string): Json {
  let i = 0;
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, Json]> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return new Members(entries);
      }
      for (;;) {
        ws();
        const k = value() as string;
        ws();
        i++; // :
        entries.push([k, value()]);
        ws();
        if (text[i++] === '}') return new Members(entries);
      }
    }
    if (c === '[') {
      i++;
      const out: Json[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i++] === ']') return out;
      }
    }
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    }
    const m = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) throw new Error(`bad JSON at ${i}`);
    i += m[0].length;
    return JSON.parse(m[0]) as Json;
  };
  return value();
}

const fold = (k: string) => (k as string & { toWellFormed(): string }).toWellFormed().toUpperCase().toLowerCase();

export type Decode = 'go' | 'first' | 'pydantic';

/** A struct field as the server's decoder finds it in an object. */
export function field(obj: Json, name: string, decode: Decode): Json | undefined {
  if (!(obj instanceof Members)) return undefined;
  const hits = obj.entries.filter(([k]) => (decode === 'go' ? fold(k) === fold(name) : k === name));
  if (hits.length === 0) return undefined;
  return (decode === 'first' ? hits[0] : hits[hits.length - 1])![1];
}

/** A decoded map (arguments): plain values, duplicate keys resolved as the decoder does. */
export function plain(v: Json | undefined, decode: Decode): unknown {
  if (v instanceof Members) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of decode === 'first' ? [...v.entries].reverse() : v.entries) out[k] = plain(x, decode);
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => plain(x, decode));
  return v;
}

const TOOLS = [
  { name: 'echo', description: 'Echo the arguments', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'transfer', description: 'Move money', inputSchema: { type: 'object', properties: { amount: { type: 'number' }, to: { type: 'string' } } } },
  { name: 'delete_file', description: 'Delete a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } },
  { name: 'secret', description: 'Hidden by the tests policy', inputSchema: { type: 'object', properties: {} } },
];

/**
 * The fields the tool acts on: Go reads its struct fields case-insensitively
 * (last match wins); pydantic coerces a digit string given for a number.
 */
function toolFields(tool: (typeof TOOLS)[number], raw: Json | undefined, decode: Decode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const map = (plain(raw, decode) ?? {}) as Record<string, unknown>;
  for (const [prop, schema] of Object.entries(tool.inputSchema.properties) as Array<[string, { type: string }]>) {
    const v = decode === 'go' ? plain(field(raw ?? null, prop, 'go'), 'go') : map[prop];
    if (v === undefined) continue;
    out[prop] = decode === 'pydantic' && schema.type === 'number' && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/** A tools/list answer nested 5,000 deep, written as text (JSON.stringify would overflow here too). */
function deepList(id: string | number): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"deep","inputSchema":${'{"nested":'.repeat(5000)}{}${'}'.repeat(5000)}}]}}`;
}

export function serve(decode: Decode): void {
  const log = (entry: Record<string, unknown>) => {
    if (process.env.SERVER_LOG) appendFileSync(process.env.SERVER_LOG, JSON.stringify(entry) + '\n');
  };
  const send = (msg: unknown) => process.stdout.write(JSON.stringify(msg) + '\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (raw) => {
    let msg: Json;
    try {
      msg = parseMembers(raw);
    } catch {
      log({ raw, unparsed: true });
      return;
    }
    for (const one of Array.isArray(msg) ? msg : [msg]) {
      const method = field(one, 'method', decode);
      const idValue = field(one, 'id', decode);
      const id = typeof idValue === 'string' || typeof idValue === 'number' ? idValue : undefined;
      const params = field(one, 'params', decode);
      const entry: Record<string, unknown> = { raw, method, id };
      if (method === 'initialize' && id !== undefined) {
        send({
          jsonrpc: '2.0',
          id,
          result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: `lenient-${decode}`, version: '1' } },
        });
      } else if (method === 'tools/list' && id !== undefined) {
        if (process.env.DEEP_LIST === '1') process.stdout.write(deepList(id) + '\n');
        else send({ jsonrpc: '2.0', id, result: { tools: TOOLS } });
      } else if (method === 'ping' && id !== undefined) {
        send({ jsonrpc: '2.0', id, result: {} });
      } else if (method === 'tools/call') {
        const nameValue = field(params ?? null, 'name', decode);
        const name = typeof nameValue === 'string' ? nameValue : '';
        const tool = TOOLS.find((t) => (decode === 'go' ? fold(t.name) === fold(name) : t.name === name));
        entry.tool = tool?.name ?? name;
        if (tool) {
          const rawArgs = field(params ?? null, 'arguments', decode);
          // The arguments as a map (exact keys), and the fields the tool acts on.
          entry.args = plain(rawArgs, decode) ?? {};
          entry.fields = toolFields(tool, rawArgs, decode);
          // A lenient server runs a call without an id too; it just cannot answer it.
          entry.executed = true;
        }
        // An echo of "slow..." answers after a while (so a test can have it in flight).
        const slow =
          tool?.name === 'echo' &&
          typeof (entry.fields as { text?: unknown } | undefined)?.text === 'string' &&
          String((entry.fields as { text: string }).text).startsWith('slow');
        // Recorded before it is answered: a test reads this log as soon as it has the answer.
        log(entry);
        if (id !== undefined) {
          if (slow) {
            const answer = { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `executed ${tool!.name} ${JSON.stringify(entry.fields)}` }] } };
            setTimeout(() => send(answer), 1000);
          } else
            send(
              tool
                ? { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `executed ${tool.name} ${JSON.stringify(entry.fields)}` }] } }
                : { jsonrpc: '2.0', id, error: { code: -32602, message: `no tool ${name}` } },
            );
        }
        continue;
      } else if (id !== undefined && method !== undefined) {
        send({ jsonrpc: '2.0', id, error: { code: -32601, message: 'Method not found' } });
      }
      log(entry);
    }
  });
}

const mode = process.env.DECODE;
if (mode === 'go' || mode === 'first' || mode === 'pydantic') serve(mode);
