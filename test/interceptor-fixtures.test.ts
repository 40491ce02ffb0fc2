// The MCP interceptors working group's conformance fixtures for the
// cross-boundary guard (relaybleed and its no-false-positive companions,
// vendored under test/fixtures/interceptors with their licence), run against
// toolgate's guards: each request step through checkArguments, each response
// step through checkResult, in one taint store, as a gateway would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compilePolicy } from '../src/policy/index.js';
import { checkArguments, checkResult, TaintStore } from '../src/guards/index.js';
import { denialResult } from '../src/gateway/session.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { HookRunner } from '../src/hooks/index.js';
import { compileHooks, type RawHook } from '../src/policy/hooks.js';
import type { FixtureInterceptor } from './support/interceptor-server.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/interceptors/', import.meta.url));
/** The servers the fixtures assume (the suite's own catalogue). */
const SERVER_OF: Record<string, string> = { read_file: 'filesystem', write_file: 'filesystem', write_query: 'sqlite' };

interface Step {
  phase: 'request' | 'response';
  payload: { name?: string; arguments?: Record<string, unknown> } & Record<string, unknown>;
  context: { sessionId: string };
  expect: { decision: 'allow' | 'deny'; forbids?: string[] };
}
interface Fixture {
  id: string;
  interceptors: Array<{ behavior: string }>;
  steps: Step[];
}

function policyFor(f: Fixture) {
  // A filesystem read is a source; writing a value back where it came from is allowed (same_server: allow).
  let yaml = 'version: "1"\ndefault: allow\ntools: {}\nguards:\n  taint: { sources: [read_file], same_server: allow }\n';
  if (f.interceptors.some((i) => i.behavior === 'secretless-redactor')) yaml += '  detect: { action: redact, scan: [arguments] }\n';
  const r = compilePolicy(yaml, 'fixture.yaml');
  assert.ok(r.ok);
  return r.policy;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

test('the vendored fixtures are all here (relaybleed for three secret kinds and the four companions)', () => {
  assert.equal(files.length, 7);
  assert.equal(files.filter((f) => f.startsWith('relaybleed-')).length, 3);
});

for (const file of files) {
  const f = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
  test(`interceptors conformance: ${f.id}`, () => {
    const policy = policyFor(f);
    const taint = new TaintStore();
    const lastTool = new Map<string, string>();
    for (const [i, s] of f.steps.entries()) {
      const session = s.context.sessionId;
      if (s.phase === 'request') {
        const tool = s.payload.name!;
        lastTool.set(session, tool);
        const v = checkArguments({ policy, tool, server: SERVER_OF[tool] ?? tool, session, taint }, s.payload.arguments ?? {});
        assert.equal(v.ok ? 'allow' : 'deny', s.expect.decision, `step ${i}: ${JSON.stringify(v)}`);
        for (const secret of s.expect.forbids ?? []) assert.ok(v.ok && !JSON.stringify(v.args).includes(secret), `step ${i}: ${secret} would leave`);
      } else {
        const tool = lastTool.get(session)!;
        const r = checkResult({ policy, tool, server: SERVER_OF[tool] ?? tool, session, taint }, s.payload, denialResult);
        assert.equal(r.changed ? 'deny' : 'allow', s.expect.decision, `step ${i}`);
      }
    }
  });
}

// ---------------------------------------------------------------- protocol fixtures (SEP-2624)
// The gateway-side ones (`chain-*`: mutations before validations on a request,
// validations first on a response, audit mode never blocks or changes, a
// crashing interceptor denies unless failOpen) run through toolgate's hook
// runner, which calls the fixture interceptor server (test/support) over MCP
// with the SDK client, as the gateway does. The server-side ones (`list-*`,
// `invoke-*`) check that fixture server, so the chain runs against a server
// that answers as the suite requires.

const PROTOCOL = join(DIR, 'protocol');
const SERVER = fileURLToPath(new URL('./support/interceptor-server.js', import.meta.url));

interface ProtocolStep {
  op: 'apply' | 'invoke' | 'list';
  event?: string | null;
  phase?: 'request' | 'response';
  payload?: any;
  params?: { name: string; event: string; phase: string; payload: unknown };
  expect: { decision?: 'allow' | 'deny'; finalPayloadCanonical?: string; canonical?: string; errorCode?: number };
}
interface ProtocolFixture {
  id: string;
  interceptors: FixtureInterceptor[];
  steps: ProtocolStep[];
  volatile: string[];
}

const jcs = (v: unknown) => (canonicalize as unknown as (x: unknown) => string)(v);
function scrub(v: unknown, keys: string[]): unknown {
  if (Array.isArray(v)) return v.map((x) => scrub(x, keys));
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !keys.includes(k))
        .map(([k, x]) => [k, scrub(x, keys)]),
    );
  return v;
}
const serverCommand = (f: ProtocolFixture) => [process.execPath, SERVER, '--serve', `--interceptors=${JSON.stringify(f.interceptors)}`];

