import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditWriter } from '../audit/index.js';
import type { AuditLog } from '../audit/writer.js';
import { openApprovalStore, type ApprovalStore } from '../approval/index.js';
import { definitionHash, pinnedDefinition, SqlitePinStore } from '../pins/index.js';
import { openCounterStore } from '../state/index.js';
import { createDashboard, startDashboard, type RunningDashboard } from './index.js';

const ADMIN = 'admin-key-0123456789abcdef';
const VIEWER = 'viewer-key-0123456789abcdef';
const POLICY = `version: "1"
default: allow
hide: [admin_reset]
tools:
  create_charge:
    rules:
      - name: "big charges"
        action: require_approval
        conditions:
          - { path: "args.amount", op: gt, value: 1000 }
  delete_customer:
    rules:
      - name: "no deletes"
        action: deny
        on_deny: "no"
  get_weather:
    rules:
      - name: "weather quota"
        rate_limit: 5/minute
`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of the headers (fetch does not let a test set Origin freely). */
function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('dashboard API', () => {
  let dir: string;
  let audit: AuditLog;
  let approvals: ApprovalStore;
  let dash: RunningDashboard;
  let base: string;
  let origin: string;
  const ts = () => new Date().toISOString();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'toolgate-web-'));
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, POLICY);
    audit = await openAuditWriter({ stateDir: dir, instance: 'gw-1', sync: 'full', heartbeatMs: 0 });
    audit.emit({ type: 'startup', ts: ts(), instance: 'gw-1', server: 'node', config: policy, pin_server: 'node demo.js', pid: process.pid });
    audit.emit({
      type: 'tool_call',
      ts: ts(),
      instance: 'gw-1',
      server: 'node',
      tool: 'echo',
      identity: 'alice',
      decision: 'allowed',
      outcome: 'ok',
      latency_ms: 3,
    });
    audit.emit({
      type: 'tool_call',
      ts: ts(),
      instance: 'gw-1',
      server: 'node',
      tool: 'delete_customer',
      identity: 'bob',
      decision: 'denied',
      reason: 'rule',
      rule: 'no deletes',
      rule_pointer: 'tools/delete_customer/rules/0',
      message: 'no',
    });
    audit.emit({
      type: 'approval_requested',
      ts: ts(),
      instance: 'gw-1',
      server: 'node',
      tool: 'create_charge',
      identity: 'alice',
      approval_id: 'ap_0000000000000000',
    });
    approvals = openApprovalStore(dir);
    const pins = SqlitePinStore.inStateDir(dir);
    for (const t of [
      {
        name: 'create_charge',
        description: 'Charge a customer (amount in cents)',
        inputSchema: { type: 'object', properties: { amount: { type: 'number' }, currency: { type: 'string' } } },
      },
      { name: 'get_weather', description: 'Get the current weather for a city', annotations: { readOnlyHint: true } },
      { name: 'admin_reset', description: 'Reset the whole account' },
    ]) {
      const def = pinnedDefinition(t);
      pins.pin('node demo.js', def, definitionHash(def), new Date());
    }
    pins.close();
    // One fixed instant for the counters and the dashboard: a minute window read on the wall clock
    // empties when the suite runs across a minute boundary (seen in CI).
    const now = Date.now();
    const counters = await openCounterStore({ kind: 'sqlite', stateDir: dir });
    await counters.reserve([{ key: 'get_weather._rate_minute', window: 'minute', amount: 2, limit: 5 }], now);
    await counters.reserve([{ key: 'x.spend|identity=alice', window: 'day', amount: 7, limit: 100 }], now);
    await counters.close();
    dash = await startDashboard({ stateDir: dir, adminKey: ADMIN, viewerKeys: [VIEWER], port: 0, pollMs: 30, clock: () => now });
    base = dash.url.replace(/\/$/, '');
    origin = new URL(dash.url).origin;
  });

  after(async () => {
    await dash.close();
    await audit.close();
    approvals.close();
  });

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

  test('approvals through the dashboard API: list, viewer 403, approve, deny with a reason, CSRF', async () => {
    const mk = (tool: string) =>
      approvals.create({
        tool,
        argsSha256: 'a'.repeat(64),
        argsPreview: { amount: 5000 },
        rule: 'big charges',
        rulePointer: 'tools/create_charge/rules/0',
        timeoutMs: 60_000,
        identity: 'alice',
      });
    const one = mk('create_charge');
    const two = mk('create_charge');

    const listed = await http(`${base}/api/approvals?status=pending`, { headers: bearer(VIEWER) });
    assert.equal(listed.status, 200);
    const ids = (JSON.parse(listed.body) as { approvals: Array<{ id: string }> }).approvals.map((a) => a.id);
    assert.ok(ids.includes(one.id) && ids.includes(two.id));

    const json = { 'content-type': 'application/json' };
    const viewer = await http(`${base}/api/approvals/${one.id}/approve`, { method: 'POST', headers: { ...json, ...bearer(VIEWER) }, body: '{}' });
    assert.equal(viewer.status, 403);
    assert.equal(approvals.get(one.id)!.status, 'pending');
    assert.equal((await http(`${base}/api/approvals/${one.id}/approve`, { method: 'POST', headers: json, body: '{}' })).status, 401);

    // A logged-in browser: the Origin must be the dashboard's own.
    const login = await http(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: `key=${ADMIN}`,
    });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const evil = await http(`${base}/api/approvals/${one.id}/approve`, {
      method: 'POST',
      headers: { ...json, cookie, origin: 'http://evil.example' },
      body: '{}',
    });
    assert.equal(evil.status, 403);
    const noOrigin = await http(`${base}/api/approvals/${one.id}/approve`, { method: 'POST', headers: { ...json, cookie }, body: '{}' });
    assert.equal(noOrigin.status, 403);
    const crossSite = await http(`${base}/api/approvals/${one.id}/approve`, {
      method: 'POST',
      headers: { ...json, cookie, origin, 'sec-fetch-site': 'cross-site' },
      body: '{}',
    });
    assert.equal(crossSite.status, 403);
    assert.equal(approvals.get(one.id)!.status, 'pending');

    const approved = await http(`${base}/api/approvals/${one.id}/approve`, {
      method: 'POST',
      headers: { ...json, cookie, origin },
      body: JSON.stringify({ by: 'finance-lead', reason: 'ok' }),
    });
    assert.equal(approved.status, 200, approved.body);
    assert.equal(JSON.parse(approved.body).approval.status, 'approved');
    assert.equal(approvals.get(one.id)!.decidedBy, 'finance-lead');
    assert.equal(approvals.get(one.id)!.channel, 'http');

    const noReason = await http(`${base}/api/approvals/${two.id}/deny`, { method: 'POST', headers: { ...json, ...bearer(ADMIN) }, body: '{}' });
    assert.equal(noReason.status, 400);
    const denied = await http(`${base}/api/approvals/${two.id}/deny`, {
      method: 'POST',
      headers: { ...json, ...bearer(ADMIN) },
      body: JSON.stringify({ reason: 'too much' }),
    });
    assert.equal(denied.status, 200);
    assert.equal(approvals.get(two.id)!.status, 'denied');
    assert.equal(approvals.get(two.id)!.reason, 'too much');
    const again = await http(`${base}/api/approvals/${two.id}/approve`, { method: 'POST', headers: { ...json, ...bearer(ADMIN) }, body: '{}' });
    assert.equal(again.status, 409);
  });

  test('calls: filters by server, tool, identity and decision; approval steps are listed', async () => {
    const get = async (q: string) =>
      JSON.parse((await http(`${base}/api/calls?${q}`, { headers: bearer(VIEWER) })).body) as { calls: Array<Record<string, unknown>>; last_seq: number };
    const all = await get('');
    assert.ok(all.last_seq >= 4);
    assert.deepEqual(
      all.calls.slice(0, 3).map((c) => [c.tool, c.status, c.detail]),
      [
        ['echo', 'allowed', 'ok'],
        ['delete_customer', 'denied', null],
        ['create_charge', 'approval', 'requested'],
      ],
    );
    assert.deepEqual(
      (await get('decision=denied')).calls.map((c) => c.tool),
      ['delete_customer'],
    );
    assert.deepEqual(
      (await get('decision=approval')).calls.map((c) => c.approval_id),
      ['ap_0000000000000000'],
    );
    assert.deepEqual(
      (await get('identity=alice&decision=allowed')).calls.map((c) => c.tool),
      ['echo'],
    );
    assert.equal((await get('server=other')).calls.length, 0);
    assert.equal((await http(`${base}/api/calls?decision=bogus`, { headers: bearer(VIEWER) })).status, 400);
  });

  test('live stream: a record appended to the audit store is pushed to the browser (and filters apply)', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/api/stream?tool=get_weather`, { headers: bearer(VIEWER), signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (pred: (t: string) => boolean, ms = 60_000) => {
      const end = Date.now() + ms;
      while (!pred(text)) {
        if (Date.now() > end) throw new Error(`stream did not deliver in time; got:\n${text}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended; got:\n${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    try {
      await until((t) => t.includes('event: hello'));
      audit.emit({ type: 'tool_call', ts: ts(), instance: 'gw-1', server: 'node', tool: 'echo', identity: 'zed', decision: 'allowed', outcome: 'ok' });
      audit.emit({
        type: 'tool_call',
        ts: ts(),
        instance: 'gw-1',
        server: 'node',
        tool: 'get_weather',
        identity: 'zed',
        decision: 'denied',
        reason: 'rate_limit',
        rule: 'weather quota',
        message: 'slow down',
      });
      await until((t) => t.includes('event: call'));
      const events = text.split('\n\n').filter((b) => b.includes('event: call'));
      assert.equal(events.length, 1, text);
      const data = JSON.parse(
        events[0]!
          .split('\n')
          .find((l) => l.startsWith('data: '))!
          .slice(6),
      ) as Record<string, unknown>;
      assert.equal(data.tool, 'get_weather');
      assert.equal(data.status, 'denied');
      assert.equal(data.identity, 'zed');
      assert.match(events[0]!, /^id: \d+$/m);
    } finally {
      ac.abort();
    }
  });

  test('stats, status, catalogue (risk class and rules), counters (per grant, with quotas)', async () => {
    const stats = JSON.parse((await http(`${base}/api/stats?range=15`, { headers: bearer(VIEWER) })).body);
    assert.equal(stats.bucket_minutes, 1);
    assert.equal(stats.buckets.length, 15);
    assert.ok(stats.totals.calls >= 2);
    assert.ok(stats.totals.denied >= 1);
    assert.ok(stats.totals.approvals >= 1);

    const status = JSON.parse((await http(`${base}/api/status`, { headers: bearer(VIEWER) })).body);
    assert.equal(status.instances[0].instance, 'gw-1');

    const cat = JSON.parse((await http(`${base}/api/catalogue`, { headers: bearer(VIEWER) })).body) as { servers: Array<Record<string, any>> };
    assert.equal(cat.servers.length, 1);
    const srv = cat.servers[0]!;
    assert.equal(srv.server, 'node demo.js');
    assert.match(srv.policy_file, /policy\.yaml$/);
    const tools = Object.fromEntries((srv.tools as Array<Record<string, any>>).map((t) => [t.name, t]));
    assert.equal(tools.create_charge.category, 'Financial');
    assert.ok(tools.create_charge.confidence > 0 && tools.create_charge.confidence <= 1);
    // The tool's catalogue page: the rule scan would write (both forms), attacks, controls.
    assert.match(tools.create_charge.page.rule.yaml, /^"create_charge":\n  rules:\n/);
    assert.equal(tools.create_charge.page.rule.json.require_approval[0].name, 'financial: requires human approval');
    assert.ok(tools.create_charge.page.attack_patterns.some((a: { name: string }) => a.name === 'Amount manipulation'));
    assert.match(tools.create_charge.page.how_to.approval, /action: require_approval/);
    assert.equal(tools.create_charge.policy.rules[0].action, 'require_approval');
    assert.equal(tools.create_charge.policy.rules[0].pointer, 'tools/create_charge/rules/0');
    assert.deepEqual(tools.create_charge.policy.rules[0].conditions, ['args.amount gt 1000']);
    assert.equal(tools.get_weather.category, 'Read');
    assert.equal(tools.get_weather.policy.rules[0].counter.limit, 5);
    assert.equal(tools.admin_reset.policy.visibility, 'hidden');

    const counters = JSON.parse((await http(`${base}/api/counters`, { headers: bearer(VIEWER) })).body) as { counters: Array<Record<string, any>> };
    const byKey = Object.fromEntries(counters.counters.map((c) => [c.key, c]));
    assert.equal(byKey['get_weather._rate_minute'].value, 2);
    assert.equal(byKey['get_weather._rate_minute'].limit, 5);
    assert.equal(byKey['get_weather._rate_minute'].window, 'minute');
    assert.equal(byKey['x.spend|identity=alice'].grant, 'alice');
    assert.equal(byKey['x.spend|identity=alice'].window, 'day');
  });

  test("catalogue: each tool's risk class links to the attack library's pages, which the dashboard serves", async () => {
    const cat = JSON.parse((await http(`${base}/api/catalogue`, { headers: bearer(VIEWER) })).body) as { servers: Array<Record<string, any>> };
    const tools = Object.fromEntries((cat.servers[0]!.tools as Array<Record<string, any>>).map((t) => [t.name, t]));
    const pages = (tool: string) => tools[tool].page.attack_pages as Array<{ title: string; href: string }>;
    // Financial -> destructive and financial calls first; Read -> secrets in results first; rug pulls for every tool.
    assert.deepEqual(pages('create_charge')[0], { title: 'Destructive and financial calls', href: 'static/attacks/destructive-and-financial-calls.md' });
    assert.equal(pages('get_weather')[0]!.href, 'static/attacks/secrets-in-results.md');
    for (const t of Object.keys(tools))
      assert.ok(
        pages(t).some((p) => p.href === 'static/attacks/rug-pulls.md'),
        t,
      );
    // The link resolves: the page itself, as text, under the dashboard.
    const page = await http(`${base}/${pages('create_charge')[0]!.href}`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/plain; charset=utf-8/);
    assert.match(page.body, /^# Destructive and financial calls\n/);
    assert.equal((await http(`${base}/static/attacks/..%2fapp.js`)).status, 404);
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
