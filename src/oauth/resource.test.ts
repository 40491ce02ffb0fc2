// ProtectedResource against a small issuer on 127.0.0.1 (metadata + JWKS + introspection):
// each failure has its own reason, and hostile tokens are refused.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { parseOAuthConfig, type OAuthConfig } from './config.js';
import { ProtectedResource } from './resource.js';
import { callerOf } from './caller.js';

const RESOURCE = 'http://gw.test/mcp';
const NOW = 1_800_000_000_000;

describe('ProtectedResource', () => {
  let server: Server;
  let issuer: string;
  let key: CryptoKey;
  let publicJwk: JWK;
  let metadataIssuer: string | undefined;
  let jwksStatus = 200;
  let introspection: Record<string, unknown> = { active: false };
  let introspectionAuth = '';

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((req, res) => {
      if (req.url === '/.well-known/oauth-authorization-server') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ issuer: metadataIssuer ?? issuer, jwks_uri: `${issuer}/jwks`, introspection_endpoint: `${issuer}/introspect` }));
      } else if (req.url === '/jwks') {
        res.writeHead(jwksStatus, { 'content-type': 'application/json' }).end(jwksStatus === 200 ? JSON.stringify({ keys: [publicJwk] }) : 'down');
      } else if (req.url === '/introspect') {
        introspectionAuth = String(req.headers.authorization);
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(introspection));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const config = (extra: Record<string, unknown> = {}): OAuthConfig => {
    const r = parseOAuthConfig({ issuer, jwks_cooldown: 0, ...extra }, 'oauth', '/', { SECRET: 'intro secret' });
    assert.ok(r.ok, JSON.stringify(r));
    return r.config;
  };
  const resource = (extra: Record<string, unknown> = {}, now = NOW) => new ProtectedResource(config(extra), { clock: () => now });
  const token = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: issuer, sub: 'alice', aud: RESOURCE, iat: NOW / 1000, exp: NOW / 1000 + 300, scope: 'tools:read', client_id: 'app', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header })
      .sign(key);

  test('a good token names its identity, scopes and client', async () => {
    const r = await resource().verify(await token({ groups: ['ops'] }), RESOURCE);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.principal, { name: 'alice', subject: 'alice', clientId: 'app', scopes: ['tools:read'], groups: ['ops'], expiresAt: NOW / 1000 + 300 });
  });

  test('expired (past the clock skew), not yet valid, wrong audience, wrong issuer: each its own reason', async () => {
    const t = await token();
    assert.equal((await resource({}, NOW + 300_000 + 29_000).verify(t, RESOURCE)).ok, true, 'within the 30 s skew');
    const expired = await resource({}, NOW + 300_000 + 31_000).verify(t, RESOURCE);
    assert.equal(!expired.ok && expired.reason, 'expired');
    const early = await resource({}, NOW).verify(await token({ nbf: NOW / 1000 + 120 }), RESOURCE);
    assert.equal(!early.ok && early.reason, 'not_yet_valid');
    const other = await resource().verify(t, 'http://gw.test/mcp/other');
    assert.equal(!other.ok && other.reason, 'wrong_audience');
    const prefix = await resource().verify(
      await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setSubject('a')
        .setAudience('http://gw.test')
        .setExpirationTime(NOW / 1000 + 60)
        .sign(key),
      RESOURCE,
    );
    assert.equal(!prefix.ok && prefix.reason, 'wrong_audience', 'a token for the gateway root is not one for /mcp');
    const iss = await resource().verify(await token({ iss: `${issuer}/evil` }), RESOURCE);
    assert.equal(!iss.ok && iss.reason, 'wrong_issuer');
    const extra = await resource({ audiences: ['http://gw.test/mcp/other'] }).verify(await token({ aud: 'http://gw.test/mcp/other' }), RESOURCE);
    assert.equal(extra.ok, true, 'an audience listed in audiences is accepted');
  });

  test('hostile tokens: alg none, HS256 keyed with the public key, unknown kid, tampered payload, non-string sub', async () => {
    const good = await token();
    const [h, p, s] = good.split('.') as [string, string, string];
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    assert.equal((await resource().verify(none, RESOURCE)).ok, false);
    const hs = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(issuer)
      .setSubject('mallory')
      .setAudience(RESOURCE)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    const hsr = await resource().verify(hs, RESOURCE);
    assert.equal(hsr.ok, false);
    const kid = await resource().verify(await token({}, { kid: 'k-unknown' }), RESOURCE);
    assert.equal(!kid.ok && kid.reason, 'unknown_key');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${s}`;
    const f = await resource().verify(forged, RESOURCE);
    assert.equal(!f.ok && f.reason, 'bad_signature');
    for (const sub of [42, '', ' admin', 'a\u0000b', 'x'.repeat(300)]) {
      const r = await resource().verify(await token({ sub }), RESOURCE);
      assert.equal(!r.ok && r.reason, 'no_identity', `sub ${JSON.stringify(sub)}`);
    }
  });

  test('required scopes: 403 insufficient_scope, and the challenge says so', async () => {
    const rs = resource({ required_scopes: ['tools:write'] });
    const r = await rs.verify(await token(), RESOURCE);
    assert.ok(!r.ok);
    assert.equal(r.status, 403);
    assert.equal(r.reason, 'insufficient_scope');
    assert.equal(
      rs.challenge(RESOURCE, r),
      `Bearer resource_metadata="http://gw.test/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", error_description="the token lacks the scope(s) tools:write", scope="tools:write"`,
    );
  });

  test('a misconfigured issuer (its metadata names another) and unreachable keys are told apart', async () => {
    metadataIssuer = 'https://someone-else.example';
    try {
      const r = await resource().verify(await token(), RESOURCE);
      assert.equal(!r.ok && r.reason, 'issuer_misconfigured');
    } finally {
      metadataIssuer = undefined;
    }
    jwksStatus = 503;
    try {
      const r = await resource().verify(await token(), RESOURCE);
      assert.equal(!r.ok && r.reason, 'jwks_unreachable');
    } finally {
      jwksStatus = 200;
    }
    const gone = await new ProtectedResource(config({ issuer: 'http://127.0.0.1:1' }), { clock: () => NOW }).verify(await token(), RESOURCE);
    assert.equal(!gone.ok && gone.reason, 'issuer_unreachable');
  });

  test('introspection (RFC 7662) for opaque tokens: active, inactive, other audience; client authenticates', async () => {
    const rs = resource({ introspection: { client_id: 'gw', client_secret_env: 'SECRET' } });
    introspection = { active: true, sub: 'bob', aud: RESOURCE, iss: issuer, scope: 'tools:read', exp: NOW / 1000 + 60 };
    const ok = await rs.verify('opaque-token-1', RESOURCE);
    assert.ok(ok.ok && ok.principal.name === 'bob');
    assert.equal(introspectionAuth, `Basic ${Buffer.from('gw:intro+secret').toString('base64')}`);
    const elsewhere = await rs.verify('opaque-token-1', 'http://gw.test/mcp/other');
    assert.equal(!elsewhere.ok && elsewhere.reason, 'wrong_audience', 'a cached answer is not reused for another resource');
    introspection = { active: false };
    const inactive = await rs.verify('opaque-token-2', RESOURCE);
    assert.equal(!inactive.ok && inactive.reason, 'inactive');
    introspection = { active: true, sub: 'bob', aud: 'http://elsewhere/mcp', iss: issuer };
    const aud = await rs.verify('opaque-token-3', RESOURCE);
    assert.equal(!aud.ok && aud.reason, 'wrong_audience');
    const noIntrospection = await resource().verify('opaque-token-4', RESOURCE);
    assert.equal(!noIntrospection.ok && noIntrospection.reason, 'malformed');
  });

  test('claims to a caller: scopes pick tools by glob; the first group with a policy gives it', () => {
    const c = config({ scope_tools: { 'tools:read': ['read_*'], admin: ['*'] }, group_policies: { ops: 'ops.yaml', dev: 'dev.yaml' } });
    const who = callerOf({ name: 'alice', scopes: ['tools:read', 'unknown'], groups: ['x', 'dev', 'ops'] }, c);
    assert.equal(who.policyFile, '/dev.yaml');
    assert.equal(who.tools!('read_notes'), true);
    assert.equal(who.tools!('delete_notes'), false);
    assert.equal(
      callerOf({ name: 'a', scopes: ['constructor', '__proto__'], groups: ['__proto__'] }, c).tools!('read_x'),
      false,
      'prototype names are no scopes or groups',
    );
    assert.equal(callerOf({ name: 'a', scopes: [], groups: ['toString'] }, c).policyFile, undefined);
  });

  test('config errors name the key', () => {
    const r = parseOAuthConfig({ issuer: 'http://auth.example.com', scope_tools: { a: 'read_*' }, clock_skew: 'soon', extra: 1 }, 'listen.oauth', '/');
    assert.ok(!r.ok);
    assert.ok(
      r.errors.some((e) => e.startsWith('listen.oauth.scope_tools.a:')),
      r.errors.join('\n'),
    );
    assert.ok(
      r.errors.some((e) => e.includes('extra')),
      r.errors.join('\n'),
    );
    const http = parseOAuthConfig({ issuer: 'http://auth.example.com' }, 'listen.oauth', '/');
    assert.ok(!http.ok && http.errors[0]!.includes('must use https'));
  });
});
