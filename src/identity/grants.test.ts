import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrantError, GrantStore, grantStatus, noPolicyMessage } from './grants.js';
import { digestEquals, generateToken, hashToken, looksLikeToken, parseBearer, secretEquals } from './tokens.js';
import { openGrantStore, resolveStdioIdentity, callerDenial, IdentityError } from './index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'toolgate-grants-'));

test('tokens: shape, hash, constant-time comparisons, bearer parsing', () => {
  const t = generateToken();
  assert.ok(looksLikeToken(t), t);
  assert.notEqual(generateToken(), t);
  assert.equal(hashToken(t).length, 64);
  assert.ok(digestEquals(hashToken(t), hashToken(t)));
  assert.ok(!digestEquals(hashToken(t), hashToken(t + 'x')));
  assert.ok(!digestEquals('', ''));
  assert.ok(secretEquals('admin-key', 'admin-key'));
  assert.ok(!secretEquals('admin-key', 'admin-kez'));
  assert.deepEqual(parseBearer('Bearer abc'), { ok: true, credential: 'abc' });
  assert.deepEqual(parseBearer('bearer  abc '), { ok: true, credential: 'abc' });
  assert.deepEqual(parseBearer(undefined), { ok: false, reason: 'missing' });
  assert.deepEqual(parseBearer('Basic abc'), { ok: false, reason: 'malformed' });
  assert.deepEqual(parseBearer('Bearer a b'), { ok: false, reason: 'malformed' });
});

test('grant store: create prints the token once and stores only its hash', () => {
  const d = dir();
  const store = openGrantStore(d);
  const { grant, token } = store.create('alice-laptop', { policy: { kind: 'file', path: '/p/alice.yaml' }, now: 1000 });
  assert.ok(looksLikeToken(token));
  assert.equal(grant.name, 'alice-laptop');
  assert.equal(grant.tokenHint, token.slice(0, 7));
  assert.deepEqual(store.findByToken(token), {
    name: 'alice-laptop',
    policy: { kind: 'file', path: '/p/alice.yaml' },
    tokenHint: token.slice(0, 7),
    createdAt: 1000,
  });
  assert.equal(store.findByToken(generateToken()), undefined);
  store.close();
  const bytes = readFileSync(join(d, 'grants.db'));
  assert.equal(bytes.includes(Buffer.from(token)), false, 'the token itself is never written');
  assert.equal(bytes.includes(Buffer.from(token.slice(3, 20))), false);
});

test('grant store: names, duplicates, list, revoke, expiry, reopen', () => {
  const d = dir();
  const store = openGrantStore(d);
  assert.throws(
    () => store.create('bad name'),
    (e: unknown) => e instanceof GrantError && e.code === 'invalid_name',
  );
  assert.throws(() => store.create('-x'), GrantError);
  const ci = store.create('ci-runner', { now: 1 });
  assert.deepEqual(ci.grant.policy, { kind: 'none' });
  store.create('bob', { policy: { kind: 'section', name: 'bob' }, now: 2, expiresAt: 10_000 });
  assert.throws(
    () => store.create('bob'),
    (e: unknown) => e instanceof GrantError && e.code === 'exists',
  );
  assert.deepEqual(
    store.list().map((g) => g.name),
    ['ci-runner', 'bob'],
  );
  assert.equal(grantStatus(store.get('bob')!, 9_999), 'active');
  assert.equal(grantStatus(store.get('bob')!, 10_000), 'expired');

  const revoked = store.revoke('ci-runner', 50);
  assert.equal(revoked.revokedAt, 50);
  assert.equal(grantStatus(revoked, 60), 'revoked');
  assert.throws(
    () => store.revoke('ci-runner'),
    (e: unknown) => e instanceof GrantError && e.code === 'already_revoked',
  );
  assert.throws(
    () => store.revoke('nobody'),
    (e: unknown) => e instanceof GrantError && e.code === 'not_found',
  );
  assert.throws(() => store.create('ci-runner'), /revoked/);
  store.close();

  const again = new GrantStore({ path: join(d, 'grants.db') });
  assert.equal(again.findByToken(ci.token)?.revokedAt, 50, 'a revoked grant is still found, with its revocation');
  again.close();
});

test('a grant without a policy is explicit: every call is denied', () => {
  const store = openGrantStore(dir());
  store.create('nopol');
  store.create('withpol', { policy: { kind: 'file', path: '/x.yaml' } });
  const a = resolveStdioIdentity('nopol', store);
  assert.equal(callerDenial(a), noPolicyMessage('nopol'));
  assert.equal(callerDenial(resolveStdioIdentity('withpol', store)), undefined);
  const label = resolveStdioIdentity('just-a-label', store);
  assert.deepEqual(label.policy, { kind: 'gateway' });
  assert.equal(callerDenial(label), undefined);
  store.revoke('withpol');
  assert.throws(() => resolveStdioIdentity('withpol', store), IdentityError);
  store.close();
});
