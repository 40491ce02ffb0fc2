// The hook client against a real local HTTP server (node:http on port 0):
// validating and mutating answers, the signature, fail-closed on garbage,
// errors and slowness, fail_open, the circuit breaker (on a controlled clock)
// and the bound on calls in flight.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookSignature } from '../approval/webhook.js';
import { compileHooks, type RawHook } from '../policy/hooks.js';
import { HookRunner } from './runner.js';

type Handler = (body: any, req: IncomingMessage, res: ServerResponse) => void;

/** A webhook receiver whose answer each test sets; counts and keeps what it received. */
async function receiver() {
  let handler: Handler = (_b, _q, res) => res.end('{"valid":true}');
  const got: Array<{ body: any; raw: string; headers: IncomingMessage['headers'] }> = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      got.push({ body, raw, headers: req.headers });
      handler(body, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  after(async () => {
    for (const r of held) r.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return {
    url,
    got,
    answer(h: Handler) {
      handler = h;
    },
    json(v: unknown) {
      handler = (_b, _q, res) => res.end(JSON.stringify(v));
    },
    /** Never answer (until the test ends). */
    hold() {
      handler = (_b, _q, res) => held.push(res);
    },
  };
}

const one = (h: Partial<RawHook> & { url?: string }) => compileHooks([{ name: 'h', type: 'validation', ...h } as RawHook]).list;
const ctx = { tool: 'write_note', session: 's1', identity: 'alice' };

test('validating webhook: allow passes, a denial carries its message; the body is the interceptor/invoke shape', async () => {
  const r = await receiver();
  const runner = new HookRunner();
  r.json({ valid: true });
  const ok = await runner.request(one({ url: r.url }), { body: 'hi' }, ctx);
  assert.equal(ok.ok, true);
  assert.equal(ok.changed, false);
  assert.deepEqual(
    ok.records.map((x) => x.hook_outcome),
    ['allowed'],
  );
  const sent = r.got[0]!.body;
  assert.deepEqual(
    { name: sent.name, event: sent.event, phase: sent.phase, payload: sent.payload, session: sent.context.sessionId, principal: sent.context.principal },
    { name: 'h', event: 'tools/call', phase: 'request', payload: { name: 'write_note', arguments: { body: 'hi' } }, session: 's1', principal: 'alice' },
  );
  r.json({ valid: false, severity: 'error', messages: [{ message: 'no notes on Sundays', severity: 'error' }] });
  const no = await runner.request(one({ url: r.url }), { body: 'hi' }, ctx);
  assert.equal(no.ok, false);
  assert.match(no.message!, /denied by hook "h": no notes on Sundays/);
  assert.equal(no.records[0]!.hook_outcome, 'denied');
});

test('signed: X-Toolgate-Signature is the HMAC of "<timestamp>.<body>" with the secret from secret_env; a missing secret fails closed', async () => {
  const r = await receiver();
  const runner = new HookRunner({ env: { HOOK_SECRET: 's3cret-value' } });
  r.json({ valid: true });
  const out = await runner.request(one({ url: r.url, secret_env: 'HOOK_SECRET' }), { a: 1 }, ctx);
  assert.equal(out.ok, true);
  const h = r.got[0]!.headers;
  assert.equal(h['x-toolgate-signature'], webhookSignature('s3cret-value', Number(h['x-toolgate-timestamp']), r.got[0]!.raw));
  const unset = await new HookRunner({ env: {} }).request(one({ url: r.url, secret_env: 'HOOK_SECRET' }), { a: 1 }, ctx);
  assert.equal(unset.ok, false);
  assert.match(unset.message!, /secret_env HOOK_SECRET is not set/);
  assert.equal(r.got.length, 1, 'nothing is sent unsigned');
});

test('mutating webhook: changed arguments come back with the changed paths (never values) recorded; renaming the tool is a failure', async () => {
  const r = await receiver();
  const runner = new HookRunner();
  r.answer((b, _q, res) => res.end(JSON.stringify({ modified: true, payload: { ...b.payload, arguments: { ...b.payload.arguments, path: '/etc/passwd' } } })));
  const out = await runner.request(one({ type: 'mutation', url: r.url }), { path: '/srv/data/a', n: 1 }, ctx);
  assert.equal(out.ok, true);
  assert.equal(out.changed, true);
  assert.deepEqual(out.payload, { name: 'write_note', arguments: { path: '/etc/passwd', n: 1 } });
  assert.deepEqual(out.records[0]!.changed_paths, ['arguments.path']);
  assert.ok(!JSON.stringify(out.records).includes('/etc/passwd'));
  r.answer((b, _q, res) => res.end(JSON.stringify({ modified: true, payload: { ...b.payload, name: 'delete_everything' } })));
  const renamed = await runner.request(one({ type: 'mutation', url: r.url }), { n: 1 }, ctx);
  assert.equal(renamed.ok, false);
  assert.match(renamed.message!, /may not change the tool name/);
});

test('garbage, a wrong shape, an HTTP error and a redirect are failed hooks: denied by default, skipped (and recorded) with fail_open', async () => {
  const r = await receiver();
  const answers: Handler[] = [
    (_b, _q, res) => res.end('<html>oops</html>'),
    (_b, _q, res) => res.end('{"allow": "yes"}'),
    (_b, _q, res) => {
      res.statusCode = 500;
      res.end('{"valid":true}');
    },
    (_b, _q, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'http://127.0.0.1:1/elsewhere');
      res.end();
    },
  ];
  const expected = [/not JSON/, /not a validation result/, /HTTP 500/, /unreachable \(.*redirect.*\)/];
  for (const [i, a] of answers.entries()) {
    r.answer(a);
    const closed = await new HookRunner().request(one({ url: r.url }), {}, ctx);
    assert.equal(closed.ok, false, `answer ${i}`);
    assert.match(closed.records[0]!.message!, expected[i]!);
    assert.match(closed.message!, /denied \(fail_open is false\)/);
    const open = await new HookRunner().request(one({ url: r.url, fail_open: true }), {}, ctx);
    assert.equal(open.ok, true, `answer ${i} with fail_open`);
    assert.equal(open.records[0]!.hook_outcome, 'failed_open');
  }
});

test('too slow: no answer within the timeout is a failure (fail-closed)', async () => {
  const r = await receiver();
  r.hold();
  const out = await new HookRunner().request(one({ url: r.url, timeout: '150ms' }), {}, ctx);
  assert.equal(out.ok, false);
  assert.match(out.message!, /no answer within 150ms/);
});

test('circuit breaker: after `failures` consecutive failures the hook is not called until reset; then one trial closes it', async () => {
  const r = await receiver();
  let now = 1_000_000;
  const runner = new HookRunner({ clock: () => now });
  const hooks = one({ url: r.url, breaker: { failures: 2, reset: '30s' } });
  r.answer((_b, _q, res) => res.end('garbage'));
  for (let i = 0; i < 2; i++) assert.equal((await runner.request(hooks, {}, ctx)).ok, false);
  assert.equal(r.got.length, 2);
  const refused = await runner.request(hooks, {}, ctx);
  assert.equal(refused.ok, false);
  assert.match(refused.message!, /circuit open after 2 consecutive failures/);
  assert.equal(r.got.length, 2, 'an open circuit does not call the hook');
  now += 30_000;
  r.json({ valid: true });
  assert.equal((await runner.request(hooks, {}, ctx)).ok, true, 'the trial call goes through');
  assert.equal(r.got.length, 3);
  assert.equal((await runner.request(hooks, {}, ctx)).ok, true, 'closed again');
});

test('bounded concurrency: with max_concurrency 1, a second call waits for the slot and fails at its timeout; the hook saw one call', async () => {
  const r = await receiver();
  r.hold();
  const runner = new HookRunner();
  // One hook (same slots: the timeout is not part of its identity); the second caller gives up
  // long before the first frees the slot, so it can never reach the hook.
  const first = runner.request(one({ url: r.url, max_concurrency: 1, timeout: '2s' }), {}, ctx);
  while (r.got.length === 0) await new Promise((res) => setTimeout(res, 10));
  const second = await runner.request(one({ url: r.url, max_concurrency: 1, timeout: '100ms' }), {}, { ...ctx, session: 's2' });
  assert.equal(second.ok, false);
  assert.match(second.message!, /busy|no answer within/);
  assert.equal((await first).ok, false);
  assert.equal(r.got.length, 1);
});

test("a hook's message is bounded and has secrets redacted before it reaches the agent or the audit", async () => {
  const r = await receiver();
  r.json({ valid: false, messages: [{ message: 'found AKIAZ7Q3MXR5T2WVN4PB in the body' }] });
  const out = await new HookRunner().request(one({ url: r.url }), {}, ctx);
  assert.equal(out.ok, false);
  assert.ok(!out.message!.includes('AKIAZ7Q3MXR5T2WVN4PB'), out.message);
  assert.ok(!JSON.stringify(out.records).includes('AKIAZ7Q3MXR5T2WVN4PB'));
});

test('audit mode: a denial and a mutation are recorded, neither applied', async () => {
  const r = await receiver();
  r.json({ valid: false, messages: [{ message: 'no' }] });
  const v = await new HookRunner().request(one({ url: r.url, mode: 'audit' }), { a: 1 }, ctx);
  assert.equal(v.ok, true);
  assert.equal(v.records[0]!.hook_outcome, 'would_deny');
  r.json({ modified: true, payload: { name: 'write_note', arguments: { a: 2 } } });
  const m = await new HookRunner().request(one({ type: 'mutation', url: r.url, mode: 'audit' }), { a: 1 }, ctx);
  assert.equal(m.ok, true);
  assert.equal(m.changed, false);
  assert.deepEqual(m.payload, { name: 'write_note', arguments: { a: 1 } });
  assert.equal(m.records[0]!.hook_outcome, 'would_mutate');
});
