import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { eventToFields } from '../audit/index.js';
import type { AuditRecord } from '../audit/index.js';
import { originAllowed, parseCookies, roleOfKey, SessionStore } from './auth.js';
import { callRow, type CallRow } from './calls.js';
import { startupFor } from './catalogue.js';
import { splitCounterKey, windowName } from './counters.js';
import { computeStats } from './stats.js';

function rec(e: Parameters<typeof eventToFields>[0], seq = 1): AuditRecord {
  return { ...eventToFields(e), seq, instance: 'i', n: seq, alg: 'sha256', prev_hash: '0', hash: '1' };
}

test('callRow: outcomes are allowed calls, pre-forward decisions are skipped, approval steps keep their step', () => {
  const ts = '2026-01-01T00:00:00.000Z';
  assert.equal(callRow(rec({ type: 'tool_call', ts, instance: 'i', tool: 't', decision: 'allowed', outcome: 'tool_error' }))!.detail, 'tool_error');
  assert.equal(callRow(rec({ type: 'tool_call', ts, instance: 'i', tool: 't', decision: 'allowed', stage: 'decision' })), undefined);
  assert.equal(callRow(rec({ type: 'tool_call', ts, instance: 'i', tool: 't', decision: 'denied' }))!.status, 'denied');
  const apRec = rec({ type: 'approval_denied', ts, instance: 'i', tool: 't', approval_id: 'ap_1', decided_by: 'alice' });
  // The audit store keeps the step as the decision (`audit query --decision approval_denied`) and the type in data.
  assert.equal(apRec.decision, 'approval_denied');
  assert.equal(JSON.parse(apRec.data!).type, 'approval_denied');
  const ap = callRow(apRec)!;
  assert.deepEqual([ap.status, ap.detail, ap.approval_id, ap.decided_by], ['approval', 'denied', 'ap_1', 'alice']);
  assert.equal(callRow(rec({ type: 'startup', ts, instance: 'i' })), undefined);
  assert.equal(callRow(rec({ type: 'tool_pin', ts, instance: 'i', tool: 't', status: 'failure' })), undefined);
});

test('computeStats: buckets, calls per minute and deny rate', () => {
  const now = Date.parse('2026-01-01T01:00:30.000Z');
  const row = (ts: string, status: string, detail: string | null = null) => ({ ts, status, detail }) as CallRow;
  const rows = [
    row('2026-01-01T01:00:10.000Z', 'allowed'),
    row('2026-01-01T01:00:11.000Z', 'denied'),
    row('2026-01-01T00:59:00.000Z', 'error'),
    row('2026-01-01T00:59:01.000Z', 'approval', 'requested'),
    row('2026-01-01T00:59:02.000Z', 'approval', 'approved'),
    row('2025-12-31T00:00:00.000Z', 'allowed'),
  ];
  const s = computeStats(rows, now, 15);
  assert.equal(s.buckets.length, 15);
  assert.equal(s.buckets.at(-1)!.t, '2026-01-01T01:00:00.000Z');
  assert.deepEqual(
    { ...s.buckets.at(-1)! },
    { t: '2026-01-01T01:00:00.000Z', calls: 2, allowed: 1, denied: 1, errors: 0, approvals: 0, per_minute: 2, deny_rate: 0.5 },
  );
  assert.equal(s.buckets.at(-2)!.errors, 1);
  assert.equal(s.buckets.at(-2)!.approvals, 1);
  assert.equal(s.totals.calls, 3);
  assert.equal(s.totals.deny_rate, 1 / 3);
  const day = computeStats(rows, now, 1440);
  assert.equal(day.bucket_minutes, 15);
  assert.equal(day.buckets.length, 96);
  assert.equal(day.buckets.at(-1)!.per_minute, Math.round((2 / 15) * 100) / 100);
});

