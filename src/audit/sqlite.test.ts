import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GROUP_COMMIT_MS, journaledRecords } from './journal.js';
import { INSERT_COLUMNS, insertValues, tsMs } from './sql.js';
import { Chainer } from './chain.js';
import { AuditLog, SqliteAuditBackend, SqliteAuditReader, openAuditWriter, verifyRecords } from './index.js';
import type { GatewayEvent, ToolCallEvent } from '../events/types.js';

const DAY = 86_400_000;
const dir = () => mkdtempSync(join(tmpdir(), 'toolgate-audit-'));

function call(i: number, ts: string, extra: Partial<ToolCallEvent> = {}): GatewayEvent {
  return {
    type: 'tool_call',
    ts,
    instance: 'I',
    session: 's1',
    tool: i % 2 ? 'delete_file' : 'read_file',
    decision: i % 2 ? 'denied' : 'allowed',
    ...(i % 2 ? { rule: 'no deletes', rule_pointer: 'tools/delete_file/rules/0', message: 'no' } : { outcome: 'ok', latency_ms: 1.25 }),
    args_sha256: 'ab'.repeat(32),
    policy_hash: 'cd'.repeat(32),
    ...extra,
  };
}

describe('SQLite audit store', () => {
  test('a call whose tool name carries a lone surrogate is still recorded, and the chain verifies', async () => {
    const d = dir();
    const log = await openAuditWriter({ stateDir: d, instance: 'I', heartbeatMs: 0 });
    // JSON escapes (\ud800) can put a lone surrogate in a name; canonical JSON cannot hash one.
    log.emit(call(0, new Date().toISOString(), { tool: 'read\ud800file', request_id: 'id\udfff' }));
    assert.equal(log.pending, 0, 'the record was written, not held back');
    assert.equal(log.dropped, 0);
    await log.close();
    const recs = await new SqliteAuditReader(join(d, 'audit.db')).records();
    assert.equal(recs.length, 1);
    assert.equal(recs[0]!.tool, 'read\ufffdfile');
    assert.equal(verifyRecords(recs).ok, true);
  });

  test('records every field, journals synchronously, group-commits, and verifies', async () => {
    const d = dir();
    const log = await openAuditWriter({ stateDir: d, instance: 'I', heartbeatMs: 0 });
    log.emit({ type: 'startup', ts: new Date().toISOString(), instance: 'I', server: 'demo', pid: 42, policy_hash: 'cd'.repeat(32) });
    log.emit(call(0, new Date().toISOString(), { request_id: 7, identity: 'alice', server: 'demo' }));
    log.emit(call(1, new Date().toISOString(), { request_id: 'x' }));
    // Durable before emit returned: the journal holds the records now ...
    assert.equal(journaledRecords(d).length, 3);
    // ... and the group commit moves them into the database within GROUP_COMMIT_MS.
    await new Promise((r) => setTimeout(r, GROUP_COMMIT_MS + 100));
    const peek = new Database(join(d, 'audit.db'), { readonly: true });
    assert.equal((peek.prepare('SELECT COUNT(*) c FROM audit_records').get() as { c: number }).c, 3);
    peek.close();
    assert.equal(journaledRecords(d).length, 0, 'the journal is emptied after the commit');
    log.emit({ type: 'shutdown', ts: new Date().toISOString(), instance: 'I', status: 'success' });
    await log.close();

    const r = new SqliteAuditReader(join(d, 'audit.db'));
    const recs = await r.records();
    assert.deepEqual(
      recs.map((x) => x.kind),
      ['startup', 'outcome', 'decision', 'shutdown'],
    );
    const allowed = recs[1]!;
    assert.equal(allowed.tool, 'read_file');
    assert.equal(allowed.decision, 'allowed');
    assert.equal(allowed.outcome, 'ok');
    assert.equal(allowed.latency_ms, 1.25);
    assert.equal(allowed.identity, 'alice');
    assert.equal(allowed.request_id, '7');
    assert.equal(allowed.args_sha256, 'ab'.repeat(32));
    assert.equal(allowed.policy_hash, 'cd'.repeat(32));
    assert.equal(allowed.args, null, 'arguments are not stored by default');
    const denied = recs[2]!;
    assert.equal(denied.rule_pointer, 'tools/delete_file/rules/0');
    assert.equal(denied.request_id, '"x"');
    assert.deepEqual(
      (await r.records({ decision: 'denied' })).map((x) => x.n),
      [3],
    );
    assert.deepEqual(
      (await r.records({ identity: 'alice' })).map((x) => x.n),
      [2],
    );
    const inst = await r.instances();
    assert.equal(inst.length, 1);
    assert.equal(inst[0]!.server, 'demo');
    assert.ok(inst[0]!.stopped_ts);
    assert.equal(verifyRecords(await r.chainRecords()).ok, true);
    await r.close();
  });

  test('insertValues gives every column in INSERT_COLUMNS order', () => {
    const c = new Chainer('I');
    const full = c.next({
      ts: '2026-01-01T00:00:00.000Z',
      kind: 'decision',
      session: 'se',
      identity: 'id',
      server: 'sv',
      tool: 'to',
      request_id: '1',
      decision: 'de',
      reason: 're',
      rule: 'ru',
      rule_pointer: 'rp',
      message: 'me',
      args_sha256: 'as',
      args: 'ar',
      outcome: 'ou',
      latency_ms: 1.5,
      policy_hash: 'ph',
      data: 'da',
    });
    const sparse = c.next({ ts: 'not a time', kind: 'startup', session: null });
    for (const r of [full, sparse]) {
      const byColumn = INSERT_COLUMNS.map((col) => (col === 'ts_ms' ? tsMs(r.ts) : ((r as unknown as Record<string, unknown>)[col] ?? null)));
      assert.deepEqual(insertValues(r), byColumn);
    }
    assert.equal(insertValues(sparse)[2], 0, 'an unparsable ts gives ts_ms 0');
  });

  test('captured arguments are redacted again by the store', async () => {
    const d = dir();
    const log = await openAuditWriter({ stateDir: d, instance: 'I', heartbeatMs: 0, redact: ['args.card'] });
    log.emit(call(0, new Date().toISOString(), { args: { card: '1234', token: 'abc', note: 'key AKIAZ7Q3MXR5T2WVN4PB' } }));
    await log.close();
    const r = new SqliteAuditReader(join(d, 'audit.db'));
    const [rec] = await r.records();
    assert.deepEqual(JSON.parse(rec!.args!), { card: '[REDACTED]', token: '[REDACTED]', note: 'key [REDACTED:aws_key]' });
    await r.close();
  });

  test('two writers (two instances) share one file; each chain verifies', async () => {
    const d = dir();
    const a = await openAuditWriter({ stateDir: d, instance: 'A', heartbeatMs: 0 });
    const b = await openAuditWriter({ stateDir: d, instance: 'B', heartbeatMs: 0 });
    for (let i = 0; i < 20; i++) (i % 3 ? a : b).emit(call(i, new Date().toISOString()));
    await a.close();
    await b.close();
    const r = new SqliteAuditReader(join(d, 'audit.db'));
    const res = verifyRecords(await r.chainRecords());
    assert.equal(res.ok, true, JSON.stringify(res.problems));
    assert.equal(res.chains, 2);
    assert.equal(res.records, 20);
    await r.close();
  });

  test('retention prunes old records with a checkpoint; the rest still verifies; pruning again keeps anchors', async () => {
    const d = dir();
    const t0 = Date.UTC(2026, 0, 1);
    const old = await openAuditWriter({ stateDir: d, instance: 'OLD', heartbeatMs: 0 });
    for (let i = 0; i < 10; i++) old.emit(call(i, new Date(t0 + i * DAY).toISOString()));
    await old.close();
    let clock = t0 + 40 * DAY;
    const live = new AuditLog({ backend: new SqliteAuditBackend({ path: join(d, 'audit.db') }), instance: 'LIVE', heartbeatMs: 0, now: () => clock });
    for (let i = 0; i < 3; i++) live.emit(call(i, new Date(t0 + (35 + i) * DAY).toISOString()));
    // Keep 30 days back from day 40: OLD loses days 0..9, LIVE keeps everything.
    const res = await live.prune(t0 + 10 * DAY - 1);
    assert.equal(res.deleted, 10);
    const r1 = new SqliteAuditReader(join(d, 'audit.db'));
    let recs = await r1.chainRecords();
    assert.equal(recs.filter((x) => x.instance === 'OLD').length, 0);
    assert.equal(recs.filter((x) => x.kind === 'checkpoint').length, 1);
    assert.equal(verifyRecords(recs).ok, true);
    await r1.close();

    // Prune a prefix of LIVE's own chain; records after it verify from the checkpoint.
    clock = t0 + 60 * DAY;
    live.emit(call(5, new Date(t0 + 50 * DAY).toISOString()));
    const res2 = await live.prune(t0 + 36 * DAY + 1);
    assert.equal(res2.deleted, 2);
    const r2 = new SqliteAuditReader(join(d, 'audit.db'));
    recs = await r2.chainRecords();
    assert.equal(recs.filter((x) => x.instance === 'LIVE' && x.kind !== 'checkpoint')[0]!.n, 3);
    const v = verifyRecords(recs);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    // Deleting the next record by hand is still caught.
    r2.db.close();
    const w = new Database(join(d, 'audit.db'));
    w.prepare("DELETE FROM audit_records WHERE instance = 'LIVE' AND n = 3").run();
    const after = new SqliteAuditReader(join(d, 'audit.db'));
    const v2 = verifyRecords(await after.chainRecords());
    assert.equal(v2.ok, false);
    assert.equal(v2.problems[0]!.kind, 'deleted');
    w.close();
    await after.close();
    await live.close();
  });
});
