// RFC 8693 token exchange, end to end: callers authenticate to toolgate with
// tokens of a real authorization server (oidc-provider, with a token-exchange
// grant registered by test/support/oauth-as.ts); for an upstream configured
// with token_exchange, toolgate exchanges each caller's token for one issued
// to the upstream's own audience and sends only that. The upstream (a remote
// MCP server over Streamable HTTP) checks every token for itself and records
// the `sub` and `act` it saw.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { bin, runToolgate, tempDir, textOf, writePolicy } from './helpers.js';
import { Proc, readEvents, startGateway } from './transports-helpers.js';
import { startAuthServer, type TestAuthServer } from './support/oauth-as.js';
import { MemoryOAuthProvider } from './support/oauth-client.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SECRET = 'toolgate-gw-secret-0123456789abcdef';
const API_KEY = 'operator-api-key-0123456789';

// Decided per identity: the identity is the one the caller's token names.
const policy = `
version: "1"
default: allow
tools:
  whoami:
    rules:
      - name: "two whoami per identity per hour"
        conditions:
          - path: "state.whoami.calls"
            op: "lte"
            value: 2
        on_deny: "whoami quota reached for this identity"
        state:
          counter: "calls"
          window: "hour"
          scope: "identity"
`;

interface Seen {
  token: string;
  sub: string;
  act: string | undefined;
  kid: string;
}

