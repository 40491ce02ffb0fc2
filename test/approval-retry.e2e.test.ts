// Intercept's retry model end to end: the real toolgate binary, the official SDK
// client, the demo server, approvals.db shared by the CLI and two gateways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { REDIS_URL, deletePrefix, probeRedis, skipUnless, uniquePrefix } from './support/redis.js';
import { until } from './support/until.js';
import { connectClient, demoServer, filesContaining, readEvents, runToolgate as toolgate, textOf, writePolicy } from './helpers.js';

const POLICY = `version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a human"
        action: require_approval
        approval_timeout: 10m
        on_deny: "Charges are approved by finance"
  fail:
    rules:
      - name: "fail needs a human"
        action: require_approval
        approval_timeout: 10m
`;

/** The -32003 refusal of a call (throws when the call was not refused that way). */
async function refusal(client: Client, name: string, args: Record<string, unknown>): Promise<{ id: string; message: string; data: Record<string, unknown> }> {
  try {
    const r = await client.callTool({ name, arguments: args });
    assert.fail(`expected -32003, got a result: ${textOf(r)}`);
  } catch (err) {
    if (!(err instanceof McpError)) throw err;
    assert.equal(err.code, -32003, err.message);
    const data = err.data as Record<string, unknown>;
    return { id: data.approval_id as string, message: err.message, data };
  }
}

test('retry model: refused at once with an apr_ id -> approved from the CLI -> the identical retry passes once -> the next is refused; other arguments are a new request', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const args = { amount: 5000, currency: 'usd' };
    const first = await refusal(client, 'create_charge', args);
    assert.match(first.id, /^apr_[0-9a-f]{16}$/);
    assert.match(first.message, /\[INTERCEPT APPROVAL REQUIRED\] Charges are approved by finance\. /);
    assert.match(first.message, new RegExp(`Ask a human to approve ${first.id} .*then retry the same call`));
    assert.equal(first.data.retryable, true);
    assert.equal(first.data.tool, 'create_charge');
    assert.match(String(first.data.human_instructions), new RegExp(`toolgate approvals approve ${first.id}`));
    // Identical before approval: the same request. Keys in another order are the same call.
    assert.equal((await refusal(client, 'create_charge', { currency: 'usd', amount: 5000 })).id, first.id);
    const other = await refusal(client, 'create_charge', { amount: 5001, currency: 'usd' });
    assert.notEqual(other.id, first.id, 'different arguments: a new request');

    const approved = await toolgate('approvals', 'approve', first.id, '--state-dir', stateDir, '--as', 'finance');
    assert.equal(approved.code, 0, approved.stderr);
    const ok = await client.callTool({ name: 'create_charge', arguments: args });
    assert.equal(textOf(ok), 'Charged 50.00 USD.');
    const again = await refusal(client, 'create_charge', args);
    assert.notEqual(again.id, first.id, 'a consumed approval is not used twice: a new request');
    const late = await toolgate('approvals', 'approve', first.id, '--state-dir', stateDir);
    assert.notEqual(late.code, 0, 'a consumed approval cannot be approved again');
    const shown = JSON.parse((await toolgate('approvals', 'show', first.id, '--json', '--state-dir', stateDir)).stdout) as Record<string, unknown>;
    assert.equal(shown.status, 'approved');
    assert.ok(shown.consumed_at, 'shown as used');

    // Denied and expired requests cannot be approved, and their retry is a new request.
    const denied = await toolgate('approvals', 'deny', other.id, '--reason', 'no', '--state-dir', stateDir);
    assert.equal(denied.code, 0, denied.stderr);
    assert.notEqual((await toolgate('approvals', 'approve', other.id, '--state-dir', stateDir)).code, 0);
    const afterDenial = await refusal(client, 'create_charge', { amount: 5001, currency: 'usd' });
    assert.notEqual(afterDenial.id, other.id);
    assert.match(afterDenial.message, new RegExp(`The previous request ${other.id} was denied by \\S+: no\\. `), 'the agent learns the decision');
    const expired = await toolgate('approvals', 'expire', again.id, '--state-dir', stateDir);
    assert.equal(expired.code, 0, expired.stderr);
    assert.notEqual((await toolgate('approvals', 'approve', again.id, '--state-dir', stateDir)).code, 0);
    assert.notEqual((await refusal(client, 'create_charge', args)).id, again.id);
  } finally {
    await client.close();
  }
  const events = readEvents(stateDir);
  const types = new Set(events.map((e) => e.type));
  for (const t of ['approval_requested', 'approval_reused', 'approval_approved', 'approval_denied', 'approval_expired', 'approval_consumed'])
    assert.ok(types.has(t), `${t} in the event log`);
  assert.equal(
    events.filter((e) => e.type === 'tool_call' && e.tool === 'create_charge' && e.decision === 'allowed' && e.stage === undefined).length,
    1,
    'one execution',
  );
});