/** The fixture's interceptors as policy hooks on one interceptor server each. */
function hooksOf(f: ProtocolFixture) {
  const raw: RawHook[] = f.interceptors.map((i) => ({
    name: i.name,
    type: i.type,
    phases: i.phases,
    ...(i.mode ? { mode: i.mode } : {}),
    ...(i.failOpen ? { fail_open: true } : {}),
    timeout: '30s',
    interceptor: { name: i.name, command: serverCommand(f) },
  }));
  return compileHooks(raw).list;
}

const protocolFiles = readdirSync(PROTOCOL).filter((x) => x.endsWith('.json'));

test('the vendored protocol fixtures are all here (7 chain, 5 invoke, 2 list)', () => {
  assert.equal(protocolFiles.length, 14);
  assert.equal(protocolFiles.filter((x) => x.startsWith('chain-')).length, 7);
});

for (const file of protocolFiles) {
  const f = JSON.parse(readFileSync(join(PROTOCOL, file), 'utf8')) as ProtocolFixture;
  test(`interceptors conformance: ${f.id}`, async () => {
    if (f.steps.every((s) => s.op === 'apply')) {
      const runner = new HookRunner();
      try {
        for (const [i, s] of f.steps.entries()) {
          const ctx = { tool: s.payload.name ?? 'echo', session: 'fixture' };
          const out = s.phase === 'request' ? await runner.request(hooksOf(f), s.payload.arguments, ctx) : await runner.response(hooksOf(f), s.payload, ctx);
          assert.equal(out.ok ? 'allow' : 'deny', s.expect.decision, `step ${i}: ${JSON.stringify(out.records)}`);
          if (s.expect.finalPayloadCanonical !== undefined) assert.equal(jcs(out.payload), s.expect.finalPayloadCanonical, `step ${i}`);
        }
      } finally {
        await runner.close();
      }
      return;
    }
    const client = new Client({ name: 'fixture-runner', version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: serverCommand(f).slice(1) }));
    try {
      for (const [i, s] of f.steps.entries()) {
        if (s.op === 'list') {
          const r = await client.request({ method: 'interceptors/list', params: s.event === null ? {} : { event: s.event } }, z.unknown());
          assert.equal(jcs(scrub(r, f.volatile)), s.expect.canonical, `step ${i}`);
        } else if (s.expect.errorCode !== undefined) {
          await assert.rejects(
            client.request({ method: 'interceptor/invoke', params: s.params }, z.unknown()),
            (e: { code?: number }) => e.code === s.expect.errorCode,
          );
        } else {
          const r = await client.request({ method: 'interceptor/invoke', params: s.params }, z.unknown());
          assert.equal(jcs(scrub(r, f.volatile)), s.expect.canonical, `step ${i}`);
        }
      }
    } finally {
      await client.close();
    }
  });
}