/** A remote MCP server that accepts only tokens of `issuer` for its own URL, and records each one it got. */
async function remoteServer(issuer: string): Promise<{ url: string; seen: Seen[]; requests: number; close(): Promise<void> }> {
  const state = { url: '', seen: [] as Seen[], requests: 0 };
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`), { cooldownDuration: 0 });
  const server: Server = createServer(async (req, res) => {
    state.requests++;
    const token = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    let who: Seen;
    try {
      if (!token) throw new Error('no token');
      const { payload } = await jwtVerify(token, jwks, { issuer, audience: state.url });
      who = { token, sub: String(payload.sub), act: (payload.act as { sub?: string } | undefined)?.sub, kid: String(decodeProtectedHeader(token).kid) };
      state.seen.push(who);
    } catch {
      req.resume();
      return void res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
    const mcp = new McpServer({ name: 'remote', version: '1.0.0' });
    mcp.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: `${who.sub} via ${who.act ?? 'nobody'}` }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await mcp.connect(transport);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    await transport.handleRequest(req, res, text ? JSON.parse(text) : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return Object.assign(state, {
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function allText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? allText(p) : readFileSync(p).toString('latin1');
  }
  return out;
}

async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const connectWith = async (url: string, token: string, name: string) => {
  const c = new Client({ name, version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return c;
};

const initialize = (url: string, token: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });

describe('OAuth token exchange (RFC 8693) on toolgate serve: each caller reaches the upstream with its own exchanged token', () => {
  let as: TestAuthServer;
  let remote: Awaited<ReturnType<typeof remoteServer>>;
  let gw: Proc;
  let base: string;
  let dir: string;
  const inbound: string[] = [];
  const env = { ...process.env, TG_EXCHANGE_SECRET: SECRET };
  const exchanges = () => as.tokenRequests.filter((g) => g === EXCHANGE).length;

  before(async () => {
    as = await startAuthServer({ scopes: 'tools:read tools:write' });
    as.addClient('toolgate-gw', SECRET, { exchange: true });
    for (const bot of ['agent-b', 'agent-c', 'mallory-bot']) as.addClient(bot, `${bot}-secret-0123456789`);
    remote = await remoteServer(as.issuer);
    dir = tempDir('toolgate-oauth-exchange-');
    writeFileSync(join(dir, 'p.yaml'), policy);
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `version: 1
listen:
  port: 0
  api_keys: [${API_KEY}]
  oauth:
    issuer: ${as.issuer}
    jwks_cooldown: 0s
    scopes_supported: [tools:read]
state:
  dir: ./state
servers:
  remote:
    url: ${remote.url}
    transport: http
    policy: ./p.yaml
    token_exchange:
      client_id: toolgate-gw
      client_secret_env: TG_EXCHANGE_SECRET
      scopes: [tools:read]
  unreachable:
    url: ${remote.url}
    transport: http
    policy: ./p.yaml
    token_exchange:
      client_id: toolgate-gw
      client_secret_env: TG_EXCHANGE_SECRET
      token_endpoint: http://127.0.0.1:${await closedPort()}/token
`,
    );
    gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'debug'], env);
    base = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!.replace(/\/mcp$/, '');
    // The authorization server exchanges tokens issued for the gateway's endpoint (and only those).
    as.exchangeAudiences.push(`${base}/mcp/remote`);
  });
  after(async () => {
    await gw?.stop();
    await remote?.close();
    await as?.close();
  });

  const botToken = async (bot: string, resource = `${base}/mcp/remote`) => {
    const t = await as.clientToken(bot, resource, 'tools:read');
    inbound.push(t);
    return t;
  };

  test('the SDK client logs in to toolgate serve with only the gateway URL; its calls are decided and audited under the token identity; the upstream sees an exchanged token for itself (sub alice, act toolgate), never the caller token', async () => {
    const url = `${base}/mcp/remote`;
    as.user = 'alice';
    const provider = new MemoryOAuthProvider();
    await assert.rejects(
      new Client({ name: 'e2e-x', version: '1' }).connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider })),
      UnauthorizedError,
    );
    const back = await as.browse(provider.opened!.href);
    assert.ok(back.searchParams.get('code'), back.href);
    await new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }).finishAuth(back.searchParams.get('code')!);
    const aliceToken = provider.saved!.access_token;
    inbound.push(aliceToken);
    const before = exchanges();
    const client = new Client({ name: 'e2e-exchange-alice', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
    assert.equal(textOf(await client.callTool({ name: 'whoami', arguments: {} })), 'alice via toolgate-gw');
    assert.equal(textOf(await client.callTool({ name: 'whoami', arguments: {} })), 'alice via toolgate-gw');
    assert.match(textOf(await client.callTool({ name: 'whoami', arguments: {} })), /whoami quota reached for this identity/);
    await client.close();
    assert.equal(exchanges() - before, 1, 'one exchange, then the cached token (it is far from expiry)');
    const alice = remote.seen.filter((s) => s.sub === 'alice');
    assert.ok(alice.length >= 2);
    assert.equal(new Set(alice.map((s) => s.token)).size, 1, 'every upstream request of alice carried the one exchanged token');
    assert.notEqual(alice[0]!.token, aliceToken);
    await waitFor(() => readEvents(join(dir, 'state')).filter((e) => e.type === 'tool_call' && e.identity === 'alice' && e.tool === 'whoami').length >= 3);
    // The audit log names the identity of the token on each decision.
    const q = await runToolgate('audit', 'query', '--state-dir', join(dir, 'state'), '--tool', 'whoami', '--kind', 'decision', '--identity', 'alice', '--json');
    assert.equal(q.code, 0, q.stderr);
    const decisions = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(decisions.every((r) => r.identity === 'alice'));
    assert.deepEqual(
      decisions.map((r) => r.decision),
      ['allowed', 'allowed', 'denied'],
    );
  });

  test('two callers get two different upstream tokens, each with its own subject', async () => {
    const b = await connectWith(`${base}/mcp/remote`, await botToken('agent-b'), 'e2e-exchange-b');
    assert.equal(textOf(await b.callTool({ name: 'whoami', arguments: {} })), 'agent-b via toolgate-gw');
    await b.close();
    const upstreamOf = (sub: string) => new Set(remote.seen.filter((s) => s.sub === sub).map((s) => s.token));
    assert.equal(upstreamOf('agent-b').size, 1);
    assert.notDeepEqual([...upstreamOf('agent-b')], [...upstreamOf('alice')]);
    assert.ok(
      remote.seen.every((s) => s.act === 'toolgate-gw'),
      'every upstream token was obtained by exchange (act names toolgate)',
    );
    assert.ok(
      remote.seen.every((s) => !inbound.includes(s.token)),
      'no caller token reached the upstream',
    );
  });

  test('key rotation in the middle: a caller with a token signed by the new key is exchanged and served; the earlier session goes on', async () => {
    const early = await connectWith(`${base}/mcp/remote`, await botToken('agent-b'), 'e2e-exchange-early');
    const kid = await as.rotateKey();
    const fresh = await botToken('agent-c');
    assert.equal(decodeProtectedHeader(fresh).kid, kid);
    const c = await connectWith(`${base}/mcp/remote`, fresh, 'e2e-exchange-c');
    assert.equal(textOf(await c.callTool({ name: 'whoami', arguments: {} })), 'agent-c via toolgate-gw');
    assert.equal(remote.seen.filter((s) => s.sub === 'agent-c').at(-1)!.kid, kid, 'the exchanged token is signed with the new key too');
    assert.equal(textOf(await early.callTool({ name: 'whoami', arguments: {} })), 'agent-b via toolgate-gw');
    await c.close();
    await early.close();
  });

  test('a refused exchange denies the request (403) with an audit record naming the caller; nothing reaches the upstream', async () => {
    as.exchangeDenied.add('mallory-bot');
    const token = await botToken('mallory-bot');
    const requestsBefore = remote.requests;
    const res = await initialize(`${base}/mcp/remote`, token);
    assert.equal(res.status, 403);
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /token exchange for server "remote" .* was refused \(access_denied/);
    await waitFor(() => readEvents(join(dir, 'state')).some((e) => e.type === 'auth_denied' && e.reason === 'exchange_refused'));
    const rec = readEvents(join(dir, 'state')).find((e) => e.type === 'auth_denied' && e.reason === 'exchange_refused')!;
    assert.equal(rec.identity, 'mallory-bot');
    assert.equal(rec.status, 403);
    assert.equal(rec.resource, `${base}/mcp/remote`);
    assert.equal(remote.requests, requestsBefore, 'the upstream was not contacted');
    assert.ok(!remote.seen.some((s) => s.sub === 'mallory-bot'));
  });

  test('a caller without an OAuth token (an API key) has nothing to exchange: 403 and an audit record, nothing upstream', async () => {
    const requestsBefore = remote.requests;
    const res = await initialize(`${base}/mcp/remote`, API_KEY);
    assert.equal(res.status, 403);
    await res.body?.cancel();
    await waitFor(() => readEvents(join(dir, 'state')).some((e) => e.type === 'auth_denied' && e.reason === 'exchange_no_subject' && e.status === 403));
    assert.equal(remote.requests, requestsBefore);
  });

  test('an unreachable authorization server fails closed: 502 and an audit record', async () => {
    const token = await botToken('agent-b', `${base}/mcp/unreachable`);
    const res = await initialize(`${base}/mcp/unreachable`, token);
    assert.equal(res.status, 502);
    await res.body?.cancel();
    await waitFor(() =>
      readEvents(join(dir, 'state')).some(
        (e) => e.type === 'auth_denied' && e.reason === 'exchange_unavailable' && e.identity === 'agent-b' && e.status === 502,
      ),
    );
  });

  test('no token (caller or exchanged) is in any log, event, audit record or state file', async () => {
    assert.ok(inbound.length >= 5 && remote.seen.length >= 4);
    const files = allText(join(dir, 'state'));
    for (const t of new Set([...inbound, ...remote.seen.map((s) => s.token)])) {
      const sig = t.split('.')[2]!;
      for (const [where, text] of [
        ['state dir (events, audit, counters)', files],
        ['gateway log (debug)', gw.output],
      ] as const) {
        assert.ok(!text.includes(sig), `a token appears in the ${where}`);
      }
    }
  });
});

describe('OAuth token exchange on the single-server gateway (--upstream-token-exchange)', () => {
  let as: TestAuthServer;
  let remote: Awaited<ReturnType<typeof remoteServer>>;
  let gw: Proc | undefined;
  const env = { ...process.env, TG_EXCHANGE_SECRET: SECRET };

  before(async () => {
    as = await startAuthServer();
    as.addClient('toolgate-gw', SECRET, { exchange: true });
    as.addClient('agent-b', 'agent-b-secret-0123456789');
    remote = await remoteServer(as.issuer);
  });
  after(async () => {
    await gw?.stop();
    await remote?.close();
    await as?.close();
  });

  test('without --oauth the flag is refused before anything starts', async () => {
    const { policy, stateDir, dir } = writePolicy('version: "1"\ndefault: allow\ntools: {}\n');
    writeFileSync(join(dir, 'x.yaml'), 'client_id: toolgate-gw\nclient_secret_env: TG_EXCHANGE_SECRET\n');
    const p = new Proc(
      [
        bin,
        '-c',
        policy,
        '--state-dir',
        stateDir,
        '--transport',
        'http',
        '--port',
        '0',
        '--upstream',
        remote.url,
        '--upstream-token-exchange',
        join(dir, 'x.yaml'),
      ],
      env,
    );
    assert.notEqual((await p.exited).code, 0);
    assert.match(p.output, /--upstream-token-exchange exchanges the callers' OAuth tokens: give --oauth FILE or --oauth-issuer URL too/);
    writeFileSync(join(dir, 'y.yaml'), 'client_id: toolgate-gw\nclient_secret: inline\n');
    const typo = new Proc(
      [
        bin,
        '-c',
        policy,
        '--state-dir',
        stateDir,
        '--transport',
        'http',
        '--port',
        '0',
        '--upstream',
        remote.url,
        '--oauth-issuer',
        as.issuer,
        '--upstream-token-exchange',
        join(dir, 'y.yaml'),
      ],
      env,
    );
    assert.notEqual((await typo.exited).code, 0);
    assert.match(typo.output, /y\.yaml has errors/);
  });

  test('the caller token is exchanged for the --upstream server and only the exchanged one is sent', async () => {
    const { policy, stateDir, dir } = writePolicy('version: "1"\ndefault: allow\ntools: {}\n');
    writeFileSync(join(dir, 'x.yaml'), 'client_id: toolgate-gw\nclient_secret_env: TG_EXCHANGE_SECRET\nscopes: [tools:read]\n');
    let url: string;
    ({ gw, url } = await startGateway(
      policy,
      stateDir,
      ['--transport', 'http', '--port', '0', '--upstream', remote.url, '--oauth-issuer', as.issuer, '--upstream-token-exchange', join(dir, 'x.yaml')],
      env,
    ));
    as.exchangeAudiences.push(url);
    const token = await as.clientToken('agent-b', url, 'tools:read');
    const c = await connectWith(url, token, 'e2e-single-exchange');
    assert.equal(textOf(await c.callTool({ name: 'whoami', arguments: {} })), 'agent-b via toolgate-gw');
    await c.close();
    assert.ok(remote.seen.length > 0 && remote.seen.every((s) => s.token !== token && s.act === 'toolgate-gw'));
    await waitFor(() => readEvents(stateDir).some((e) => e.type === 'tool_call' && e.identity === 'agent-b' && e.decision === 'allowed'));
  });
});