test('retry model: a failed upstream call gives the approval back (the identical retry may pass again)', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const { id } = await refusal(client, 'fail', {});
    assert.equal((await toolgate('approvals', 'approve', id, '--state-dir', stateDir)).code, 0);
    const failed = await client.callTool({ name: 'fail', arguments: {} });
    assert.equal(failed.isError, true, 'the server failed the call');
    // Positive control for the rollback: the identical retry reaches the server again (and fails again).
    let second;
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      try {
        second = await client.callTool({ name: 'fail', arguments: {} });
        break;
      } catch (err) {
        if (!(err instanceof McpError) || err.code !== -32003) throw err;
        await new Promise((r) => setTimeout(r, 20)); // the rollback lands just after the answer
      }
    }
    assert.equal(second?.isError, true, 'the approval was given back');
  } finally {
    await client.close();
  }
  assert.ok(readEvents(stateDir).filter((e) => e.type === 'approval_rolled_back' && e.approval_id !== undefined).length >= 1);
});

test('exactly once across two gateway processes on one state dir, with concurrent retries', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const a = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  const b = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const args = { amount: 700, currency: 'eur' };
    const { id } = await refusal(a.client, 'create_charge', args);
    assert.equal((await refusal(b.client, 'create_charge', args)).id, id, 'the other gateway shares the request');
    assert.equal((await toolgate('approvals', 'approve', id, '--state-dir', stateDir)).code, 0);
    const attempts = [a.client, b.client].flatMap((c) =>
      Array.from({ length: 6 }, () =>
        c.callTool({ name: 'create_charge', arguments: args }).then(
          (r) => textOf(r),
          (err: unknown) => (err instanceof McpError && err.code === -32003 ? 'refused' : `error: ${String(err)}`),
        ),
      ),
    );
    const results = await Promise.all(attempts);
    assert.equal(results.filter((r) => r === 'Charged 7.00 EUR.').length, 1, results.join('\n'));
    assert.equal(results.filter((r) => r === 'refused').length, 11, results.join('\n'));
  } finally {
    await a.client.close();
    await b.client.close();
  }
});

const skipRedis = skipUnless('Redis', await probeRedis(REDIS_URL));

