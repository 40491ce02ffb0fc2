// toolgate as an OAuth 2.1 protected resource, end to end: a real
// authorization server (oidc-provider, test/support/oauth-as.ts), the built
// toolgate binary in front of an MCP server over HTTP that records the
// headers it gets, and the official SDK client doing the MCP authorization
// flow with nothing but the gateway URL.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { bin, demoServer, tempDir, textOf, writePolicy } from './helpers.js';
import { Proc, readEvents, startGateway } from './transports-helpers.js';
import { startAuthServer, type TestAuthServer } from './support/oauth-as.js';
import { clearOfWindowEnd } from './window-guard.js';
import { MemoryOAuthProvider } from './support/oauth-client.js';

/** An MCP server over Streamable HTTP (stateless) that records the headers of every request. */
async function recordingHttpServer(): Promise<{ url: string; headers: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer(async (req, res) => {
    headers.push(req.headers);
    const mcp = new McpServer({ name: 'notes', version: '1.0.0' });
    for (const name of ['read_notes', 'write_notes', 'echo']) {
      mcp.registerTool(name, { inputSchema: { text: z.string().optional() } }, async ({ text }) => ({
        content: [{ type: 'text', text: `${name}:${text ?? ''}` }],
      }));
    }
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await mcp.connect(transport);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    await transport.handleRequest(req, res, text ? JSON.parse(text) : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    headers,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const policy = `
version: "1"
default: allow
tools:
  echo:
    rules:
      - name: "two echoes per identity per hour"
        conditions:
          - path: "state.echo.calls"
            op: "lte"
            value: 2
        on_deny: "echo quota reached for this identity"
        state:
          counter: "calls"
          window: "hour"
          scope: "identity"
`;

/** Every file under `dir`, as text. */
function allText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? allText(p) : readFileSync(p).toString('latin1');
  }
  return out;
}

describe('OAuth: toolgate as a protected resource', () => {
  let as: TestAuthServer;
  let upstream: Awaited<ReturnType<typeof recordingHttpServer>>;
  let gw: Proc;
  let url: string;
  let stateDir: string;
  const tokens: string[] = [];

  before(async () => {
    as = await startAuthServer();
    as.addClient('reader-bot', 'reader-bot-secret-0123456789');
    upstream = await recordingHttpServer();
    const w = writePolicy(policy);
    stateDir = w.stateDir;
    const oauthFile = join(w.dir, 'oauth.yaml');
    writeFileSync(
      oauthFile,
      `issuer: ${as.issuer}
identity_claim: sub
jwks_cooldown: 0s
scope_tools:
  "tools:read": ["read_*", "echo"]
  "tools:write": ["*"]
`,
    );
    ({ gw, url } = await startGateway(w.policy, stateDir, [
      '--transport',
      'http',
      '--port',
      '0',
      '--oauth',
      oauthFile,
      '--upstream',
      upstream.url,
      '--log-level',
      'debug',
    ]));
  });

  after(async () => {
    await gw?.stop();
    await upstream?.close();
    await as?.close();
  });

  const clientToken = async (scope: string, resource = url) => {
    const t = await as.clientToken('reader-bot', resource, scope);
    tokens.push(t);
    return t;
  };
  const post = (
    token: string | undefined,
    body: unknown = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    },
  ) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  test('RFC 9728 metadata names the endpoint and the issuer; a request without a token gets 401 pointing at it', async () => {
    const meta = (await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', url))).json()) as Record<string, unknown>;
    assert.equal(meta.resource, url);
    assert.deepEqual(meta.authorization_servers, [as.issuer]);
    assert.deepEqual(meta.scopes_supported, ['tools:read', 'tools:write']);
    const none = await post(undefined);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), `Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', url).href}"`);
    const unknownPath = await fetch(new URL('/.well-known/oauth-protected-resource/other', url));
    assert.equal(unknownPath.status, 404);
  });

  test('the SDK client gets a token with only the gateway URL; its calls are decided and audited under the token identity', async () => {
    await clearOfWindowEnd('hour'); // the third echo is denied only while the hour has not started over
    as.user = 'alice';
    const provider = new MemoryOAuthProvider();
    const first = new Client({ name: 'e2e-oauth', version: '1.0.0' });
    await assert.rejects(first.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider })), UnauthorizedError);
    assert.ok(provider.opened, 'the client was sent to the authorization page');
    assert.equal(provider.opened.searchParams.get('resource'), url, 'RFC 8707: the token is asked for this gateway endpoint');
    const back = await as.browse(provider.opened.href);
    const code = back.searchParams.get('code');
    assert.ok(code, `the authorization server redirected back with a code: ${back.href}`);
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    await transport.finishAuth(code);
    tokens.push(provider.saved!.access_token);
    const client = new Client({ name: 'e2e-oauth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
    const listed = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(listed, ['echo', 'read_notes', 'write_notes'], 'tools:read and tools:write reach every tool');
    for (let i = 0; i < 2; i++) assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'echo:hi');
    const third = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    assert.match(textOf(third), /echo quota reached for this identity/);
    await client.close();
    await waitFor(() => readEvents(stateDir).filter((e) => e.type === 'tool_call' && e.identity === 'alice').length >= 3);
    const calls = readEvents(stateDir).filter((e) => e.type === 'tool_call' && e.identity === 'alice');
    assert.deepEqual(
      calls.map((e) => e.decision),
      ['allowed', 'allowed', 'denied'],
    );
  });

  test("scopes decide what a caller lists and calls; counters are the identity's own", async () => {
    const token = await clientToken('tools:read');
    const client = new Client({ name: 'e2e-reader', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['echo', 'read_notes']);
    const write = await client.callTool({ name: 'write_notes', arguments: { text: 'x' } });
    assert.equal(write.isError, true);
    assert.match(textOf(write), /hidden/);
    // alice used up her echo quota; the reader bot (identity: its client_id as sub) has its own.
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'bot' } })), 'echo:bot');
    await client.close();
    await waitFor(() => readEvents(stateDir).some((e) => e.type === 'tool_call' && e.identity === 'reader-bot' && e.tool === 'write_notes'));
    const denied = readEvents(stateDir).find((e) => e.type === 'tool_call' && e.identity === 'reader-bot' && e.tool === 'write_notes')!;
    assert.equal(denied.decision, 'denied');
  });

  test("a session is bound to its token's scopes: the same identity with fewer scopes cannot use it", async () => {
    const wide = await clientToken('tools:read tools:write');
    const narrow = await clientToken('tools:read');
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${wide}` } } });
    const client = new Client({ name: 'e2e-wide', version: '1.0.0' });
    await client.connect(transport);
    assert.ok((await client.listTools()).tools.some((t) => t.name === 'write_notes'));
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${narrow}`,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'write_notes', arguments: { text: 'x' } } }),
    });
    assert.equal(res.status, 403);
    await res.body?.cancel();
    await client.close();
  });

  test('a token for another resource is refused with 401, a distinct message and an audit record', async () => {
    const token = await clientToken('tools:read', 'https://other.example.com/mcp');
    const res = await post(token);
    assert.equal(res.status, 401);
    assert.match(String(res.headers.get('www-authenticate')), /error="invalid_token", error_description="the token is for another resource/);
    await waitFor(() => readEvents(stateDir).some((e) => e.type === 'auth_denied' && e.reason === 'wrong_audience'));
    const garbage = await post('not.a.jwt');
    assert.equal(garbage.status, 401);
    await waitFor(() => readEvents(stateDir).some((e) => e.type === 'auth_denied' && e.reason === 'invalid'));
  });

  test('key rotation in the middle of the run: tokens signed with the new key are accepted, old ones still are', async () => {
    const before = await clientToken('tools:read');
    const kid = await as.rotateKey();
    const after = await clientToken('tools:read');
    assert.equal(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, kid);
    for (const t of [after, before]) {
      const res = await post(t);
      assert.equal(res.status, 200, `token signed with ${JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid} accepted`);
      await res.body?.cancel();
    }
  });

  test('no token reaches the upstream server, and none is in any log, event or audit record', async () => {
    assert.ok(upstream.headers.length > 0, 'the upstream was reached');
    for (const h of upstream.headers) assert.equal(h.authorization, undefined, 'no Authorization header upstream');
    const seen = JSON.stringify(upstream.headers);
    const files = allText(stateDir);
    const logs = gw.output;
    assert.ok(tokens.length >= 4);
    for (const t of tokens) {
      for (const [where, text] of [
        ['upstream headers', seen],
        ['state dir (events, audit)', files],
        ['gateway log', logs],
      ] as const) {
        assert.ok(!text.includes(t) && !text.includes(t.split('.')[2]!), `a token (or its signature) appears in the ${where}`);
      }
    }
  });
});

