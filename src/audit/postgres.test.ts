// PostgreSQL audit store: round trip through the spool, two instances, crash
// recovery from the spool, retention with a checkpoint. Needs PostgreSQL at
// DATABASE_URL; skips (loudly) when it is unreachable, fails instead when
// TOOLGATE_REQUIRE_SERVICES=1.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AuditLog, computeStatus, openAuditReader, openAuditWriter, readCheckpoints, storeId, verifyRecords } from './index.js';
import { PostgresAuditBackend } from './postgres.js';
import { until } from '../../test/support/until.js';
import type { GatewayEvent, ToolCallEvent } from '../events/types.js';

const DSN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE = process.env.TOOLGATE_REQUIRE_SERVICES === '1';
const schema = `toolgate_audit_${process.pid}_${randomBytes(3).toString('hex')}`;
let unreachable: string | undefined;

async function probe(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: DSN, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL unreachable at ${DSN}: ${(err as Error).message}`;
  } finally {
    await c.end().catch(() => {});
  }
}

function skipOrFail(t: { skip: (m: string) => void }): boolean {
  if (!unreachable) return false;
  if (REQUIRE) throw new Error(`${unreachable} (TOOLGATE_REQUIRE_SERVICES=1)`);
  process.stderr.write(`# SKIP postgres audit test: ${unreachable}\n`);
  t.skip(unreachable);
  return true;
}

const ev = (i: number, extra: Partial<ToolCallEvent> = {}): GatewayEvent => ({
  type: 'tool_call',
  ts: new Date().toISOString(),
  instance: 'x',
  tool: i % 2 ? 'delete_customer' : 'echo',
  request_id: i,
  decision: i % 2 ? 'denied' : 'allowed',
  ...(i % 2 ? { rule: 'r', rule_pointer: 'tools/delete_customer/rules/0', message: 'no' } : { outcome: 'ok', latency_ms: 0.5 }),
  ...extra,
});