test('counter keys and windows', () => {
  assert.deepEqual(splitCounterKey('create_refund.daily|identity=alice'), {
    counter: 'create_refund.daily',
    partition: 'identity',
    grant: 'alice',
    session: null,
  });
  assert.deepEqual(splitCounterKey('t.n|session=abc'), { counter: 't.n', partition: 'session', grant: null, session: 'abc' });
  assert.deepEqual(splitCounterKey('get_weather._rate_minute'), { counter: 'get_weather._rate_minute', partition: 'global', grant: null, session: null });
  assert.equal(windowName(0, 60_000), 'minute');
  assert.equal(windowName(0, 3_600_000), 'hour');
  assert.equal(windowName(0, 86_400_000), 'day');
});

test('startupFor: the pin server name, else the command, else the only policy', () => {
  const s = (server: string | null, pinServer: string | null, config: string) => ({ server, pinServer, config, policyHash: null, ts: '' });
  const list = [s('node', 'node a.js', '/a.yaml'), s('python', null, '/b.yaml')];
  assert.equal(startupFor('node a.js', list)!.config, '/a.yaml');
  assert.equal(startupFor('/usr/bin/python srv.py', list)!.config, '/b.yaml');
  assert.equal(startupFor('other', list), undefined);
  assert.equal(startupFor('other', [s('x', null, '/only.yaml')])!.config, '/only.yaml');
});

test('auth helpers: roles, cookies, sessions, origin checks', () => {
  const keys = { adminKey: 'a'.repeat(16), viewerKeys: ['v'.repeat(16)] };
  assert.equal(roleOfKey(keys, 'a'.repeat(16)), 'admin');
  assert.equal(roleOfKey(keys, 'v'.repeat(16)), 'viewer');
  assert.equal(roleOfKey(keys, 'x'.repeat(16)), undefined);
  assert.deepEqual(
    [...parseCookies('a=1; b=x%20y; a=2')],
    [
      ['a', '1'],
      ['b', 'x y'],
    ],
  );

  let now = 0;
  const sessions = new SessionStore(1000, () => now);
  const { id } = sessions.create('admin');
  assert.equal(sessions.get(id)!.role, 'admin');
  now = 1000;
  assert.equal(sessions.get(id), undefined);

  const req = (headers: Record<string, string>) => ({ headers: { host: '127.0.0.1:8788', ...headers } }) as unknown as IncomingMessage;
  assert.equal(originAllowed(req({ origin: 'http://127.0.0.1:8788' }), { bearer: false }), true);
  assert.equal(originAllowed(req({ origin: 'http://127.0.0.1:9999' }), { bearer: false }), false);
  assert.equal(originAllowed(req({ origin: 'null' }), { bearer: true }), false);
  assert.equal(originAllowed(req({ referer: 'http://127.0.0.1:8788/#/approvals' }), { bearer: false }), true);
  assert.equal(originAllowed(req({}), { bearer: false }), false);
  assert.equal(originAllowed(req({}), { bearer: true }), true);
  assert.equal(originAllowed(req({ origin: 'https://admin.example' }), { bearer: false, allowedOrigins: ['https://admin.example'] }), true);
  assert.equal(originAllowed(req({ origin: 'http://127.0.0.1:8788', 'sec-fetch-site': 'cross-site' }), { bearer: false }), false);
  // The origin must be the Host header's very host and port (http's checkOrigin): another name of the machine, a look-alike
  // host, another scheme or a Referer from elsewhere is refused, with or without a bearer key.
  assert.equal(originAllowed(req({ origin: 'http://localhost:8788' }), { bearer: true }), false);
  assert.equal(originAllowed(req({ origin: 'http://127.0.0.1.evil.example:8788' }), { bearer: true }), false);
  assert.equal(originAllowed(req({ origin: 'ftp://127.0.0.1:8788' }), { bearer: true }), false);
  assert.equal(originAllowed(req({ referer: 'http://evil.example/page' }), { bearer: true }), false);
  assert.equal(originAllowed({ headers: { origin: 'http://127.0.0.1:8788' } } as unknown as IncomingMessage, { bearer: true }), false);
  assert.equal(originAllowed(req({ origin: 'https://admin.example' }), { bearer: false, allowedOrigins: ['https://other.example'] }), false);
});
