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
