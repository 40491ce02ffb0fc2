// The audit log end to end: the built toolgate binary in front of the demo
// server, the SQLite audit store, `toolgate audit verify|query|export` and
// `toolgate status`, tampering with the file, and kill -9 under load.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { bin, connectClient, demoServer, filesContaining, gatewayArgs, RawGateway, readEvents, root, textOf, writePolicy } from './helpers.js';
import { leaks, SECRET_SAMPLES } from './secret-samples.js';

const run = promisify(execFile);

const policyYaml = `
version: "1"
description: "audit e2e"
hide:
  - admin_reset
tools:
  create_charge:
    rules:
      - name: "max single charge"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 50000
        on_deny: "A single charge cannot exceed $500.00"
  delete_customer:
    rules:
      - name: "block customer deletion"
        action: "deny"
        on_deny: "Deleting customers is not permitted"
`;

async function toolgate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function rows(stateDir: string, where = '1=1'): Array<Record<string, any>> {
  const db = new Database(join(stateDir, 'audit.db'), { readonly: true });
  try {
    return db.prepare(`SELECT * FROM audit_records WHERE ${where} ORDER BY seq`).all() as Array<Record<string, any>>;
  } finally {
    db.close();
  }
}

function tamper(stateDir: string, sql: string): void {
  const db = new Database(join(stateDir, 'audit.db'));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

describe('audit log through the gateway binary', () => {
  test('allowed, denied and failed calls are recorded with their fields; verify passes, then names each kind of tampering', async () => {
    const { policy, stateDir } = writePolicy(policyYaml);
    const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
    try {
      const ok = await client.callTool({ name: 'create_charge', arguments: { amount: 1000, currency: 'usd', card: '4242 4242 4242 4242' } });
      assert.match(textOf(ok), /Charged 10.00 USD/);
      const big = await client.callTool({ name: 'create_charge', arguments: { amount: 90000, currency: 'usd' } });
      assert.equal(big.isError, true);
      const del = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
      assert.equal(del.isError, true);
      await client.callTool({ name: 'fail', arguments: {} }).catch(() => undefined);
      for (let i = 0; i < 4; i++) await client.callTool({ name: 'echo', arguments: { message: `m${i}` } });
    } finally {
      await client.close();
    }

    const recs = rows(stateDir);
    const kinds = recs.map((r) => r.kind);
    assert.equal(kinds[0], 'startup');
    assert.equal(kinds[kinds.length - 1], 'shutdown');
    const calls = recs.filter((r) => r.kind === 'decision' || r.kind === 'outcome');
    // 8 calls: the 6 forwarded ones have a decision record (written before forwarding) and an outcome record.
    assert.equal(calls.length, 14);
    assert.equal(calls.filter((r) => r.kind === 'decision' && r.decision === 'allowed').length, 6);

    const allowed = calls.find((r) => r.tool === 'create_charge' && r.kind === 'outcome')!;
    assert.equal(allowed.kind, 'outcome');
    assert.equal(allowed.outcome, 'ok');
    assert.ok(allowed.latency_ms > 0);
    assert.match(allowed.args_sha256, /^[0-9a-f]{64}$/);
    assert.match(allowed.policy_hash, /^[0-9a-f]{64}$/);
    assert.equal(allowed.args, null, 'no arguments stored by default');
    assert.equal(allowed.server, 'node');
    assert.ok(allowed.session);
    assert.ok(!JSON.stringify(recs).includes('4242 4242'), 'the card number appears nowhere');

    const denied = calls.find((r) => r.tool === 'create_charge' && r.decision === 'denied')!;
    assert.equal(denied.kind, 'decision');
    assert.equal(denied.rule, 'max single charge');
    assert.equal(denied.rule_pointer, 'tools/create_charge/rules/0');
    assert.equal(denied.message, 'A single charge cannot exceed $500.00');
    assert.equal(denied.reason, 'rule');

    const delRec = calls.find((r) => r.tool === 'delete_customer')!;
    assert.equal(delRec.decision, 'denied');
    assert.equal(delRec.rule_pointer, 'tools/delete_customer/rules/0');

    const failed = calls.find((r) => r.tool === 'fail' && r.kind === 'outcome')!;
    assert.equal(failed.decision, 'allowed');
    assert.ok(['rpc_error', 'tool_error'].includes(failed.outcome), failed.outcome);

    // verify passes on the clean log.
    const clean = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^ok: 16 record\(s\) in 1 chain\(s\) verify/);

    // query and export.
    const q = await toolgate(['audit', 'query', '--state-dir', stateDir, '--decision', 'denied', '--json']);
    assert.equal(q.code, 0, q.stderr);
    const qs = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(qs.map((r) => r.tool).sort(), ['create_charge', 'delete_customer']);
    const qt = await toolgate(['audit', 'query', '--state-dir', stateDir, '--since', '1h', '--tool', 'echo']);
    assert.equal(qt.stdout.trim().split('\n').length, 8);
    const csv = await toolgate(['audit', 'export', '--state-dir', stateDir, '--format', 'csv']);
    const lines = csv.stdout.trim().split('\n');
    assert.match(lines[0]!, /^seq,instance,n,ts,kind,/);
    assert.equal(lines.length, 17);

    // Each kind of tampering is caught and the first bad record named.
    const echo = calls.filter((r) => r.tool === 'echo');
    const snapshot = rows(stateDir);
    const restore = () => {
      const db = new Database(join(stateDir, 'audit.db'));
      db.exec('DROP INDEX IF EXISTS audit_records_chain; DELETE FROM audit_records;');
      const cols = Object.keys(snapshot[0]!);
      const ins = db.prepare(`INSERT INTO audit_records (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`);
      for (const r of snapshot) ins.run(...cols.map((c) => r[c]));
      db.close();
    };
    const cases: Array<[string, string, RegExp]> = [
      ['changed', `UPDATE audit_records SET decision = 'allowed' WHERE seq = ${denied.seq}`, new RegExp(`changed: record #${denied.n} `)],
      [
        'deleted',
        `DELETE FROM audit_records WHERE seq = ${echo[1]!.seq}`,
        new RegExp(`deleted: record #${echo[1]!.n} of instance \\S+ is missing before record #${echo[2]!.n}`),
      ],
      [
        'inserted',
        `DROP INDEX IF EXISTS audit_records_chain; INSERT INTO audit_records (instance, n, ts_ms, ts, kind, tool, decision, alg, prev_hash, hash)
           SELECT instance, n, ts_ms, ts, kind, 'delete_customer', 'allowed', alg, prev_hash, hash FROM audit_records WHERE seq = ${echo[3]!.seq}`,
        new RegExp(`inserted: record #${echo[3]!.n} `),
      ],
      [
        'reordered',
        `UPDATE audit_records SET seq = -1 WHERE seq = ${echo[1]!.seq}; UPDATE audit_records SET seq = ${echo[1]!.seq} WHERE seq = ${echo[2]!.seq}; UPDATE audit_records SET seq = ${echo[2]!.seq} WHERE seq = -1;`,
        new RegExp(`reordered: record #${echo[2]!.n} `),
      ],
    ];
    for (const [name, sql, expected] of cases) {
      tamper(stateDir, sql);
      const res = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
      assert.equal(res.code, 1, `${name}: ${res.stdout}`);
      assert.match(res.stdout, /^FAILED/);
      assert.match(res.stdout, expected, `${name}: ${res.stdout}`);
      restore();
      const again = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
      assert.equal(again.code, 0, `restored after ${name}: ${again.stdout}`);
    }
  });

  test('HMAC-keyed chain: verify needs the key; retention prunes with a checkpoint and the rest verifies', async () => {
    const { policy, stateDir, dir } = writePolicy(policyYaml);
    const keyFile = join(dir, 'audit.key');
    (await import('node:fs')).writeFileSync(keyFile, 'a-very-secret-key-of-32-bytes!!\n', { mode: 0o600 });
    const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer], ['--audit-hmac-key-file', keyFile]));
    await g.initialize();
    g.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
    await g.response(1);
    await g.close();
    assert.equal(rows(stateDir)[0]!.alg, 'hmac-sha256');
    const nokey = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    assert.equal(nokey.code, 1);
    assert.match(nokey.stdout, /keyed \(HMAC\)/);
    const withKey = await toolgate(['audit', 'verify', '--state-dir', stateDir, '--hmac-key-file', keyFile]);
    assert.equal(withKey.code, 0, withKey.stdout);

    // Age the first instance's records by 40 days (as if written then), keeping their hashes:
    // ts_ms is the index retention reads; ts (chained) is untouched so the chain still verifies.
    tamper(stateDir, `UPDATE audit_records SET ts_ms = ts_ms - ${40 * 86_400_000}`);
    const pr = await toolgate(['audit', 'prune', '--state-dir', stateDir, '--older-than', '30d', '--audit-hmac-key-file', keyFile]);
    assert.equal(pr.code, 0, pr.stderr);
    assert.match(pr.stdout, /pruned 4 record\(s\)/);
    const left = rows(stateDir);
    assert.deepEqual(
      left.map((r) => r.kind),
      ['checkpoint'],
    );
    const after = await toolgate(['audit', 'verify', '--state-dir', stateDir, '--hmac-key-file', keyFile]);
    assert.equal(after.code, 0, after.stdout);
  });

  test('status over two instances: alive and stopped, totals, deny rate, top rules, recent denials in time order', async () => {
    const { policy, stateDir } = writePolicy(policyYaml);
    const a = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    const b = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    await Promise.all([a.initialize(), b.initialize()]);
    let id = 0;
    const callOn = async (g: RawGateway, name: string, args: Record<string, unknown>) => {
      const i = ++id;
      g.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name, arguments: args } });
      return g.response(i);
    };
    await callOn(a, 'echo', { message: 'x' });
    await callOn(a, 'delete_customer', { id: '1' });
    await callOn(b, 'create_charge', { amount: 99999, currency: 'usd' });
    await callOn(b, 'delete_customer', { id: '2' });
    await callOn(a, 'delete_customer', { id: '3' });
    await b.close();

    const st = await toolgate(['status', '--state-dir', stateDir, '--json']);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout);
    assert.equal(s.instances.length, 2);
    assert.deepEqual(s.instances.map((i: any) => i.state).sort(), ['alive', 'stopped']);
    assert.equal(s.totals.calls, 5);
    assert.equal(s.totals.denied, 4);
    assert.equal(s.totals.deny_rate, 0.8);
    assert.equal(
      s.calls_per_minute.reduce((n: number, m: any) => n + m.calls, 0),
      5,
    );
    assert.deepEqual(s.top_deny_rules[0], { rule: 'tools/delete_customer/rules/0', count: 3 });
    assert.equal(s.recent_denials.length, 4);
    const times = s.recent_denials.map((d: any) => d.ts);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.equal(new Set(s.recent_denials.map((d: any) => d.instance)).size, 2, 'denials of both instances');
    const text = await toolgate(['status', '--state-dir', stateDir]);
    assert.match(text.stdout, /Instances \(1 alive, 2 known\)/);
    assert.match(text.stdout, /deny rate 80\.0%/);
    await a.close();
  });

  test('escape codes and newlines in tool names reach audit query, verify and status only escaped', async () => {
    const { policy, stateDir } = writePolicy(policyYaml);
    const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    await g.initialize();
    // A call whose name repaints its line as another call's, and one that forges a second record line.
    const repaint = 'delete_customer\r\u001b[2K\u001b[32mallowed  echo\u001b[0m';
    const forge = 'x\n2026-01-01T00:00:00.000Z  gw  outcome  allowed  echo\u009b';
    g.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: repaint, arguments: {} } });
    g.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: forge, arguments: {} } });
    g.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'delete_customer', arguments: { id: '1' } } });
    await Promise.all([g.response(1), g.response(2), g.response(3)]);
    const q = await toolgate(['audit', 'query', '--state-dir', stateDir, '--kind', 'decision,outcome']);
    const st = await toolgate(['status', '--state-dir', stateDir]);
    tamper(stateDir, `UPDATE audit_records SET tool = tool || '!' WHERE request_id = '1'`);
    const v = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    await g.close();
    assert.equal(q.code, 0, q.stderr);
    // 5 records: the denied call's decision; each forwarded call's decision and outcome.
    assert.equal(q.stdout.trim().split('\n').length, 5, `one line per record: ${q.stdout}`);
    assert.match(v.stdout, /changed: record/, 'positive control: verify names the record whose tool name is printed');
    for (const [name, out] of [
      ['query', q.stdout],
      ['status', st.stdout],
      ['verify', v.stdout],
    ] as const) {
      assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, `${name} printed a control character: ${JSON.stringify(out)}`);
    }
    assert.ok(q.stdout.includes('delete_customer\\x0d\\x1b[2K\\x1b[32mallowed'), q.stdout);
    assert.ok(q.stdout.includes('x\\x0a2026-01-01'), q.stdout);
  });

  test('kill -9 while a call is in flight at the server: the call is audited before forwarding, and the next gateway records its outcome as unknown', async () => {
    const { policy, stateDir, dir } = writePolicy('version: "1"\ndefault: allow\ntools: {}\n');
    const received = join(dir, 'received.txt');
    const slowServer = [process.execPath, join(root, 'dist', 'test', 'slow-server.js')];
    const env = { ...process.env, SLOW_SERVER_RECEIVED: received };
    const g = new RawGateway(gatewayArgs(policy, stateDir, slowServer), env);
    await g.initialize();
    g.send({ jsonrpc: '2.0', id: 'q', method: 'tools/call', params: { name: 'quick', arguments: {} } });
    await g.response('q');
    g.send({ jsonrpc: '2.0', id: 'inflight', method: 'tools/call', params: { name: 'slow', arguments: { marker: 'm1' } } });
    // The server has the call (it wrote the marker): now the gateway dies.
    while (!(existsSync(received) && readFileSync(received, 'utf8').includes('m1'))) await new Promise((r) => setTimeout(r, 20));
    g.proc.kill('SIGKILL');
    await g.exited;
    // Before any gateway starts again, query and verify already say the outcome is unknown.
    const before = await toolgate(['audit', 'query', '--state-dir', stateDir, '--tool', 'slow']);
    assert.match(before.stdout, /decision +allowed +slow .*outcome=unknown \(its gateway died\)/, before.stdout);
    const beforeJson = JSON.parse((await toolgate(['audit', 'query', '--state-dir', stateDir, '--tool', 'slow', '--json'])).stdout);
    assert.deepEqual([beforeJson.outcome, beforeJson.outcome_derived], ['unknown', true]);
    const noted = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    assert.equal(noted.code, 0, noted.stdout);
    assert.match(noted.stdout, /note: 1 call\(s\) were in flight when their gateway died/);
    const quick = await toolgate(['audit', 'query', '--state-dir', stateDir, '--tool', 'quick', '--kind', 'decision']);
    assert.doesNotMatch(quick.stdout, /unknown/, 'positive control: a call that ended is not unknown');

    const next = new RawGateway(gatewayArgs(policy, stateDir, slowServer), env);
    await next.initialize();
    await next.close();
    const q = await toolgate(['audit', 'query', '--state-dir', stateDir, '--json']);
    assert.equal(q.code, 0, q.stderr);
    const recs = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const calls = recs.filter((r) => r.tool === 'slow');
    assert.deepEqual(
      calls.map((r) => [r.kind, r.decision, r.outcome]),
      [
        ['decision', 'allowed', undefined],
        ['outcome', 'allowed', 'unknown'],
      ],
      JSON.stringify(calls),
    );
    const [decision, unknown] = calls;
    assert.equal(decision.request_id, 'inflight');
    assert.equal(unknown.request_id, 'inflight');
    assert.equal(unknown.session, decision.session);
    assert.equal(unknown.args_sha256, decision.args_sha256);
    assert.equal(unknown.data.event_instance, decision.instance, 'the record names the instance that died');
    assert.notEqual(unknown.instance, decision.instance, 'written by the next gateway, in its own chain');
    // Positive control: the call that was answered has exactly one outcome, and it is ok.
    assert.deepEqual(
      recs.filter((r) => r.tool === 'quick' && r.kind === 'outcome').map((r) => r.outcome),
      ['ok'],
    );
    const v = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    assert.equal(v.code, 0, v.stdout);
    // Looked at once: a third start adds no second unknown outcome.
    const third = new RawGateway(gatewayArgs(policy, stateDir, slowServer), env);
    await third.initialize();
    await third.close();
    const again = (await toolgate(['audit', 'query', '--state-dir', stateDir, '--json', '--tool', 'slow'])).stdout.trim().split('\n');
    assert.equal(again.length, 2);
    assert.ok(!again[0]!.includes('outcome_derived'), 'closed by a record now, no longer derived');
  });

  test('truncation is caught against the signed checkpoints: the last records, a whole chain, every row, the checkpoint file; with and without a key', async () => {
    for (const keyed of [false, true]) {
      const { policy, stateDir, dir } = writePolicy(policyYaml);
      const keyFile = join(dir, 'audit.key');
      writeFileSync(keyFile, 'another-secret-key-of-32-bytes!!\n', { mode: 0o600 });
      const extra = keyed ? ['--audit-hmac-key-file', keyFile] : [];
      const keyArgs = keyed ? ['--hmac-key-file', keyFile] : [];
      // Two gateway instances, one after the other: two chains.
      for (const message of ['first', 'second']) {
        const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer], extra));
        await g.initialize();
        g.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } });
        await g.response(1);
        await g.close();
      }
      const verify = () => toolgate(['audit', 'verify', '--state-dir', stateDir, ...keyArgs]);
      const clean = await verify();
      assert.equal(clean.code, 0, clean.stdout);
      assert.match(clean.stdout, /2 chain head\(s\) checked against signed checkpoints/);
      const cps = readFileSync(join(stateDir, 'audit-checkpoints.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(cps[0].alg, keyed ? 'hmac-sha256' : 'sha256');
      assert.ok(
        readEvents(stateDir).some((e) => e.type === 'audit_checkpoint'),
        'the event log has them too',
      );

      const snapshot = rows(stateDir);
      const [a, b] = [...new Set(snapshot.map((r) => r.instance))];
      const lastOfB = snapshot.filter((r) => r.instance === b).at(-1)!;
      const restore = () => {
        const db = new Database(join(stateDir, 'audit.db'));
        db.exec('DELETE FROM audit_records;');
        const cols = Object.keys(snapshot[0]!);
        const ins = db.prepare(`INSERT INTO audit_records (${cols.join(',')}) VALUES (${cols.map(() => '?').join(',')})`);
        for (const r of snapshot) ins.run(...cols.map((c) => r[c]));
        db.close();
      };
      const cases: Array<[string, () => void, RegExp]> = [
        [
          'the last two records',
          () => tamper(stateDir, `DELETE FROM audit_records WHERE instance = '${b}' AND n >= ${lastOfB.n - 1}`),
          new RegExp(`truncated: the chain of instance ${b} was cut short: records #${lastOfB.n - 1}..#${lastOfB.n} are missing at its end`),
        ],
        [
          'a whole chain',
          () => tamper(stateDir, `DELETE FROM audit_records WHERE instance = '${a}'`),
          new RegExp(`truncated: the whole chain of instance ${a} is missing`),
        ],
        ['every row', () => tamper(stateDir, 'DELETE FROM audit_records'), /FAILED: 2 problem/],
      ];
      for (const [name, cut, expected] of cases) {
        cut();
        const res = await verify();
        assert.equal(res.code, 1, `${keyed ? 'keyed' : 'unkeyed'}, ${name}: ${res.stdout}`);
        assert.match(res.stdout, expected, `${name}: ${res.stdout}`);
        restore();
        assert.equal((await verify()).code, 0, `restored after ${name}`);
      }
      // Truncating the log and the checkpoint file together still leaves the event log's copy.
      tamper(stateDir, `DELETE FROM audit_records WHERE instance = '${b}' AND n = ${lastOfB.n}`);
      writeFileSync(
        join(stateDir, 'audit-checkpoints.jsonl'),
        cps
          .filter((c) => c.instance !== b)
          .map((c) => JSON.stringify(c) + '\n')
          .join(''),
      );
      assert.match((await verify()).stdout, /truncated: the chain of instance \S+ was cut short/);
      restore();
      // A checkpoint made up without the key is refused when the key is given.
      if (keyed) {
        writeFileSync(join(stateDir, 'audit-checkpoints.jsonl'), JSON.stringify({ ...cps[0], n: cps[0].n + 1 }) + '\n', { flag: 'a' });
        const forged = await verify();
        assert.equal(forged.code, 1);
        assert.match(forged.stdout, new RegExp(`forged: a checkpoint of instance \\S+ \\(#${cps[0].n + 1}, .*\\) does not match its signature`));
      }
      // No checkpoint file at all: truncation cannot be ruled out, so verify does not say ok; not even for an emptied log.
      rmSync(join(stateDir, 'audit-checkpoints.jsonl'));
      rmSync(join(stateDir, 'events'), { recursive: true });
      const none = await verify();
      assert.equal(none.code, 1, none.stdout);
      assert.match(none.stdout, /unverifiable: no checkpoint file/);
      tamper(stateDir, 'DELETE FROM audit_records');
      const emptied = await verify();
      assert.equal(emptied.code, 1, emptied.stdout);
      assert.match(emptied.stdout, /unverifiable: no checkpoint file/);
    }
  });

  test('secrets in arguments (one per kind) appear nowhere: approval store, approvals list, approval API, audit.db with capture_args, journals, event log', async () => {
    const { policy, stateDir } = writePolicy(`
version: "1"
audit:
  capture_args: true
tools:
  echo:
    rules:
      - name: "a human reads every echo"
        action: require_approval
        approval: { timeout: 2m }
`);
    const secrets = SECRET_SAMPLES.map((x) => x.text);
    const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    await g.initialize();
    // Allowed (arguments captured in the audit log), and held for approval (arguments shown to the approver).
    g.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'get_weather', arguments: { city: secrets.join(' | '), list: secrets, headers: { note: secrets[0] } } },
    });
    await g.response(1);
    g.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: secrets.join('\n'), parts: secrets } } });
    let pending: Array<Record<string, any>> = [];
    while (pending.length === 0) {
      const l = await toolgate(['approvals', 'list', '--pending', '--json', '--state-dir', stateDir]);
      pending = l.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((x) => JSON.parse(x));
    }
    const listed =
      (await toolgate(['approvals', 'list', '--state-dir', stateDir])).stdout +
      (await toolgate(['approvals', 'show', pending[0]!.id, '--state-dir', stateDir])).stdout;
    // The approval HTTP API (the dashboard's approvals come from it too).
    const api = spawn(process.execPath, [bin, 'approvals', 'serve', '--state-dir', stateDir, '--port', '0', '--admin-key', 'an-admin-key-of-16+chars'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let apiBody = '';
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let err = '';
        api.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /127\.0\.0\.1:(\d+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        api.once('exit', () => reject(new Error(`approvals serve exited: ${err}`)));
      });
      const res = await fetch(`http://127.0.0.1:${port}/api/approvals`, { headers: { authorization: 'Bearer an-admin-key-of-16+chars' } });
      assert.equal(res.status, 200);
      apiBody = await res.text();
    } finally {
      api.kill();
    }
    await toolgate(['approvals', 'deny', pending[0]!.id, '--reason', 'no', '--state-dir', stateDir]);
    await g.response(2);
    await g.close();
    const query = (await toolgate(['audit', 'query', '--state-dir', stateDir, '--json'])).stdout;

    // Positive controls: the arguments did reach each place, redacted.
    assert.match(JSON.stringify(pending[0]!.args_preview ?? pending[0]), /\[REDACTED:github_token\]/);
    assert.match(apiBody, /REDACTED:jwt/);
    assert.match(query, /REDACTED:connection_string/);
    for (const { kind, secret } of SECRET_SAMPLES) {
      for (const [where, text] of [
        ['approvals list/show', listed],
        ['approval API', apiBody],
        ['audit query', query],
      ] as const) {
        assert.equal(leaks(text, secret), undefined, `${kind} shown by ${where}`);
      }
      for (let i = 0; i + 8 <= secret.length; i += 4) {
        assert.deepEqual(filesContaining(stateDir, secret.slice(i, i + 8)), [], `${kind}: part of the secret is stored`);
      }
    }
  });

  test('kill -9 under load loses no record of a call whose answer reached the client', async () => {
    const { policy, stateDir } = writePolicy(policyYaml);
    const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    await g.initialize();
    const answered = new Set<number>();
    let next = 0;
    let stop = false;
    // Keep 32 calls in flight, mixing allowed and denied.
    const worker = async () => {
      while (!stop) {
        const i = ++next;
        const name = i % 3 === 0 ? 'delete_customer' : 'echo';
        g.send({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name, arguments: name === 'echo' ? { message: `m${i}` } : { id: String(i) } } });
        try {
          await g.waitFor((m: any) => m && m.id === i && !('method' in m), 60_000);
          answered.add(i);
        } catch {
          return;
        }
      }
    };
    const workers = Array.from({ length: 32 }, worker);
    // Killed under load: once 200 calls have been answered (however long that takes here), mid-stream.
    while (answered.size < 200 && g.proc.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    g.proc.kill('SIGKILL');
    stop = true;
    await g.exited;
    await Promise.allSettled(workers);
    // Everything the client saw, as a set of ids (answers may still sit in the pipe: count them too).
    for (const m of g.messages as any[]) if (m && typeof m.id === 'number') answered.add(m.id);
    assert.ok(answered.size >= 200, `load: ${answered.size} answered calls`);
    // Any audit command first moves the dead gateway's journal (records not yet group-committed) into the store.
    const v = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    assert.equal(v.code, 0, v.stdout);
    const recorded = new Set(rows(stateDir, "kind IN ('decision','outcome')").map((r) => JSON.parse(r.request_id)));
    const lost = [...answered].filter((i) => !recorded.has(i));
    assert.deepEqual(lost, [], `${lost.length} answered call(s) without a record (of ${answered.size})`);
    // The instance died without a shutdown record: status says dead once its heartbeat is stale (here: alive or dead, never stopped).
    const st = JSON.parse((await toolgate(['status', '--state-dir', stateDir, '--json'])).stdout);
    assert.notEqual(st.instances[0].state, 'stopped');
  });
});

test('the checkpoint file is never rewritten: gateway runs, verify and prune only append to it (same file, old bytes kept)', async () => {
  const { policy, stateDir } = writePolicy(policyYaml);
  const file = join(stateDir, 'audit-checkpoints.jsonl');
  const run = async (message: string) => {
    const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    await g.initialize();
    g.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } });
    await g.response(1);
    await g.close();
  };
  await run('first');
  const before = readFileSync(file);
  const inode = statSync(file).ino;
  assert.ok(before.length > 0, 'the first run wrote checkpoints');
  await run('second');
  assert.equal((await toolgate(['audit', 'verify', '--state-dir', stateDir])).code, 0);
  const pruned = await toolgate(['audit', 'prune', '--state-dir', stateDir, '--older-than', '1s']);
  assert.equal(pruned.code, 0, pruned.stdout + pruned.stderr);
  await run('third');
  const after = readFileSync(file);
  assert.equal(statSync(file).ino, inode, 'the same file, not a replacement');
  assert.ok(after.length > before.length, 'later runs appended');
  assert.ok(after.subarray(0, before.length).equals(before), 'the bytes written before are unchanged');
});
