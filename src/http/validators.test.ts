import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBearer, checkHost, checkOrigin, keyDigest } from './index.js';

const HOSTS = new Set(['localhost', '127.0.0.1', '::1', 'gw.example.com']);

test('checkHost: names the listener may be reached as, in any case and with any port; look-alikes and a missing Host refused', () => {
  for (const host of ['127.0.0.1:8080', 'LOCALHOST', '[::1]:9000', 'gw.example.com']) assert.deepEqual(checkHost(host, HOSTS), { ok: true }, host);
  for (const host of [undefined, '', 'localhost.evil.com', 'evil.com', '127.0.0.2', 'gw.example.com.evil', '[::2]:80']) {
    const v = checkHost(host, HOSTS);
    assert.equal(v.ok, false, String(host));
    if (!v.ok) {
      assert.equal(v.status, 403);
      assert.match(v.message, /^Forbidden: Host /);
    }
  }
});

test("checkOrigin: no Origin, a listed one, or the listener's own on the request's port; opaque and foreign origins refused", () => {
  const listed = new Set(['http://localhost:3000']);
  assert.deepEqual(checkOrigin(undefined, '127.0.0.1:8080', HOSTS, listed), { ok: true });
  assert.deepEqual(checkOrigin('http://localhost:3000/', '127.0.0.1:8080', HOSTS, listed), { ok: true });
  assert.deepEqual(checkOrigin('http://localhost:8080', '127.0.0.1:8080', HOSTS, listed), { ok: true });
  assert.deepEqual(checkOrigin('https://gw.example.com', 'gw.example.com', HOSTS, listed), { ok: true });
  for (const origin of ['null', 'http://localhost:3001', 'http://evil.com:8080', 'file://localhost', 'http://127.0.0.1', 'not a url']) {
    const v = checkOrigin(origin, '127.0.0.1:8080', HOSTS, listed);
    assert.equal(v.ok, false, origin);
    if (!v.ok) assert.equal(v.status, 403);
  }
});

test('checkBearer: one of the keys, as a Bearer token; missing, malformed and wrong keys are 401 with a challenge', () => {
  const keys = [keyDigest('first-key-123'), keyDigest('second-key-456')];
  assert.deepEqual(checkBearer('Bearer second-key-456', keys), { ok: true });
  assert.deepEqual(checkBearer('bearer \tfirst-key-123 ', keys), { ok: true });
  const missing = checkBearer(undefined, keys);
  assert.equal(missing.ok, false);
  if (!missing.ok) {
    assert.equal(missing.status, 401);
    assert.equal(missing.headers?.['www-authenticate'], 'Bearer realm="toolgate"');
  }
  for (const header of ['Basic Zmlyc3Qta2V5LTEyMw==', 'Bearer', 'Bearer first-key-123 extra', 'first-key-123', 'Bearer FIRST-KEY-123', 'Bearer first-key-12']) {
    const v = checkBearer(header, keys);
    assert.equal(v.ok, false, header);
    if (!v.ok) assert.equal(v.status, 401);
  }
  const wrong = checkBearer('Bearer nope-nope-nope', keys);
  assert.ok(!wrong.ok && wrong.headers?.['www-authenticate']?.includes('invalid_token'));
});
