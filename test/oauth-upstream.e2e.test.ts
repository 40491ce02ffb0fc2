// toolgate's own OAuth login to a remote MCP server, end to end: the server
// (an MCP server over HTTP that wants tokens of a real authorization server,
// oidc-provider) answers 401 and names its metadata; `toolgate auth login`
// discovers the authorization server from it, registers itself, and gets
// tokens through the browser (driven by the test as a human's would be);
// the gateway then sends them upstream and refreshes them unattended. The
// tokens are encrypted at rest and appear in no log, event or audit record.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { bin, tempDir, textOf, writePolicy } from './helpers.js';
import { Proc, startGateway } from './transports-helpers.js';
import { startAuthServer, type TestAuthServer } from './support/oauth-as.js';

/** An MCP server that accepts only tokens of `issuer` for itself, and records the ones it got. */
async function protectedServer(issuer: string): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  let url = '';
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const server: Server = createServer(async (req, res) => {
    const base = url.replace(/\/mcp$/, '');
    if (req.url === '/.well-known/oauth-protected-resource/mcp') {
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ resource: url, authorization_servers: [issuer], scopes_supported: ['tools:read'] }));
    }
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    try {
      if (!token) throw new Error('no token');
      await jwtVerify(token, jwks, { issuer, audience: url });
      seen.push(token);
    } catch {
      req.resume();
      return void res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"` }).end();
    }
    const mcp = new McpServer({ name: 'remote', version: '1.0.0' });
    mcp.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: 'remote says hi' }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await mcp.connect(transport);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    await transport.handleRequest(req, res, text ? JSON.parse(text) : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
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

describe('OAuth upstream: toolgate auth login, then the gateway uses and refreshes the tokens', () => {
  let as: TestAuthServer;
  let remote: Awaited<ReturnType<typeof protectedServer>>;
  let stateDir: string;
  let policy: string;
  let gw: Proc | undefined;
  const env = { ...process.env, TOOLGATE_TOKEN_KEY: randomBytes(32).toString('hex') };
  let loginOutput = '';

  before(async () => {
    // Short-lived access tokens: the gateway must refresh within the test.
    as = await startAuthServer({ accessTokenTtl: 4, scopes: 'tools:read' });
    remote = await protectedServer(as.issuer);
    ({ policy, stateDir } = writePolicy('version: "1"\ndefault: allow\ntools: {}\n'));
  });
  after(async () => {
    await gw?.stop();
    await remote?.close();
    await as?.close();
  });

  test('without a login the gateway refuses to start and says which command to run', async () => {
    const p = new Proc([bin, '-c', policy, '--state-dir', stateDir, '--transport', 'http', '--port', '0', '--upstream', remote.url, '--upstream-oauth'], env);
    const { code } = await p.exited;
    assert.notEqual(code, 0);
    assert.match(p.output, new RegExp(`needs an OAuth login: run toolgate auth login ${remote.url.replace(/[/.]/g, '\\$&')}`));
  });

  test('auth login: discovery from the 401, registration, PKCE, the browser round trip; status shows no token', async () => {
    const cli = new Proc([bin, 'auth', 'login', remote.url, '--state-dir', stateDir], env);
    const page = (await cli.waitFor(/open this page to log in to \S+:\s+(http\S+)/))[1]!;
    const authUrl = new URL(page);
    assert.equal(authUrl.searchParams.get('resource'), remote.url, 'RFC 8707 resource of the remote server');
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    const back = await as.browse(page);
    assert.equal(back.hostname, '127.0.0.1', 'sent back to the loopback callback');
    assert.ok(back.searchParams.get('iss'), 'the authorization server sends iss (RFC 9207), which toolgate checks');
    await (await fetch(back)).text();
    const { code } = await cli.exited;
    loginOutput = cli.output;
    assert.equal(code, 0, cli.output);
    assert.match(cli.output, /logged in to .* and the gateway refreshes it/);
    const status = new Proc([bin, 'auth', 'status', '--json', '--state-dir', stateDir], env);
    assert.equal((await status.exited).code, 0, status.output);
    const row = JSON.parse(status.output.trim()) as Record<string, unknown>;
    assert.equal(row.server, remote.url);
    assert.equal(row.issuer, as.issuer);
    assert.equal(row.refreshable, true);
    assert.ok(typeof row.expires_at === 'string');
    assert.deepEqual(
      Object.keys(row).filter((k) => /token/i.test(k)),
      [],
    );
    const wrongKey = new Proc([bin, 'auth', 'status', '--state-dir', stateDir], { ...env, TOOLGATE_TOKEN_KEY: randomBytes(32).toString('hex') });
    assert.notEqual((await wrongKey.exited).code, 0);
    assert.match(wrongKey.output, /cannot be decrypted: wrong TOOLGATE_TOKEN_KEY/);
  });

  test('the gateway reaches the server with the token, refreshes it before expiry, and keeps working', async () => {
    ({ gw } = await startGateway(
      policy,
      stateDir,
      ['--transport', 'http', '--port', '0', '--upstream', remote.url, '--upstream-oauth', '--log-level', 'debug'],
      env,
    )
      .then((r) => ({ gw: r.gw, url: r.url }))
      .then(async (r) => {
        const c = new Client({ name: 'e2e-upstream-oauth', version: '1.0.0' });
        await c.connect(new StreamableHTTPClientTransport(new URL(r.gw.output.match(/toolgate listening on (\S+)/)![1]!)));
        assert.equal(textOf(await c.callTool({ name: 'whoami', arguments: {} })), 'remote says hi');
        const first = remote.seen.at(-1)!;
        const refreshesBefore = as.tokenRequests.filter((g) => g === 'refresh_token').length;
        await waitFor(() => as.tokenRequests.filter((g) => g === 'refresh_token').length > refreshesBefore);
        await waitFor(() => /upstream OAuth token refreshed/.test(r.gw.output));
        assert.equal(textOf(await c.callTool({ name: 'whoami', arguments: {} })), 'remote says hi');
        assert.notEqual(remote.seen.at(-1), first, 'the refreshed token went upstream');
        await c.close();
        return r;
      }));
  });

  test('toolgate serve: a server with oauth: true after auth login NAME -c config', async () => {
    const dir = tempDir('toolgate-oauth-up-serve-');
    writeFileSync(join(dir, 'p.yaml'), 'version: "1"\ndefault: allow\ntools: {}\n');
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `version: 1\nlisten:\n  port: 0\nstate:\n  dir: ./state\nservers:\n  remote:\n    url: ${remote.url}\n    transport: http\n    oauth: true\n    policy: ./p.yaml\n`,
    );
    const cli = new Proc([bin, 'auth', 'login', 'remote', '-c', join(dir, 'toolgate.yaml')], env);
    const page = (await cli.waitFor(/open this page to log in to remote:\s+(http\S+)/))[1]!;
    await (await fetch(await as.browse(page))).text();
    assert.equal((await cli.exited).code, 0, cli.output);
    const serve = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn'], env);
    try {
      const url = (await serve.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
      const c = new Client({ name: 'e2e-serve-upstream-oauth', version: '1.0.0' });
      await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/remote`)));
      assert.equal(textOf(await c.callTool({ name: 'whoami', arguments: {} })), 'remote says hi');
      await c.close();
    } finally {
      await serve.stop();
    }
  });

  test('no upstream token in any log, event or audit record, nor in the state store in the clear', async () => {
    assert.ok(remote.seen.length >= 2);
    const files = allText(stateDir);
    for (const t of new Set(remote.seen)) {
      const sig = t.split('.')[2]!;
      for (const [where, text] of [
        ['state dir', files],
        ['gateway log', gw!.output],
        ['login output', loginOutput],
      ] as const) {
        assert.ok(!text.includes(sig), `a token appears in the ${where}`);
      }
    }
  });
});
