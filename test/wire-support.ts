// Shared by the wire tests (bypass shapes and fuzzing): a real toolgate in
// front of the lenient server (lenient-server.ts), reached over stdio or
// Streamable HTTP with raw frames, and the invariant that matters: the server
// ran only calls that were decided exactly as it read them, each with its own
// audit record.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { bin, gatewayArgs, RawGateway, readEvents, root, writePolicy } from './helpers.js';
import { rawRequest, startGateway, type Proc } from './transports-helpers.js';
import { until } from './support/until.js';

export const lenientServer = join(root, 'dist', 'test', 'lenient-server.js');

/** delete_file is denied, secret hidden, transfer capped at 100 and never to "offshore"; everything else allowed. */
export const WIRE_POLICY = `version: "1"
hide:
  - secret
tools:
  delete_file:
    rules:
      - name: "never delete"
        action: deny
        on_deny: "deleting is not allowed"
  transfer:
    rules:
      - name: "cap"
        conditions:
          - { path: "args.amount", op: lte, value: 100 }
        on_deny: "transfers are capped at 100"
      - name: "no offshore"
        action: deny_if
        conditions:
          - { path: "args.to", op: eq, value: "offshore" }
        on_deny: "no offshore transfers"
`;

export type Decode = 'go' | 'first' | 'pydantic';

export interface WireGateway {
  stateDir: string;
  serverLog: string;
  /** Send one raw frame; resolves with the answers it got (stdio: those with its ids, waited for when `expect` ids are given). */
  send(text: string, expect?: Array<string | number>): Promise<unknown[]>;
  /** A plain echo call that must succeed: the positive control that everything before it was handled. */
  control(id: string): Promise<void>;
  alive(): boolean;
  close(): Promise<void>;
}

/**
 * The hash the gateway writes as args_sha256: SHA-256 of the arguments' canonical JSON (RFC 8785),
 * with one documented difference: a lone surrogate, which a JSON escape can carry and RFC 8785
 * refuses, is written as JSON.stringify escapes it. Written here from the rules (sorted keys,
 * ECMAScript number and string forms), not taken from the gateway, so the two can disagree.
 */
export function sha256Canonical(v: unknown): string {
  return createHash('sha256')
    .update(canonicalEscaped(v) ?? 'null')
    .digest('hex');
}

function canonicalEscaped(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => canonicalEscaped(x) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const k of Object.keys(v).sort()) {
    const x = canonicalEscaped((v as Record<string, unknown>)[k]);
    if (x !== undefined) parts.push(`${JSON.stringify(k)}:${x}`);
  }
  return `{${parts.join(',')}}`;
}

export async function stdioGateway(
  decode: Decode,
  env: NodeJS.ProcessEnv = {},
  extra: string[] = [],
  policy = WIRE_POLICY,
): Promise<WireGateway & { raw: RawGateway }> {
  const w = writePolicy(policy);
  const serverLog = join(w.dir, 'server.jsonl');
  const raw = new RawGateway(gatewayArgs(w.policy, w.stateDir, [process.execPath, lenientServer], extra), {
    ...process.env,
    DECODE: decode,
    SERVER_LOG: serverLog,
    ...env,
  });
  await raw.initialize();
  let exited = false;
  void raw.exited.then(() => (exited = true));
  return {
    raw,
    stateDir: w.stateDir,
    serverLog,
    /** Resolves with what arrived since, once every `expect` id is answered or a whole-frame error (id null) came. */
    async send(text, expect = []) {
      const mark = raw.messages.length;
      raw.send(text);
      const since = () => raw.messages.slice(mark).flatMap((m) => (Array.isArray(m) ? m : [m])) as Array<Record<string, unknown>>;
      const done = () => {
        const got = since();
        return got.some((m) => m.id === null && m.error !== undefined) || expect.every((id) => got.some((m) => m.id === id && !('method' in m)));
      };
      // A deadline only for a frame that would never be answered: a loaded machine can take seconds.
      if (expect.length > 0) await raw.waitFor(() => done(), 30_000);
      return since();
    },
    async control(id) {
      raw.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: id } } });
      const res = await raw.response(id);
      assert.equal(res.result?.isError, undefined, `control call ${id}: ${JSON.stringify(res)}`);
      await recordOf(w.stateDir, id);
    },
    alive: () => !exited,
    close: () => raw.close(),
  };
}

