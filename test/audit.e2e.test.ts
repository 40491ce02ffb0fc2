// The audit log end to end: the built toolgate binary in front of the demo
// server, the SQLite audit store, `toolgate audit verify|query|export` and
// `toolgate status`, tampering with the file, and kill -9 under load.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { bin, connectClient, demoServer, gatewayArgs, RawGateway, textOf, writePolicy } from './helpers.js';

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
    assert.equal(calls.length, 8);

    const allowed = calls.find((r) => r.tool === 'create_charge' && r.decision === 'allowed')!;
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

    const failed = calls.find((r) => r.tool === 'fail')!;
    assert.equal(failed.decision, 'allowed');
    assert.ok(['rpc_error', 'tool_error'].includes(failed.outcome), failed.outcome);

    // verify passes on the clean log.
    const clean = await toolgate(['audit', 'verify', '--state-dir', stateDir]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^ok: 10 record\(s\) in 1 chain\(s\) verify/);

    // query and export.
    const q = await toolgate(['audit', 'query', '--state-dir', stateDir, '--decision', 'denied', '--json']);
    assert.equal(q.code, 0, q.stderr);
    const qs = q.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(qs.map((r) => r.tool).sort(), ['create_charge', 'delete_customer']);
    const qt = await toolgate(['audit', 'query', '--state-dir', stateDir, '--since', '1h', '--tool', 'echo']);
    assert.equal(qt.stdout.trim().split('\n').length, 4);
    const csv = await toolgate(['audit', 'export', '--state-dir', stateDir, '--format', 'csv']);
    const lines = csv.stdout.trim().split('\n');
    assert.match(lines[0]!, /^seq,instance,n,ts,kind,/);
    assert.equal(lines.length, 11);

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
      ['deleted', `DELETE FROM audit_records WHERE seq = ${echo[1]!.seq}`, new RegExp(`deleted: record #${echo[1]!.n} of instance \\S+ is missing before record #${echo[2]!.n}`)],
      [
        'inserted',
        `DROP INDEX IF EXISTS audit_records_chain; INSERT INTO audit_records (instance, n, ts_ms, ts, kind, tool, decision, alg, prev_hash, hash)
           SELECT instance, n, ts_ms, ts, kind, 'delete_customer', 'allowed', alg, prev_hash, hash FROM audit_records WHERE seq = ${echo[3]!.seq}`,
        new RegExp(`inserted: record #${echo[3]!.n} `),
      ],
      ['reordered', `UPDATE audit_records SET seq = -1 WHERE seq = ${echo[1]!.seq}; UPDATE audit_records SET seq = ${echo[1]!.seq} WHERE seq = ${echo[2]!.seq}; UPDATE audit_records SET seq = ${echo[2]!.seq} WHERE seq = -1;`, new RegExp(`reordered: record #${echo[2]!.n} `)],
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
    assert.match(pr.stdout, /pruned 3 record\(s\)/);
    const left = rows(stateDir);
    assert.deepEqual(left.map((r) => r.kind), ['checkpoint']);
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
    assert.equal(s.calls_per_minute.reduce((n: number, m: any) => n + m.calls, 0), 5);
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
          await g.waitFor((m: any) => m && m.id === i && !('method' in m), 5000);
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
    assert.ok(answered.size > 200, `load: ${answered.size} answered calls`);
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
