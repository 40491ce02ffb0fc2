// The dashboard's access: keys, the browser session and its cookie, the route table, the page's
// modules and CSP, key checks and a base path (the data it serves: server-data.test.ts).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, VIEWER, bearer, http, openDashboardFixture, type DashboardFixture } from '../../test/support/dashboard.js';
import { createDashboard, startDashboard } from './index.js';

describe('dashboard API', () => {
  let fx: DashboardFixture;
  let base: string;
  let origin: string;

  before(async () => {
    fx = await openDashboardFixture();
    ({ base, origin } = fx);
  });

  after(() => fx.close());

  test('keys: missing or wrong -> 401 with WWW-Authenticate; viewer and admin get their role', async () => {
    const missing = await http(`${base}/api/me`);
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers['www-authenticate']), /^Bearer /);
    assert.equal((await http(`${base}/api/me`, { headers: bearer('wrong-key-wrong-key-wrong') })).status, 401);
    assert.equal((await http(`${base}/api/me`, { headers: { authorization: 'Basic abc' } })).status, 401);
    const viewer = await http(`${base}/api/me`, { headers: bearer(VIEWER) });
    assert.equal(viewer.status, 200);
    assert.equal(JSON.parse(viewer.body).role, 'viewer');
    const admin = await http(`${base}/api/me`, { headers: bearer(ADMIN) });
    assert.equal(JSON.parse(admin.body).role, 'admin');
    for (const p of ['/api/calls', '/api/stats', '/api/catalogue', '/api/counters', '/api/status', '/api/approvals', '/api/stream']) {
      assert.equal((await http(base + p)).status, 401, p);
    }
  });

  test('browser: the page needs a session; login sets an HttpOnly SameSite=Strict cookie; wrong keys get the login page', async () => {
    const page = await http(`${base}/`);
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/login');
    const login = await http(`${base}/login`);
    assert.equal(login.status, 200);
    assert.match(login.body, /<form method="post" action="login"/);
    assert.match(String(login.headers['content-security-policy']), /default-src 'none'/);

    const form = { 'content-type': 'application/x-www-form-urlencoded', origin };
    const wrong = await http(`${base}/login`, { method: 'POST', headers: form, body: 'key=not-the-key-not-the-key' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /That key is not valid/);
    assert.equal(wrong.headers['set-cookie'], undefined);
    const crossSite = await http(`${base}/login`, { method: 'POST', headers: { ...form, origin: 'http://evil.example' }, body: `key=${ADMIN}` });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.headers['set-cookie'], undefined);

    const ok = await http(`${base}/login`, { method: 'POST', headers: form, body: `key=${encodeURIComponent(VIEWER)}` });
    assert.equal(ok.status, 303);
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /^toolgate_dashboard=[\w-]{20,};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    const home = await http(`${base}/`, { headers: { cookie: session } });
    assert.equal(home.status, 200);
    assert.match(home.body, /static\/app\.js/);
    assert.equal(JSON.parse((await http(`${base}/api/me`, { headers: { cookie: session } })).body).role, 'viewer');
    assert.equal((await http(`${base}/api/me`, { headers: { cookie: 'toolgate_dashboard=forged' } })).status, 401);
    const asset = await http(`${base}/static/app.css`);
    assert.equal(asset.status, 200);
    assert.match(String(asset.headers['content-type']), /text\/css/);

    const out = await http(`${base}/logout`, { method: 'POST', headers: { cookie: session, origin } });
    assert.equal(out.status, 303);
    assert.equal((await http(`${base}/api/me`, { headers: { cookie: session } })).status, 401);
  });

  test('route table: only /healthz, /login, /logout and /static/ answer without a caller; a bad Authorization header beats a good cookie', async () => {
    for (const p of ['/', '/index.html', '/nowhere', '/static']) {
      const r = await http(base + p);
      assert.equal(r.status, 303, p);
      assert.equal(r.headers.location, '/login', p);
    }
    const api = ['/api', '/api/me', '/api/calls', '/api/stream', '/api/stats', '/api/status', '/api/catalogue', '/api/counters', '/api/servers'];
    for (const p of [...api, '/api/approvals', '/api/approvals/x/approve', '/api/nowhere']) {
      assert.equal((await http(base + p)).status, 401, `GET ${p}`);
      assert.equal((await http(base + p, { method: 'POST', headers: { origin } })).status, 401, `POST ${p}`);
    }
    assert.equal((await http(`${base}/healthz`)).status, 200);
    assert.equal((await http(`${base}/static/app.css`)).status, 200);
    // Signed in: a malformed or wrong bearer key is refused even beside a valid session cookie.
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin };
    const ok = await http(`${base}/login`, { method: 'POST', headers: form, body: `key=${encodeURIComponent(ADMIN)}` });
    const session = String(ok.headers['set-cookie']).split(';')[0]!;
    assert.equal((await http(`${base}/api/me`, { headers: { cookie: session } })).status, 200);
    for (const authorization of ['Basic abc', `Bearer ${VIEWER}x`, `Bearer ${ADMIN} extra`, 'Bearer']) {
      assert.equal((await http(`${base}/api/me`, { headers: { cookie: session, authorization } })).status, 401, authorization);
    }
    // Methods are checked after the caller, per route.
    assert.equal((await http(`${base}/api/me`, { method: 'DELETE', headers: { ...bearer(ADMIN), origin } })).status, 405);
    assert.equal((await http(`${base}/logout`)).status, 405);
  });

  test('sign-in reads at most 4 KiB of form (http readBody): a valid key in a larger body signs nobody in', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin };
    const big = await http(`${base}/login`, { method: 'POST', headers: form, body: `key=${encodeURIComponent(ADMIN)}&pad=${'x'.repeat(5000)}` });
    assert.equal(big.status, 401);
    assert.equal(big.headers['set-cookie'], undefined);
    const small = await http(`${base}/login`, { method: 'POST', headers: form, body: `key=${encodeURIComponent(ADMIN)}&pad=${'x'.repeat(3000)}` });
    assert.equal(small.status, 303);
  });

  test("the page's ES modules: every module app.js reaches is served as JavaScript, and the page keeps its CSP", async () => {
    const home = await http(`${base}/`, { headers: bearer(ADMIN) });
    assert.equal(
      home.headers['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    assert.match(home.body, /<script type="module" src="static\/app\.js"><\/script>/);
    assert.doesNotMatch(home.body, /<script(?![^>]*\bsrc=)/, 'no inline script');
    const seen = new Set<string>();
    const queue = ['app.js'];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const r = await http(`${base}/static/${name}`);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8', name);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', name);
      assert.match(r.body, /^\/\/ @ts-check\n/, `${name} starts with // @ts-check`);
      for (const m of r.body.matchAll(/^import [^;]*? from '\.\/([\w-]+\.js)';$/gm)) queue.push(m[1]!);
    }
    assert.ok(seen.size >= 8, `app.js reaches its views (${[...seen].join(', ')})`);
  });
});

