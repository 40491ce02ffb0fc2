// The inbound OAuth refusals an operator must tell apart, end to end through
// the built gateway in front of a real authorization server (oidc-provider):
// an expired token, a token for another audience, an issuer whose metadata
// names another issuer (misconfigured), and an issuer whose keys cannot be
// fetched. Each is its own 401 with its own error_description and its own
// `auth_denied` audit record; none records the token.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { writePolicy } from './helpers.js';
import { Proc, readEvents, startGateway } from './transports-helpers.js';
import { startAuthServer, type TestAuthServer } from './support/oauth-as.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

describe('OAuth refusals: expired, wrong audience, misconfigured issuer, unreachable JWKS are each a distinct 401, audited', () => {
  let as: TestAuthServer;
  let impostor: Server;
  let closedJwks: Server;
  const gateways: Proc[] = [];

  before(async () => {
    // Short-lived tokens: the expired case waits for the token's own exp, not a fixed time. Long enough
    // that a loaded machine answers the positive control inside the token's life (2 s was not).
    as = await startAuthServer({ accessTokenTtl: 6 });
    as.addClient('bot', 'bot-secret-0123456789');
  });
  after(async () => {
    for (const g of gateways) await g.stop();
    impostor?.close();
    closedJwks?.close();
    await as?.close();
  });

  /** A gateway with this oauth file; resolves with its URL and state dir. */
  const gateway = async (oauthYaml: string) => {
    const w = writePolicy('version: "1"\ndefault: allow\ntools: {}\n');
    writeFileSync(join(w.dir, 'oauth.yaml'), oauthYaml);
    const { gw, url } = await startGateway(w.policy, w.stateDir, [
      '--transport',
      'http',
      '--port',
      '0',
      '--oauth',
      join(w.dir, 'oauth.yaml'),
      '--upstream',
      'http://127.0.0.1:9/mcp',
      '--log-level',
      'debug',
    ]);
    gateways.push(gw);
    return { url, stateDir: w.stateDir, gw, refused: [] as string[] };
  };
  const post = (url: string, token: string) =>
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
  /** Each test checks its own gateway: no refused token's signature in its log, events or audit. */
  const noTokenKept = (g: { stateDir: string; gw: Proc; refused: string[] }) => {
    assert.ok(g.refused.length > 0, 'the test refused a token');
    const files = allText(g.stateDir);
    for (const t of g.refused) {
      assert.ok(!g.gw.output.includes(t.split('.')[2]!), 'a token signature appears in the gateway log');
      assert.ok(!files.includes(t.split('.')[2]!), `a token signature appears in ${g.stateDir}`);
    }
  };
  const refusal = async (g: { url: string; stateDir: string; refused: string[] }, token: string, reason: string, description: RegExp) => {
    g.refused.push(token);
    const res = await post(g.url, token);
    assert.equal(res.status, 401, reason);
    await res.body?.cancel();
    const www = String(res.headers.get('www-authenticate'));
    assert.match(www, /error="invalid_token"/);
    assert.match(www, description);
    await waitFor(() => readEvents(g.stateDir).some((e) => e.type === 'auth_denied' && e.reason === reason));
    const rec = readEvents(g.stateDir).find((e) => e.type === 'auth_denied' && e.reason === reason)!;
    assert.equal(rec.status, 401);
    assert.match(String(rec.message), description);
    return rec;
  };

  test('an expired token (no clock skew allowed) and a token for another audience: two reasons at one gateway', async () => {
    const g = await gateway(`issuer: ${as.issuer}\nclock_skew: 0s\n`);
    // The refusal first: it makes the gateway fetch the issuer's metadata and keys, so that the
    // positive control's token is not spending its short life on that.
    await refusal(g, await as.clientToken('bot', 'https://other.example.com/mcp', 'tools:read'), 'wrong_audience', /the token is for another resource/);
    const token = await as.clientToken('bot', g.url, 'tools:read');
    const ok = await post(g.url, token);
    assert.equal(ok.status, 200, 'positive control: the fresh token is accepted');
    await ok.body?.cancel();
    const exp = decodeJwt(token).exp!;
    await waitFor(() => Date.now() / 1000 > exp + 1);
    await refusal(g, token, 'expired', /the token has expired/);
    noTokenKept(g);
  });

  test('a misconfigured issuer: its metadata names another issuer, so no token is accepted, and the operator is told why', async () => {
    // An issuer URL whose RFC 8414 metadata claims to be the real authorization server (RFC 8414 §3.3 mismatch).
    impostor = createServer((req, res) => {
      if (req.url?.startsWith('/.well-known/'))
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: as.issuer, jwks_uri: `${as.issuer}/jwks` }));
      res.writeHead(404).end();
    });
    const fake = await listen(impostor);
    const g = await gateway(`issuer: ${fake}\n`);
    const rec = await refusal(
      g,
      await as.clientToken('bot', g.url, 'tools:read'),
      'issuer_misconfigured',
      /misconfigured issuer: the metadata at \S+ names issuer/,
    );
    assert.equal(rec.resource, g.url);
    noTokenKept(g);
  });

  test('unreachable JWKS: the keys cannot be fetched, a distinct reason from a bad token', async () => {
    closedJwks = createServer((req, res) => void res.writeHead(503).end());
    const jwks = await listen(closedJwks);
    const g = await gateway(`issuer: ${as.issuer}\njwks_uri: ${jwks}/jwks\n`);
    await refusal(g, await as.clientToken('bot', g.url, 'tools:read'), 'jwks_unreachable', /the issuer's keys .* could not be fetched/);
    noTokenKept(g);
  });
});
