// Grants over HTTP: the bearer token names the caller. Unknown and revoked
// tokens get 401 with WWW-Authenticate and never reach the server; a grant's
// own policy decides its calls; a grant without a policy is denied every call;
// a session cannot be used with another caller's token; quotas are per grant.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bin, demoServer, textOf, writePolicy } from './helpers.js';
import { connect, initializeBody, Proc, rawRequest, readEvents, startGateway } from './transports-helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

const run = promisify(execFile);

async function toolgate(stateDir: string, ...args: string[]): Promise<string> {
  const r = await run(process.execPath, [bin, ...args, '--state-dir', stateDir]);
  return r.stdout.trim();
}

// A counter kept per grant (`scope: grant`).
const perGrantPolicy = `
version: "1"
tools:
  echo:
    rules:
      - name: "echo quota per grant"
        conditions:
          - path: "state.echo.calls"
            op: "lte"
            value: 2
        on_deny: "echo quota of 2 per hour reached for this grant"
        state:
          counter: "calls"
          window: "hour"
          scope: "grant"
`;
const alicePolicy = `
version: "1"
tools:
  delete_customer:
    rules:
      - name: "alice may not delete"
        action: deny
        on_deny: "alice's grant does not allow deleting customers"
`;

describe('grants on the HTTP listener', () => {
  let gw: Proc;
  let url: string;
  let stateDir: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    const w = writePolicy(perGrantPolicy);
    stateDir = w.stateDir;
    const aliceFile = join(w.dir, 'alice.yaml');
    writeFileSync(aliceFile, alicePolicy);
    tokens.alice = await toolgate(stateDir, 'grant', 'create', 'alice', '--policy', aliceFile);
    tokens.bob = await toolgate(stateDir, 'grant', 'create', 'bob', '--policy', w.policy);
    tokens.dave = await toolgate(stateDir, 'grant', 'create', 'dave', '--policy', w.policy);
    tokens.nopolicy = await toolgate(stateDir, 'grant', 'create', 'nopolicy');
    tokens.carol = await toolgate(stateDir, 'grant', 'create', 'carol', '--policy', w.policy);
    await toolgate(stateDir, 'grant', 'revoke', 'carol');
    ({ gw, url } = await startGateway(w.policy, stateDir, ['--transport', 'http', '--port', '0', '--', process.execPath, demoServer]));
  });

  after(async () => {
    await gw.stop();
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const post = (headers: Record<string, string>) =>
    rawRequest(url, {
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', host: new URL(url).host, ...headers },
      body: initializeBody,
    });

  test('no token, an unknown token and a revoked token get 401 with WWW-Authenticate', async () => {
    const none = await post({});
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Bearer realm="toolgate"/);
    const unknown = await post(bearer('tg_' + 'x'.repeat(43)));
    assert.equal(unknown.status, 401);
    assert.match(String(unknown.headers['www-authenticate']), /error="invalid_token"/);
    const revoked = await post(bearer(tokens.carol!));
    assert.equal(revoked.status, 401);
    assert.match(revoked.body, /revoked/);
    assert.equal(readEvents(stateDir).filter((e) => e.type === 'tool_call').length, 0, 'nothing reached a session');
  });

  test("a grant's own policy decides its calls, and the identity is in every event", async () => {
    const { client } = await connect('http', url, { headers: bearer(tokens.alice!) });
    try {
      const ok = await client.callTool({ name: 'echo', arguments: { message: 'from alice' } });
      assert.equal(textOf(ok), 'from alice');
      const del = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
      assert.equal(del.isError, true);
      assert.match(textOf(del), /alice's grant does not allow deleting customers/);
    } finally {
      await client.close();
    }
    // The JSONL sink flushes within 50 ms.
    let calls: Array<Record<string, unknown>> = [];
    for (const end = Date.now() + 60_000; Date.now() < end && calls.length < 2; ) {
      await new Promise((r) => setTimeout(r, 50));
      calls = readEvents(stateDir).filter((e) => e.type === 'tool_call' && e.identity === 'alice');
    }
    assert.deepEqual(calls.map((e) => e.decision).sort(), ['allowed', 'denied']);
  });

  test('a grant without a policy is denied every call', async () => {
    const { client } = await connect('http', url, { headers: bearer(tokens.nopolicy!) });
    try {
      const r = await client.callTool({ name: 'echo', arguments: { message: 'x' } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /has no policy; every call is denied/);
    } finally {
      await client.close();
    }
  });

  test('grant-scoped quotas are not shared between grants', async () => {
    await clearOfWindowEnd('hour'); // the quota is hourly: all calls in one window
    // Two grants under the same policy and counter: bob spends his quota, dave still has all of hers.
    const { client: bob } = await connect('http', url, { headers: bearer(tokens.bob!) });
    const { client: dave } = await connect('http', url, { headers: bearer(tokens.dave!) });
    try {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await bob.callTool({ name: 'echo', arguments: { message: `bob ${i}` } }));
      assert.deepEqual(
        results.map((r) => r.isError === true),
        [false, false, true],
      );
      assert.match(textOf(results[2]!), /quota of 2 per hour reached for this grant/);
      const hers = [];
      for (let i = 0; i < 3; i++) hers.push(await dave.callTool({ name: 'echo', arguments: { message: `dave ${i}` } }));
      assert.deepEqual(
        hers.map((r) => (r.isError === true ? 'denied' : textOf(r))),
        ['dave 0', 'dave 1', 'denied'],
      );
    } finally {
      await bob.close();
      await dave.close();
    }
    const ofBobAndDave = () =>
      readEvents(stateDir).filter((e) => e.type === 'tool_call' && e.tool === 'echo' && (e.identity === 'bob' || e.identity === 'dave'));
    for (const end = Date.now() + 60_000; Date.now() < end && ofBobAndDave().length < 6; ) await new Promise((r) => setTimeout(r, 50)); // the event sink flushes every 50 ms
    const perGrant = ofBobAndDave();
    assert.deepEqual(perGrant.map((e) => `${e.identity}:${e.decision}`).sort(), [
      'bob:allowed',
      'bob:allowed',
      'bob:denied',
      'dave:allowed',
      'dave:allowed',
      'dave:denied',
    ]);
  });

  test("a session cannot be used with another caller's token", async () => {
    const init = await post(bearer(tokens.alice!));
    assert.equal(init.status, 200);
    const sid = String(init.headers['mcp-session-id']);
    const hijack = await rawRequest(url, {
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        host: new URL(url).host,
        'mcp-session-id': sid,
        ...bearer(tokens.bob!),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hijack' } } }),
    });
    assert.equal(hijack.status, 403);
    assert.match(hijack.body, /belongs to another caller/);
  });
});