describe('PostgreSQL audit store', () => {
  before(async () => {
    unreachable = await probe();
  });
  after(async () => {
    if (unreachable) return;
    const c = new pg.Client({ connectionString: DSN });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });

  test('two instances write to one log through their spools; chains verify; status sees both', async (t) => {
    if (skipOrFail(t)) return;
    const a = await openAuditWriter({ stateDir: mkdtempSync(join(tmpdir(), 'tg-pg-')), dsn: `${DSN}?schema=${schema}`, instance: 'A', heartbeatMs: 0 });
    const b = await openAuditWriter({ stateDir: mkdtempSync(join(tmpdir(), 'tg-pg-')), dsn: DSN, schema, instance: 'B', heartbeatMs: 0 });
    a.emit({ type: 'startup', ts: new Date().toISOString(), instance: 'A', server: 'demo', pid: 1 });
    b.emit({ type: 'startup', ts: new Date().toISOString(), instance: 'B', server: 'demo', pid: 2 });
    for (let i = 0; i < 50; i++) (i % 2 ? a : b).emit(ev(i, { identity: i % 5 === 0 ? 'alice' : 'bob' }));
    b.emit({ type: 'shutdown', ts: new Date().toISOString(), instance: 'B', status: 'success' });
    // Group commit: shipped without any flush (waited for, not timed: the machine may be loaded).
    const reader = await openAuditReader({ stateDir: '/nonexistent', dsn: DSN, schema });
    await until('53 records shipped', async () => (await reader.records()).length >= 53);
    assert.equal((await reader.records()).length, 53);
    await a.close();
    await b.close();
    const recs = await reader.chainRecords();
    const v = verifyRecords(recs);
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.equal(v.chains, 2);
    assert.deepEqual(
      (await reader.records({ instance: 'A' })).map((r) => r.n),
      Array.from({ length: 26 }, (_, i) => i + 1),
    );
    const alice = await reader.records({ identity: 'alice' });
    assert.equal(alice.length, 10);
    const denied = await reader.records({ decision: 'denied', sinceMs: Date.now() - 60_000 });
    assert.equal(denied.length, 25);
    assert.equal(denied[0]!.rule_pointer, 'tools/delete_customer/rules/0');
    const insts = await reader.instances();
    assert.deepEqual(insts.map((i) => i.instance).sort(), ['A', 'B']);
    const s = computeStatus(await reader.records({ sinceMs: 0 }), insts, { now: Date.now(), sinceMs: 0 });
    assert.equal(s.totals.calls, 50);
    assert.equal(s.totals.denied, 25);
    assert.ok(s.instances.find((i) => i.instance === 'B')!.state === 'stopped');
    await reader.close();
  });

  test('records left in the spool by a crashed gateway ship at the next start, in order', async (t) => {
    if (skipOrFail(t)) return;
    const stateDir = mkdtempSync(join(tmpdir(), 'tg-pg-'));
    const spoolPath = join(stateDir, 'audit-spool.db');
    // A backend whose shipper never runs (group window at its max, then we "crash").
    const backend = await PostgresAuditBackend.open({ dsn: DSN, schema, spoolPath, groupMs: 10, warn: () => {} });
    const log = new AuditLog({ backend, instance: 'CRASH', heartbeatMs: 0 });
    for (let i = 0; i < 20; i++) log.emit(ev(i));
    assert.equal(backend.spooled, 20, 'committed to the spool synchronously');
    // Crash: nothing shipped, process state gone (close the handles without flushing).
    (backend as unknown as { closed: boolean }).closed = true;
    backend.spool.close();
    await backend.pool.end();

    const next = await openAuditWriter({ stateDir, dsn: DSN, schema, instance: 'NEXT', heartbeatMs: 0 });
    await next.flush();
    await next.close();
    const reader = await openAuditReader({ stateDir, dsn: DSN, schema });
    const crashed = await reader.records({ instance: 'CRASH' });
    assert.deepEqual(
      crashed.map((r) => r.n),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal(verifyRecords(await reader.chainRecords()).ok, true);
    await reader.close();
  });

  test('a call in flight when its gateway died gets an outcome "unknown" from the next gateway', async (t) => {
    if (skipOrFail(t)) return;
    // A pid that is surely gone: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stateDir = mkdtempSync(join(tmpdir(), 'tg-pg-'));
    const backend = await PostgresAuditBackend.open({ dsn: DSN, schema, spoolPath: join(stateDir, 'audit-spool.db'), warn: () => {} });
    const log = new AuditLog({ backend, instance: 'DIED', heartbeatMs: 0, warn: () => {} });
    log.emit({ type: 'startup', ts: new Date().toISOString(), instance: 'DIED', pid: dead });
    await backend.flush(); // its instance row is in PostgreSQL
    log.emit(ev(0, { instance: 'DIED', session: 's', request_id: 1, outcome: undefined, latency_ms: undefined, stage: 'decision' }));
    log.emit(ev(0, { instance: 'DIED', session: 's', request_id: 1 }));
    log.emit(ev(0, { instance: 'DIED', session: 's', request_id: 2, outcome: undefined, latency_ms: undefined, stage: 'decision', tool: 'transfer' }));
    // Crash: the spool keeps whatever has not shipped.
    (backend as unknown as { closed: boolean }).closed = true;
    backend.spool.close();
    await backend.pool.end();

    const next = await openAuditWriter({ stateDir, dsn: DSN, schema, instance: 'AFTER', heartbeatMs: 0 });
    next.emit({ type: 'startup', ts: new Date().toISOString(), instance: 'AFTER', pid: process.pid });
    await next.close();
    const reader = await openAuditReader({ stateDir, dsn: DSN, schema });
    const unknown = (await reader.records({ instance: 'AFTER' })).filter((r) => r.outcome === 'unknown');
    assert.deepEqual(
      unknown.map((r) => [r.tool, r.request_id, JSON.parse(r.data!).event_instance]),
      [['transfer', '2', 'DIED']],
      'only the call that never ended',
    );
    assert.ok((await reader.instances()).find((i) => i.instance === 'DIED')!.stopped_ts, 'looked at once');
    assert.equal(verifyRecords(await reader.chainRecords()).ok, true);
    await reader.close();
  });

  test("the gateway's local checkpoints witness the PostgreSQL log: a tail deleted in PostgreSQL alone is caught", async (t) => {
    if (skipOrFail(t)) return;
    const stateDir = mkdtempSync(join(tmpdir(), 'tg-pg-'));
    const w = await openAuditWriter({ stateDir, dsn: DSN, schema, instance: 'WIT', heartbeatMs: 0 });
    for (let i = 0; i < 6; i++) w.emit(ev(i));
    await w.close();
    const check = async () => {
      const reader = await openAuditReader({ stateDir, dsn: DSN, schema });
      const cps = readCheckpoints(stateDir, storeId({ dsn: DSN, schema })).checkpoints;
      const res = verifyRecords(
        (await reader.chainRecords()).filter((r) => r.instance === 'WIT'),
        { checkpoints: cps.filter((c) => c.instance === 'WIT') },
      );
      await reader.close();
      return res;
    };
    assert.equal((await check()).ok, true);
    const c = new pg.Client({ connectionString: DSN });
    await c.connect();
    await c.query(`DELETE FROM "${schema}".audit_records WHERE instance = 'WIT' AND n >= 5`);
    await c.end();
    const cut = await check();
    assert.equal(cut.ok, false);
    assert.match(cut.problems[0]!.message, /records #5\.\.#6 are missing at its end/);
  });

  test('retention prunes in PostgreSQL with a checkpoint; the rest verifies; tampering is caught', async (t) => {
    if (skipOrFail(t)) return;
    const w = await openAuditWriter({ stateDir: mkdtempSync(join(tmpdir(), 'tg-pg-')), dsn: DSN, schema, instance: 'P', heartbeatMs: 0 });
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    for (let i = 0; i < 5; i++) w.emit(ev(i, { ts: old }));
    for (let i = 5; i < 8; i++) w.emit(ev(i));
    const res = await w.prune(Date.now() - 30 * 86_400_000);
    assert.ok(res.deleted >= 5);
    assert.ok(res.anchors.some((a) => a.instance === 'P' && a.through === 5));
    await w.close();
    const reader = await openAuditReader({ stateDir: '/x', dsn: DSN, schema });
    const mine = await reader.records({ instance: 'P' });
    assert.equal(mine[0]!.n, 6);
    const v = verifyRecords(await reader.chainRecords());
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    const c = new pg.Client({ connectionString: DSN });
    await c.connect();
    await c.query(`UPDATE "${schema}".audit_records SET tool = 'x' WHERE instance = 'P' AND n = 7`);
    await c.end();
    const bad = verifyRecords(await reader.chainRecords());
    assert.equal(bad.ok, false);
    assert.equal(bad.problems[0]!.kind, 'changed');
    assert.equal(bad.problems[0]!.n, 7);
    await reader.close();
  });
});
