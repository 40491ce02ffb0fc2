// The data the dashboard serves: approvals (list, approve, deny, CSRF), calls and their filters, the
// live stream, stats, status, catalogue and counters (access and routes: server.test.ts).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalStore } from '../approval/index.js';
import type { AuditLog } from '../audit/writer.js';
import { ADMIN, VIEWER, bearer, http, openDashboardFixture, ts, type DashboardFixture } from '../../test/support/dashboard.js';

describe('dashboard API', () => {
  let fx: DashboardFixture;
  let audit: AuditLog;
  let approvals: ApprovalStore;
  let base: string;
  let origin: string;

  before(async () => {
    fx = await openDashboardFixture();
    ({ audit, approvals, base, origin } = fx);
  });

  after(() => fx.close());

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