describe('grants on toolgate serve', () => {
  test('the caller is authenticated on every endpoint: no token 401, a grant without a policy is denied, a grant calls under its policy file', async () => {
    const w = writePolicy(`version: "1"\ntools:\n  delete_customer:\n    rules:\n      - name: "no deletes"\n        action: deny\n`);
    const nopolicy = await toolgate(w.stateDir, 'grant', 'create', 'nopolicy');
    const alice = await toolgate(w.stateDir, 'grant', 'create', 'alice', '--policy', w.policy);
    const config = join(w.dir, 'toolgate.yaml');
    writeFileSync(
      config,
      `version: 1\nlisten:\n  bind: 127.0.0.1\n  port: 0\nstate:\n  dir: ${w.stateDir}\nservers:\n  demo:\n    command: ${process.execPath}\n    args: [${JSON.stringify(demoServer)}]\n    policy: ${w.policy}\n`,
    );
    const gw = new Proc([bin, 'serve', '-c', config, '--log-level', 'warn']);
    try {
      const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
      const none = await rawRequest(`${url}/demo`, {
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', host: new URL(url).host },
        body: initializeBody,
      });
      assert.equal(none.status, 401);
      const { client: a } = await connect('http', `${url}/demo`, { headers: { authorization: `Bearer ${alice}` } });
      try {
        assert.equal(textOf(await a.callTool({ name: 'echo', arguments: { message: 'alice via serve' } })), 'alice via serve');
        assert.equal((await a.callTool({ name: 'delete_customer', arguments: { id: 'c' } })).isError, true);
      } finally {
        await a.close();
      }
      const { client: n } = await connect('http', `${url}/demo`, { headers: { authorization: `Bearer ${nopolicy}` } });
      try {
        assert.match(textOf(await n.callTool({ name: 'echo', arguments: { message: 'x' } })), /has no policy; every call is denied/);
      } finally {
        await n.close();
      }
    } finally {
      await gw.stop();
    }
  });
});
