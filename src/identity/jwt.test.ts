import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { JwtVerifier, looksLikeJwt } from './jwt.js';
import { createAuthenticator, openGrantStore } from './index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'toolgate-jwt-'));
const SECRET = 'an-hs256-secret-that-is-long-enough-0123456789';
const now = () => Math.floor(Date.now() / 1000);

function hs(claims: Record<string, unknown>, exp: number | null = now() + 60): Promise<string> {
  const j = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (exp !== null) j.setExpirationTime(exp);
  return j.sign(new TextEncoder().encode(SECRET));
}

test('HS256: a secret file, the sub claim names the grant; expiry, tampering, missing exp', async () => {
  const d = dir();
  writeFileSync(join(d, 'secret'), SECRET + '\n');
  const v = await JwtVerifier.create({ keyFile: join(d, 'secret') });
  const ok = await v.verify(await hs({ sub: 'alice' }));
  assert.equal(ok.ok && ok.grant, 'alice');
  const expired = await v.verify(await hs({ sub: 'alice' }, now() - 120));
  assert.deepEqual(expired.ok ? null : expired.reason, 'expired');
  const noExp = await v.verify(await hs({ sub: 'alice' }, null));
  assert.equal(noExp.ok, false);
  const good = await hs({ sub: 'alice' });
  const [h, p, s] = good.split('.') as [string, string, string];
  const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', exp: now() + 60 })).toString('base64url')}.${s}`;
  assert.equal((await v.verify(forged)).ok, false);
  assert.ok(looksLikeJwt(good) && p.length > 0);
  await assert.rejects(() => JwtVerifier.create({ secret: 'short' }), /32 bytes/);
});

test('HS256: issuer/audience, a configured claim and a claim-to-grant map', async () => {
  const v = await JwtVerifier.create({ secret: SECRET, issuer: 'https://idp', audience: 'toolgate', claim: 'email', grantMap: { 'a@x.io': 'alice-laptop' } });
  const tok = (c: Record<string, unknown>) =>
    new SignJWT(c)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://idp')
      .setAudience('toolgate')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(SECRET));
  const r = await v.verify(await tok({ email: 'a@x.io' }));
  assert.equal(r.ok && r.grant, 'alice-laptop');
  assert.equal((await v.verify(await tok({ email: 'b@x.io' }))).ok, false, 'unmapped claim value');
  assert.equal((await v.verify(await tok({ sub: 'a@x.io' }))).ok, false, 'claim missing');
  const wrongAud = await new SignJWT({ email: 'a@x.io' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('https://idp')
    .setAudience('other')
    .setExpirationTime('1m')
    .sign(new TextEncoder().encode(SECRET));
  assert.equal((await v.verify(wrongAud)).ok, false);
});

test('RS256 and ES256 with local PEM and JWK files; an HS256 token signed with the public key is refused', async () => {
  const d = dir();
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(d, 'rsa.pem'), await exportSPKI(rsa.publicKey));
  writeFileSync(join(d, 'ec.jwk'), JSON.stringify(await exportJWK(ec.publicKey)));
  const vr = await JwtVerifier.create({ keyFile: join(d, 'rsa.pem') });
  const ve = await JwtVerifier.create({ keyFile: join(d, 'ec.jwk') });
  const rs = await new SignJWT({ sub: 'ci-runner' }).setProtectedHeader({ alg: 'RS256' }).setExpirationTime('1m').sign(rsa.privateKey);
  const es = await new SignJWT({ sub: 'bob' }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('1m').sign(ec.privateKey);
  const r1 = await vr.verify(rs);
  assert.equal(r1.ok && r1.grant, 'ci-runner');
  const r2 = await ve.verify(es);
  assert.equal(r2.ok && r2.grant, 'bob');
  assert.equal((await vr.verify(es)).ok, false);
  assert.equal((await ve.verify(rs)).ok, false);
  // Algorithm confusion: HMAC keyed with the public key's PEM text.
  const pem = await exportSPKI(rsa.publicKey);
  const confused = await new SignJWT({ sub: 'ci-runner' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1m').sign(new TextEncoder().encode(pem));
  assert.equal((await vr.verify(confused)).ok, false);
});

test('JWKS served on loopback: keys fetched by kid; JWTs then authenticate as grants', async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const v = await JwtVerifier.create({ jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` });
    const sign = (sub: string, kid = 'k1') => new SignJWT({ sub }).setProtectedHeader({ alg: 'RS256', kid }).setExpirationTime('1m').sign(rsa.privateKey);
    const r = await v.verify(await sign('alice'));
    assert.equal(r.ok && r.grant, 'alice');
    assert.ok(fetches >= 1);

    const grants = openGrantStore(dir());
    grants.create('alice', { policy: { kind: 'file', path: '/a.yaml' } });
    grants.create('mallory', { policy: { kind: 'file', path: '/m.yaml' } });
    grants.revoke('mallory');
    const auth = createAuthenticator({ grants, jwt: v });
    const a = await auth(`Bearer ${await sign('alice')}`);
    assert.equal(a.ok && a.name, 'alice');
    assert.equal(a.ok && a.via, 'jwt');
    const m = await auth(`Bearer ${await sign('mallory')}`);
    assert.equal(!m.ok && m.reason, 'revoked');
    const u = await auth(`Bearer ${await sign('nobody')}`);
    assert.equal(!u.ok && u.reason, 'unknown');
    const k = await auth(`Bearer ${await sign('alice', 'other-kid')}`);
    assert.equal(!k.ok && k.reason, 'invalid');
    grants.close();
  } finally {
    server.close();
  }
  await assert.rejects(() => JwtVerifier.create({ jwksUrl: 'http://idp.example.com/jwks' }), /https/);
});