test('exactly once across two gateway processes on Redis (--state-dsn), with concurrent retries; approved from the CLI', { skip: skipRedis }, async () => {
  const prefix = uniquePrefix('e2e-retry');
  const redis = ['--state-dsn', REDIS_URL, '--state-prefix', prefix];
  const { policy, stateDir } = writePolicy(POLICY);
  const { stateDir: otherDir } = writePolicy(POLICY); // separate state dirs: only Redis is shared
  const a = await connectClient(policy, stateDir, [process.execPath, demoServer], { extra: redis });
  const b = await connectClient(policy, otherDir, [process.execPath, demoServer], { extra: redis });
  try {
    const args = { amount: 300, currency: 'gbp' };
    const { id } = await refusal(a.client, 'create_charge', args);
    assert.equal((await refusal(b.client, 'create_charge', args)).id, id, 'the other instance shares the request');
    const ok = await toolgate('approvals', 'approve', id, ...redis);
    assert.equal(ok.code, 0, ok.stderr);
    const attempts = [a.client, b.client].flatMap((c) =>
      Array.from({ length: 6 }, () =>
        c.callTool({ name: 'create_charge', arguments: args }).then(
          (r) => textOf(r),
          (err: unknown) => (err instanceof McpError && err.code === -32003 ? 'refused' : `error: ${String(err)}`),
        ),
      ),
    );
    const results = await Promise.all(attempts);
    assert.equal(results.filter((r) => r === 'Charged 3.00 GBP.').length, 1, results.join('\n'));
    assert.equal(results.filter((r) => r === 'refused').length, 11, results.join('\n'));
    // A failed call gives the approval back on Redis too.
    const f = await refusal(b.client, 'fail', {});
    assert.equal((await toolgate('approvals', 'approve', f.id, ...redis)).code, 0);
    assert.equal((await b.client.callTool({ name: 'fail', arguments: {} })).isError, true);
    let back = false;
    for (const end = Date.now() + 60_000; Date.now() < end && !back; ) {
      const shown = JSON.parse((await toolgate('approvals', 'show', f.id, '--json', ...redis)).stdout) as Record<string, unknown>;
      back = shown.status === 'approved' && shown.consumed_at === null;
      if (!back) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(back, 'rolled back: approved and unused again');
  } finally {
    await a.client.close();
    await b.client.close();
    await deletePrefix(REDIS_URL, prefix);
  }
});

test('hold model: a held call whose client timed out stays pending; approved later, the identical retry passes once', async () => {
  const { policy, stateDir } = writePolicy(`version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a human"
        action: require_approval
        approval: { timeout: 10m }
`);
  const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
  try {
    const args = { amount: 900, currency: 'usd' };
    const listed = async () => {
      const r = await toolgate('approvals', 'list', '--json', '--state-dir', stateDir);
      return r.stdout.trim() ? (JSON.parse(r.stdout.trim().split('\n')[0]!) as Record<string, unknown>) : undefined;
    };
    // The client gives up once the call is held (a fixed 300 ms timeout could fire before the
    // gateway had held it on a loaded machine): the SDK's timeout and an abort both cancel the call.
    const giveUp = new AbortController();
    const held = client.callTool({ name: 'create_charge', arguments: args }, undefined, { signal: giveUp.signal, timeout: 600_000 });
    await until('the call is held', async () => (await listed())?.status === 'pending', 60_000);
    giveUp.abort(new Error('timed out'));
    await assert.rejects(held, /timed out/i);
    let pending: Record<string, unknown> | undefined;
    await until(
      'the request stays, detached from the gone waiter (retry model)',
      async () => {
        const rec = await listed();
        if (rec?.model === 'retry') pending = rec;
        return pending !== undefined;
      },
      60_000,
    );
    assert.ok(pending, 'the request stays (detached from the gone waiter)');
    assert.equal(pending.status, 'pending', 'not abandoned');
    assert.equal((await toolgate('approvals', 'approve', String(pending.id), '--state-dir', stateDir)).code, 0);
    assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: args })), 'Charged 9.00 USD.');
    // Used once: the next identical call is held again (a new request), not passed.
    await assert.rejects(client.callTool({ name: 'create_charge', arguments: args }, undefined, { timeout: 300 }), /timed out/i);
  } finally {
    await client.close();
  }
});

/** The admin API's URL, from the gateway's stderr. */
async function adminUrl(transport: { stderr: import('node:stream').Stream | null }): Promise<string> {
  const stderr = transport.stderr as unknown as NodeJS.ReadableStream;
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no admin API line on stderr: ${text}`)), 60_000);
    stderr.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /toolgate admin API on (http:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}

test("Intercept's admin API (--enable-admin-api, loopback only): pending, pending/ID, approve/ID, deny/ID; the approved retry passes once", async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const { client, transport } = await connectClient(policy, stateDir, [process.execPath, demoServer], {
    extra: ['--enable-admin-api', '--admin-addr', '127.0.0.1:0'],
  });
  const base = await adminUrl(transport);
  try {
    const args = { amount: 1200, currency: 'usd' };
    const { id } = await refusal(client, 'create_charge', args);
    const pending = (await (await fetch(`${base}/pending`)).json()) as { approvals: Array<{ id: string }> };
    assert.deepEqual(
      pending.approvals.map((a) => a.id),
      [id],
    );
    assert.equal(((await (await fetch(`${base}/pending/${id}`)).json()) as { approval: { tool: string } }).approval.tool, 'create_charge');
    assert.equal((await fetch(`${base}/pending/apr_ffffffffffffffff`)).status, 404);
    assert.equal((await fetch(`${base}/approve/${id}`)).status, 405, 'GET cannot approve');
    assert.equal(
      (await fetch(`${base}/approve/${id}`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status,
      403,
      'a browser page cannot approve',
    );
    const ok = await fetch(`${base}/approve/${id}`, { method: 'POST', body: JSON.stringify({ reason: 'fine', by: 'ops' }) });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${base}/approve/${id}`, { method: 'POST' })).status, 409, 'decided once');
    assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: args })), 'Charged 12.00 USD.');
    const second = await refusal(client, 'create_charge', args);
    assert.notEqual(second.id, id);
    assert.equal((await fetch(`${base}/deny/${second.id}`, { method: 'POST', body: '{"reason":"no"}' })).status, 200);
    assert.notEqual((await refusal(client, 'create_charge', args)).id, second.id, 'a denied request is not reused');
  } finally {
    await client.close();
  }
  const bad = await toolgate('-c', policy, '--state-dir', stateDir, '--enable-admin-api', '--admin-addr', '0.0.0.0:9111', '--', process.execPath, demoServer);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--admin-addr must be a loopback address/);
});

