import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callerDenial, createAuthenticator, generateToken, openGrantStore } from './index.js';

test('authenticate(header): grant tokens; missing, malformed, unknown, revoked and expired credentials refused', async () => {
  const grants = openGrantStore(mkdtempSync(join(tmpdir(), 'toolgate-auth-')));
  let now = 1_000;
  const alice = grants.create('alice', { policy: { kind: 'file', path: '/a.yaml' }, now });
  const ci = grants.create('ci-runner', { now });
  const temp = grants.create('temp', { policy: { kind: 'file', path: '/t.yaml' }, now, expiresAt: 5_000 });
  const gone = grants.create('gone', { policy: { kind: 'file', path: '/g.yaml' }, now });
  grants.revoke('gone', 2_000);
  const auth = createAuthenticator({ grants, clock: () => now });

  const a = await auth(`Bearer ${alice.token}`);
  assert.ok(a.ok);
  assert.equal(a.name, 'alice');
  assert.equal(a.via, 'token');
  assert.deepEqual(a.policy, { kind: 'file', path: '/a.yaml' });
  assert.equal(callerDenial(a), undefined);

  const c = await auth(`Bearer ${ci.token}`);
  assert.ok(c.ok);
  assert.match(callerDenial(c)!, /Grant "ci-runner" has no policy; every call is denied/);

  const cases: Array<[string | undefined, string]> = [
    [undefined, 'missing'],
    ['', 'missing'],
    [`Token ${alice.token}`, 'malformed'],
    [`Bearer ${generateToken()}`, 'unknown'],
    ['Bearer not-a-token', 'unknown'],
    [`Bearer ${gone.token}`, 'revoked'],
  ];
  for (const [header, reason] of cases) {
    const r = await auth(header);
    assert.ok(!r.ok, String(header));
    assert.equal(r.reason, reason, String(header));
    assert.equal(r.status, 401);
    assert.match(r.wwwAuthenticate, /^Bearer realm="toolgate"/);
    if (reason !== 'missing') assert.match(r.wwwAuthenticate, /error="invalid_token"/);
  }
  assert.ok((await auth(`Bearer ${temp.token}`)).ok);
  now = 5_000;
  const t = await auth(`Bearer ${temp.token}`);
  assert.equal(!t.ok && t.reason, 'expired');
  grants.close();
});
