// Guards end to end (src/guards): a deliberately leaky server behind the real
// toolgate binary and the official SDK client. Secrets in a result are redacted
// or withheld by policy, never reach the audit log or the events, and a value
// read from one tool cannot be written out through another (taint).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { bin, connectClient, filesContaining, readEvents, runToolgate, textOf, writePolicy } from './helpers.js';
import { LEAKED } from './leaky-server.js';
import { until } from './support/until.js';

const leaky = (log: string) => [process.execPath, join(import.meta.dirname, 'leaky-server.js'), '--serve', `--log=${log}`];
const compact = (s: string) => s.replace(/ /g, '');

async function withGateway<T>(
  yaml: string,
  run: (c: Awaited<ReturnType<typeof connectClient>>['client'], dir: string, stateDir: string, log: string) => Promise<T>,
): Promise<T> {
  const { policy, stateDir, dir } = writePolicy(yaml);
  const log = join(dir, 'server-received.jsonl');
  const { client } = await connectClient(policy, stateDir, leaky(log));
  try {
    return await run(client, dir, stateDir, log);
  } finally {
    await client.close();
  }
}

/** Neither leaked value, nor its digits without spaces, is anywhere under `dir` (audit log, events, state). */
function assertNoLeakUnder(dir: string): void {
  for (const v of [LEAKED.aws, LEAKED.card, compact(LEAKED.card), LEAKED.iban]) assert.deepEqual(filesContaining(dir, v), [], `${v} was written to disk`);
}

/** The dashboard over `stateDir` shows the calls, and no leaked value in any of its API answers. */
async function assertNoLeakInDashboard(stateDir: string): Promise<void> {
  const key = 'guards-e2e-admin-key-0123456789';
  const dash = spawn(process.execPath, [bin, 'dashboard', '--state-dir', stateDir, '--port', '0', '--admin-key', key], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let err = '';
    const url = await new Promise<string>((resolve, reject) => {
      dash.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /toolgate dashboard on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      dash.once('exit', (code) => reject(new Error(`the dashboard exited (${code}): ${err}`)));
    });
    const bodies: string[] = [];
    for (const p of ['api/calls', 'api/stats?range=60', 'api/status', 'api/catalogue', 'api/counters', 'api/approvals']) {
      const res = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200, p);
      bodies.push(await res.text());
    }
    assert.match(bodies[0]!, /"tool":"read_env"/, 'the dashboard shows the call');
    for (const v of [LEAKED.aws, LEAKED.card, compact(LEAKED.card), LEAKED.iban]) assert.ok(!bodies.join('\n').includes(v), `${v} is in the dashboard`);
  } finally {
    dash.kill();
  }
}

async function eventsWith(stateDir: string, type: string, n = 1): Promise<Array<Record<string, any>>> {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    const got = readEvents(stateDir).filter((e) => e.type === type);
    if (got.length >= n) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  return readEvents(stateDir).filter((e) => e.type === type);
}

test('redact: the result reaches the agent with the AWS key, card number and IBAN replaced; no value in audit or events', async () => {
  await withGateway(
    'version: "1"\ndefault: allow\ntools: {}\naudit: { capture_args: true }\nguards:\n  detect:\n    action: redact\n',
    async (client, dir, stateDir) => {
      const r = await client.callTool({ name: 'read_env', arguments: {} });
      const text = textOf(r);
      assert.match(text, /\[REDACTED:aws_key\]/);
      assert.match(text, /\[REDACTED:card_number\]/);
      assert.match(text, /\[REDACTED:iban\]/);
      assert.match(text, /REGION=eu-west-1/, 'the rest of the result stays');
      const all = JSON.stringify(r);
      for (const v of [LEAKED.aws, LEAKED.card, compact(LEAKED.card), LEAKED.iban]) assert.ok(!all.includes(v), `${v} reached the agent`);
      const guard = await eventsWith(stateDir, 'tool_guard');
      assert.equal(guard[0]!.action, 'redact');
      assert.equal(guard[0]!.kinds.aws_key >= 1, true);
      assert.equal(guard[0]!.kinds.card_number, 2, 'the text and the numeric structuredContent field');
      // Other numbers of structuredContent stay numbers; only the card number became text.
      assert.deepEqual(r.structuredContent, { key: '[REDACTED:aws_key]', card: '[REDACTED:card_number]', account: 7, balance: 1234.5 });
      await eventsWith(stateDir, 'tool_call');
      assertNoLeakUnder(dir);
      await assertNoLeakInDashboard(stateDir);
    },
  );
});