describe('OAuth on toolgate serve: one resource per server path', () => {
  let as: TestAuthServer;
  let gw: Proc;
  let base: string;
  let dir: string;

  before(async () => {
    as = await startAuthServer();
    as.addClient('ops-bot', 'ops-bot-secret-0123456789');
    dir = tempDir('toolgate-oauth-serve-');
    writeFileSync(join(dir, 'demo.yaml'), 'version: "1"\ndefault: allow\ntools: {}\n');
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `version: 1
listen:
  port: 0
  oauth:
    issuer: ${as.issuer}
state:
  dir: ./state
servers:
  demo:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(demoServer)}]
    policy: ./demo.yaml
`,
    );
    gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
    base = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!.replace(/\/mcp$/, '');
  });
  after(async () => {
    await gw?.stop();
    await as?.close();
  });

  test('/mcp/<server> has its own metadata and accepts only tokens for itself', async () => {
    const meta = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp/demo`)).json()) as Record<string, unknown>;
    assert.equal(meta.resource, `${base}/mcp/demo`);
    assert.equal((await fetch(`${base}/.well-known/oauth-protected-resource/mcp/nope`)).status, 404);
    const none = await fetch(`${base}/mcp/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    assert.equal(none.status, 401);
    assert.match(String(none.headers.get('www-authenticate')), /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp\/demo"/);
    const forDemo = await as.clientToken('ops-bot', `${base}/mcp/demo`, 'tools:read');
    const c = new Client({ name: 'e2e-serve', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/demo`), { requestInit: { headers: { authorization: `Bearer ${forDemo}` } } }));
    assert.ok((await c.listTools()).tools.length > 0);
    await c.close();
    // The same token at the aggregate endpoint is for another resource.
    const agg = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${forDemo}` },
      body: '{}',
    });
    assert.equal(agg.status, 401);
    await waitFor(() => readEvents(join(dir, 'state')).some((e) => e.type === 'auth_denied' && e.reason === 'wrong_audience' && e.resource === `${base}/mcp`));
  });
});

async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