test('the dashboard refuses short, missing or shared keys and a bad base path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-web-keys-'));
  assert.throws(() => createDashboard({ stateDir: dir, adminKey: '' }), /admin key/);
  assert.throws(() => createDashboard({ stateDir: dir, adminKey: 'short' }), /at least 16/);
  assert.throws(() => createDashboard({ stateDir: dir, adminKey: ADMIN, viewerKeys: ['short'] }), /at least 16/);
  assert.throws(() => createDashboard({ stateDir: dir, adminKey: ADMIN, viewerKeys: [ADMIN] }), /viewer key cannot be the admin key/);
  assert.throws(() => createDashboard({ stateDir: dir, adminKey: ADMIN, basePath: 'dash' }), /base path/);
});

test('mounted under a base path: other paths are left to the host server; an empty state directory shows empty lists', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-web-base-'));
  const dash = await startDashboard({ stateDir: dir, adminKey: ADMIN, port: 0, basePath: '/dashboard' });
  try {
    const root = new URL(dash.url).origin;
    assert.equal((await http(`${root}/elsewhere`)).status, 404);
    const page = await http(`${root}/dashboard/`);
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/dashboard/login');
    const calls = await http(`${root}/dashboard/api/calls`, { headers: bearer(ADMIN) });
    assert.equal(calls.status, 200);
    assert.deepEqual(JSON.parse(calls.body).calls, []);
    for (const p of ['stats', 'catalogue', 'counters', 'status', 'approvals'])
      assert.equal((await http(`${root}/dashboard/api/${p}`, { headers: bearer(ADMIN) })).status, 200, p);
  } finally {
    await dash.close();
  }
});