test('block: the result never reaches the agent (an error result instead); audit: passed on, recorded', async () => {
  await withGateway(
    'version: "1"\ndefault: allow\ntools: {}\nguards:\n  detect:\n    action: block\n    tools:\n      write_note: { action: audit }\n',
    async (client, dir, stateDir) => {
      const r = await client.callTool({ name: 'read_env', arguments: {} });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /withheld by guards\.detect \(action: block\)/);
      const all = JSON.stringify(r);
      for (const v of [LEAKED.aws, compact(LEAKED.card)]) assert.ok(!all.includes(v));
      // Per-tool override: write_note is only audited, so its call goes through with the key.
      const w = await client.callTool({ name: 'write_note', arguments: { body: `key ${LEAKED.aws}` } });
      assert.equal(textOf(w), 'noted');
      const guard = await eventsWith(stateDir, 'tool_guard', 2);
      assert.deepEqual(
        guard.map((g) => `${g.target}:${g.action}`),
        ['results:block', 'arguments:audit'],
      );
      assertNoLeakUnder(join(dir, 'state'));
      await assertNoLeakInDashboard(stateDir);
    },
  );
});

test('arguments: block refuses a call carrying a card number; the server never receives it', async () => {
  await withGateway(
    'version: "1"\ndefault: allow\ntools: {}\nguards:\n  detect:\n    action: block\n    scan: [arguments]\n',
    async (client, _dir, stateDir, log) => {
      const r = await client.callTool({ name: 'write_note', arguments: { body: `pay with ${LEAKED.card}` } });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /carry card_number/);
      // Positive control: a clean call reaches the server (and is logged there).
      assert.equal(textOf(await client.callTool({ name: 'write_note', arguments: { body: 'hello' } })), 'noted');
      const received = readFileSync(log, 'utf8');
      assert.match(received, /hello/);
      assert.ok(!received.includes('4111'), received);
      const denied = (await eventsWith(stateDir, 'tool_call')).find((e) => e.reason === 'guard');
      assert.ok(denied, 'the refusal is audited');
    },
  );
});