/** Parse an HTTP answer body: JSON, or the data lines of an SSE stream. */
function bodyMessages(body: string, contentType: string): unknown[] {
  if (body.trim() === '') return [];
  const texts = contentType.includes('text/event-stream')
    ? body
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
    : [body];
  return texts.flatMap((t) => {
    const v = JSON.parse(t) as unknown;
    return Array.isArray(v) ? v : [v];
  });
}

export async function httpGateway(decode: Decode, env: NodeJS.ProcessEnv = {}): Promise<WireGateway & { gw: Proc; url: string }> {
  const w = writePolicy(WIRE_POLICY);
  const serverLog = join(w.dir, 'server.jsonl');
  const { gw, url } = await startGateway(w.policy, w.stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, lenientServer], {
    ...process.env,
    DECODE: decode,
    SERVER_LOG: serverLog,
    ...env,
  });
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await rawRequest(url, {
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  assert.equal(init.status, 200, init.body);
  const sid = String(init.headers['mcp-session-id']);
  const post = async (body: string) => {
    const res = await rawRequest(url, { headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, body });
    return bodyMessages(res.body, String(res.headers['content-type'] ?? ''));
  };
  await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  let exited = false;
  void gw.exited.then(() => (exited = true));
  return {
    gw,
    url,
    stateDir: w.stateDir,
    serverLog,
    send: (text) => post(text),
    async control(id) {
      const [res] = (await post(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: id } } }))) as Array<
        Record<string, any>
      >;
      assert.equal(res?.id, id, `control call ${id}: ${JSON.stringify(res)}`);
      assert.equal(res?.result?.isError, undefined, `control call ${id}: ${JSON.stringify(res)}`);
      await recordOf(w.stateDir, id);
    },
    alive: () => !exited,
    close: async () => {
      gw.proc.kill('SIGTERM');
      await gw.exited;
    },
  };
}

/** Wait until the audit events hold the record of call `id` (the sink writes in order: everything before it is there too). */
export async function recordOf(stateDir: string, id: string | number): Promise<Record<string, any>> {
  let found: Record<string, any> | undefined;
  // Events are written behind the answer; on a loaded machine that can take seconds (a count of polls ran out at 10 s).
  await until(
    `the audit record of call ${JSON.stringify(id)}`,
    () => {
      found = readEvents(stateDir).find((x) => x.type === 'tool_call' && x.request_id === id);
      return found !== undefined;
    },
    60_000,
  );
  return found!;
}

export interface ServerEntry {
  raw: string;
  method?: unknown;
  id?: string | number;
  tool?: string;
  args?: Record<string, unknown>;
  fields?: Record<string, unknown>;
  executed?: boolean;
}

export function serverLog(file: string): ServerEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ServerEntry);
}

/** The argument keys the wire policy decides on, per tool. */
const POLICY_KEYS: Record<string, string[]> = { transfer: ['amount', 'to'] };

/**
 * The tools/calls the server received that were not decided as it read
 * them: without an allowed audit record of their own (same id, same tool as
 * the server resolved it, same arguments), or acting on a field the policy
 * decides on with another value than the argument the policy read.
 */
export function undecidedRuns(g: { stateDir: string; serverLog: string }): ServerEntry[] {
  const allowed = readEvents(g.stateDir).filter((e) => e.type === 'tool_call' && (e.decision === 'allowed' || e.decision === 'would_deny'));
  const out: ServerEntry[] = [];
  for (const run of serverLog(g.serverLog).filter((e) => e.method === 'tools/call')) {
    const i = allowed.findIndex((e) => e.request_id === run.id && e.tool === run.tool && (!run.executed || e.args_sha256 === sha256Canonical(run.args ?? {})));
    const sameFields = (POLICY_KEYS[run.tool ?? ''] ?? []).every((k) => JSON.stringify(run.fields?.[k]) === JSON.stringify(run.args?.[k]));
    if (i >= 0) allowed.splice(i, 1);
    if (i < 0 || !sameFields) out.push(run);
  }
  return out;
}

/** Every call the server ran was allowed, for that tool, those arguments and that id, with one audit record per run. Returns the runs. */
export function assertOnlyDecidedRan(g: { stateDir: string; serverLog: string }): ServerEntry[] {
  const bad = undecidedRuns(g);
  assert.deepEqual(
    bad.map((run) => `got ${run.tool} ${JSON.stringify(run.fields)} (id ${JSON.stringify(run.id)}) from ${run.raw.slice(0, 200)}`),
    [],
    'the server ran calls that were not decided as it read them',
  );
  return serverLog(g.serverLog).filter((e) => e.executed);
}

export { bin };