test('approval webhooks: signed POST on approval_requested, verified by a real receiver; an unreachable receiver leaves an event and the call flow unaffected', async () => {
  const { createServer } = await import('node:http');
  const { createHmac, timingSafeEqual } = await import('node:crypto');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const secret = 'whsec-0123456789abcdef-approvals';
  const received: Array<{ body: Record<string, unknown>; verified: boolean }> = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = Number(req.headers['x-toolgate-timestamp']);
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-toolgate-signature'] ?? ''));
      const fresh = Math.abs(Date.now() / 1000 - ts) < 300;
      received.push({ body: JSON.parse(raw) as Record<string, unknown>, verified: fresh && got.length === expected.length && timingSafeEqual(got, expected) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const port = (receiver.address() as import('node:net').AddressInfo).port;
  const hooked = (url: string) => `${POLICY}approvals:\n  notify:\n    webhook:\n      url: "${url}"\n`;
  try {
    const { policy, stateDir, dir } = writePolicy(hooked(`http://127.0.0.1:${port}/hook`));
    const secretFile = join(dir, 'webhook.secret');
    writeFileSync(secretFile, `${secret}\n`);
    const { client, transport } = await connectClient(policy, stateDir, [process.execPath, demoServer], {
      extra: ['--approval-webhook-secret-file', secretFile],
    });
    let stderr = '';
    (transport.stderr as unknown as NodeJS.ReadableStream).on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const { id } = await refusal(client, 'create_charge', { amount: 1, currency: 'usd-secret-marker' });
      for (const end = Date.now() + 60_000; Date.now() < end && received.length === 0; ) await new Promise((r) => setTimeout(r, 25));
      assert.equal(received.length, 1);
      assert.equal(received[0]!.verified, true, 'the signature verifies with the shared secret');
      assert.equal(received[0]!.body.approval_id, id);
      assert.equal(received[0]!.body.tool, 'create_charge');
      assert.ok(!JSON.stringify(received[0]!.body).includes('usd-secret-marker'), 'never the arguments');
      await refusal(client, 'create_charge', { amount: 1, currency: 'usd-secret-marker' }); // reused: no second notification
    } finally {
      await client.close();
    }
    assert.equal(received.length, 1, 'one notification per request');
    assert.ok(!stderr.includes(secret), 'the secret is never logged');
    assert.ok(!filesHave(stateDir, secret), 'nor written to the state directory');

    // Unreachable receiver: the call is answered at once all the same, and the failure is an event.
    const down = writePolicy(hooked('http://127.0.0.1:1/hook'));
    const c2 = await connectClient(down.policy, down.stateDir, [process.execPath, demoServer]);
    try {
      await refusal(c2.client, 'create_charge', { amount: 2, currency: 'usd' });
      for (const end = Date.now() + 60_000; Date.now() < end && !readEvents(down.stateDir).some((e) => e.type === 'approval_webhook_failed'); )
        await new Promise((r) => setTimeout(r, 25));
      assert.ok(
        readEvents(down.stateDir).some((e) => e.type === 'approval_webhook_failed'),
        'the failed delivery is recorded',
      );
    } finally {
      await c2.client.close();
    }
  } finally {
    receiver.close();
  }
});

function filesHave(dir: string, needle: string): boolean {
  return filesContaining(dir, needle).length > 0;
}