test('taint (single-server): a key read by a source tool cannot be written out, plain, base64, hex or URL-encoded', async () => {
  const yaml = 'version: "1"\ndefault: allow\ntools: {}\nguards:\n  taint:\n    sources: [read_env]\n';
  await withGateway(yaml, async (client, _dir, stateDir, log) => {
    // Before the read, the value is not tainted (no prior read: allowed).
    assert.equal(textOf(await client.callTool({ name: 'write_note', arguments: { body: `early ${LEAKED.aws}` } })), 'noted');
    const read = await client.callTool({ name: 'read_env', arguments: {} });
    assert.match(textOf(read), new RegExp(LEAKED.aws), 'taint alone does not redact');
    const forms = [
      `INSERT INTO notes (body) VALUES ('${LEAKED.aws}')`,
      Buffer.from(`k=${LEAKED.aws}`).toString('base64'),
      Buffer.from(LEAKED.aws).toString('hex'),
      encodeURIComponent(`https://evil.example/?k=${LEAKED.aws}`).replace(/[A-Z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`),
    ];
    for (const body of forms) {
      const r = await client.callTool({ name: 'write_note', arguments: { body } });
      assert.equal(r.isError, true, `not refused: ${body}`);
      assert.match(textOf(r), /refused by guards\.taint/);
    }
    assert.equal(textOf(await client.callTool({ name: 'write_note', arguments: { body: 'an ordinary note' } })), 'noted');
    const received = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; args: { body?: string } });
    assert.deepEqual(
      received.map((x) => x.args.body ?? x.tool),
      [`early ${LEAKED.aws}`, 'read_env', 'an ordinary note'],
    );
    const denials = (await eventsWith(stateDir, 'tool_call', 7)).filter((e) => e.reason === 'guard');
    assert.equal(denials.length, 4);
  });
});

test('an unknown detector name or guard action is a policy error naming file:line:col (YAML and JSON)', async () => {
  const { policy } = writePolicy('version: "1"\ndefault: allow\ntools: {}\nguards:\n  detect:\n    action: redcat\n    detectors: [credentials, creditcard]\n');
  const r = await runToolgate('validate', '-c', policy);
  assert.equal(r.code, 1);
  const out = `${r.stdout}${r.stderr}`;
  assert.ok(out.includes(`${policy}:6:13: guards.detect.action must be one of redact, block, audit, off, got "redcat"`), out);
  assert.ok(out.includes(`${policy}:7:30: guards.detect.detectors: unknown detector "creditcard"`), out);
  const json = writePolicy(
    '{\n  "version": "1",\n  "default": "allow",\n  "tools": {},\n  "guards": { "detect": { "detectors": ["emial"] } }\n}\n',
    'policy.json',
  );
  const j = await runToolgate('validate', '-c', json.policy);
  assert.equal(j.code, 1);
  assert.ok(
    `${j.stdout}${j.stderr}`.includes(`${json.policy}:5:41: guards.detect.detectors: unknown detector "emial" (did you mean "email"?)`),
    `${j.stdout}${j.stderr}`,
  );
  assert.equal(existsSync(join(json.dir, 'state')), false);
});

test('safe argument operators through the gateway: SSRF and path traversal forms are denied, and never reach the server', async () => {
  const yaml = `version: "1"
default: allow
tools:
  fetch:
    rules:
      - name: public API only
        conditions:
          - { path: args.url, op: url_host_in, value: [api.example.com] }
          - { path: args.url, op: url_public, value: true }
  read_file:
    rules:
      - name: data root only
        conditions:
          - { path: args.path, op: path_under, value: /srv/data }
`;
  await withGateway(yaml, async (client, _dir, _stateDir, log) => {
    const refused = [
      { name: 'fetch', arguments: { url: 'http://169.254.169.254/latest/meta-data/' } },
      { name: 'fetch', arguments: { url: 'https://api.example.com@evil.example/' } },
      { name: 'fetch', arguments: { url: 'https://evil.example\\@api.example.com/' } },
      { name: 'fetch', arguments: { url: 'http://0x7f000001/' } },
      { name: 'fetch', arguments: { url: 'https://api.example.com.evil.example/' } },
      { name: 'read_file', arguments: { path: '/srv/data/../../etc/passwd' } },
      { name: 'read_file', arguments: { path: '/srv/data/%2e%2e/%2e%2e/etc/passwd' } },
      { name: 'read_file', arguments: { path: '..\\..\\etc\\passwd' } },
    ];
    for (const call of refused) {
      const r = await client.callTool(call);
      assert.equal(r.isError, true, JSON.stringify(call));
      assert.match(textOf(r), /TOOLGATE POLICY DENIED/);
    }
    // Positive controls: the clean forms reach the server.
    assert.equal(textOf(await client.callTool({ name: 'fetch', arguments: { url: 'https://API.example.com./v1' } })), 'noted');
    assert.equal(textOf(await client.callTool({ name: 'read_file', arguments: { path: '/srv/data/report.csv' } })), 'noted');
    const received = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; args: Record<string, string> });
    assert.deepEqual(
      received.map((x) => x.args.url ?? x.args.path),
      ['https://API.example.com./v1', '/srv/data/report.csv'],
    );
  });
});

test('explain and toolgate test run the argument guards as the gateway does', async () => {
  const { policy, dir } = writePolicy(`version: "1"
default: allow
tools:
  fetch:
    rules:
      - name: public only
        conditions:
          - { path: args.url, op: url_public, value: true }
guards:
  detect: { action: block, scan: [arguments] }
`);
  const e = await runToolgate('explain', '-c', policy, '--tool', 'pay', '--args', JSON.stringify({ card: LEAKED.card }), '--json');
  const out = JSON.parse(e.stdout) as { decision: string; reason: string; guards: Array<{ kinds: Record<string, number> }> };
  assert.equal(out.decision, 'denied');
  assert.equal(out.reason, 'guard');
  assert.deepEqual(out.guards[0]!.kinds, { card_number: 1 });
  assert.ok(!e.stdout.includes(compact(LEAKED.card).slice(0, 8)), 'explain does not echo the value');
  const spec = join(dir, 'guards.test.yaml');
  writeFileSync(
    spec,
    `policy: ./policy.yaml
cases:
  - { name: "a card number in the arguments is refused", tool: pay, args: { note: "${LEAKED.card}" }, expect: deny, message: "carry card_number" }
  - { name: "metadata service refused", tool: fetch, args: { url: "http://[::ffff:169.254.169.254]/" }, expect: deny }
  - { name: "public fetch allowed", tool: fetch, args: { url: "https://example.com/" }, expect: allow }
`,
  );
  const t = await runToolgate('test', spec);
  assert.equal(t.code, 0, `${t.stdout}${t.stderr}`);
  assert.match(t.stdout, /3 passed|passed: 3|3\/3/);
});

test("the README's guards example is a valid policy", async () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Guards:'));
  const yaml = section.split('```yaml\n')[1]!.split('```')[0]!;
  const { policy } = writePolicy(yaml);
  const r = await runToolgate('validate', '-c', policy);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
});

test('arguments: redact sends the server the redacted arguments (and the audit keeps only those)', async () => {
  await withGateway(
    'version: "1"\ndefault: allow\ntools: {}\naudit: { capture_args: true }\nguards:\n  detect: { action: redact, scan: [arguments] }\n',
    async (client, dir, stateDir, log) => {
      assert.equal(textOf(await client.callTool({ name: 'write_note', arguments: { body: `card ${LEAKED.card} key ${LEAKED.aws}` } })), 'noted');
      const received = readFileSync(log, 'utf8');
      assert.match(received, /card \[REDACTED:card_number\] key \[REDACTED:aws_key\]/);
      await eventsWith(stateDir, 'tool_call');
      assertNoLeakUnder(join(dir, 'state'));
    },
  );
});

test('taint hold: a call carrying a tainted value waits for a human; denied, it never reaches the server; approved, it runs once', async () => {
  const yaml = 'version: "1"\ndefault: allow\ntools: {}\nguards:\n  taint:\n    sources: [read_env]\n    action: hold\n    approval_timeout: 2m\n';
  await withGateway(yaml, async (client, _dir, stateDir, log) => {
    // 30 s: a bound on waiting (a gateway under load), not a pass condition.
    const pending = async (): Promise<{ id: string; rule: string; tool: string }> => {
      for (const end = Date.now() + 30_000; Date.now() < end; ) {
        const r = await runToolgate('approvals', 'list', '--pending', '--json', '--state-dir', stateDir);
        const row = r.stdout.split('\n').filter(Boolean)[0];
        if (row) return JSON.parse(row);
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error('no pending approval appeared');
    };
    await client.callTool({ name: 'read_env', arguments: {} });
    // Untainted calls are not held.
    assert.equal(textOf(await client.callTool({ name: 'write_note', arguments: { body: 'an ordinary note' } })), 'noted');
    const first = client.callTool({ name: 'write_note', arguments: { body: `leak ${LEAKED.aws}` } });
    const held = await pending();
    assert.equal(held.tool, 'write_note');
    assert.equal(held.rule, 'guards.taint');
    assert.equal((await runToolgate('approvals', 'deny', held.id, '--reason', 'that is our key', '--state-dir', stateDir)).code, 0);
    const refused = await first;
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /held by guards\.taint for a human decision.*that is our key/s);
    const second = client.callTool({ name: 'write_note', arguments: { body: Buffer.from(`k=${LEAKED.aws}`).toString('base64') } });
    const again = await pending();
    assert.equal((await runToolgate('approvals', 'approve', again.id, '--as', 'security', '--state-dir', stateDir)).code, 0);
    assert.equal(textOf(await second), 'noted');
    const received = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; args: { body?: string } });
    assert.deepEqual(
      received.map((x) => x.args.body ?? x.tool),
      ['read_env', 'an ordinary note', Buffer.from(`k=${LEAKED.aws}`).toString('base64')],
    );
    // The events file is written behind the answer: wait for the fifth approval event, then check them all.
    const approvalEvents = () => readEvents(stateDir).filter((e) => e.type.startsWith('approval_'));
    await until('five approval events', () => approvalEvents().length >= 5).catch(() => {});
    assert.deepEqual(
      approvalEvents().map((e) => `${e.type}:${e.rule}`),
      [
        'approval_requested:guards.taint',
        'approval_denied:guards.taint',
        'approval_requested:guards.taint',
        'approval_approved:guards.taint',
        'approval_consumed:guards.taint',
      ],
    );
  });
});

test('taint: approval_timeout without action hold, or not a duration, is a policy error', async () => {
  const { policy } = writePolicy('version: "1"\ndefault: allow\ntools: {}\nguards:\n  taint:\n    sources: [read_env]\n    approval_timeout: soon\n');
  const r = await runToolgate('validate', '-c', policy);
  assert.equal(r.code, 1);
  const out = `${r.stdout}${r.stderr}`;
  assert.match(out, /guards\.taint\.approval_timeout must be a duration from 1s to 168h such as "10m", got "soon"/);
  const { policy: p2 } = writePolicy('version: "1"\ndefault: allow\ntools: {}\nguards:\n  taint:\n    sources: [read_env]\n    approval_timeout: 5m\n');
  const r2 = await runToolgate('validate', '-c', p2);
  assert.equal(r2.code, 1);
  assert.match(`${r2.stdout}${r2.stderr}`, /approval_timeout applies only to action: hold \(action is deny\)/);
});
