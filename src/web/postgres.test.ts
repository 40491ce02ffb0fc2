// The dashboard over a PostgreSQL audit store (`--audit-dsn`): calls, the
// follower (`seq` after), filters and stats. Needs PostgreSQL at DATABASE_URL;
// skips (loudly) when it is unreachable, fails when TOOLGATE_REQUIRE_SERVICES=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openAuditWriter } from '../audit/index.js';
import { DashboardData } from './data.js';
import { until } from '../../test/support/until.js';

const DSN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REQUIRE = process.env.TOOLGATE_REQUIRE_SERVICES === '1';

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

test('dashboard data from a PostgreSQL audit store', async (t) => {
  const unreachable = await probe();
  if (unreachable) {
    if (REQUIRE) throw new Error(`${unreachable} (TOOLGATE_REQUIRE_SERVICES=1)`);
    process.stderr.write(`# SKIP postgres dashboard test: ${unreachable}\n`);
    t.skip(unreachable);
    return;
  }
  const schema = `toolgate_web_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dsn = `${DSN}${DSN.includes('?') ? '&' : '?'}schema=${schema}`;
  const w = await openAuditWriter({ stateDir: mkdtempSync(join(tmpdir(), 'tg-web-pg-')), dsn, instance: 'A', heartbeatMs: 0 });
  const data = new DashboardData({ stateDir: mkdtempSync(join(tmpdir(), 'tg-web-pg-state-')), auditDsn: dsn });
  try {
    const ts = () => new Date().toISOString();
    w.emit({ type: 'tool_call', ts: ts(), instance: 'A', server: 'stripe', tool: 'create_charge', decision: 'allowed', outcome: 'ok', latency_ms: 2 });
    w.emit({ type: 'tool_call', ts: ts(), instance: 'A', server: 'github', tool: 'delete_repo', decision: 'denied', rule: 'no', message: 'no' });
    await until('both records shipped', async () => (await data.calls({}, 10)).length >= 2);
    const calls = await data.calls({}, 10);
    assert.deepEqual(
      calls.map((c) => [c.server, c.tool, c.status]),
      [
        ['stripe', 'create_charge', 'allowed'],
        ['github', 'delete_repo', 'denied'],
      ],
    );
    const last = await data.lastSeq();
    assert.ok(last >= 2);
    w.emit({ type: 'tool_call', ts: ts(), instance: 'A', server: 'github', tool: 'list_repos', decision: 'allowed', outcome: 'ok' });
    w.emit({ type: 'tool_call', ts: ts(), instance: 'A', server: 'stripe', tool: 'refund', decision: 'allowed', outcome: 'ok' });
    await until('the next two records shipped', async () => (await data.lastSeq()) >= last + 2);
    const next = await data.callsAfter(last, { server: 'github' });
    assert.deepEqual(
      next.rows.map((r) => r.tool),
      ['list_repos'],
    );
    assert.equal(typeof next.rows[0]!.seq, 'number');
    const stats = await data.stats(15);
    assert.equal(stats.totals.calls, 4);
    assert.equal(stats.totals.denied, 1);
  } finally {
    await data.close();
    await w.close();
    const c = new pg.Client({ connectionString: DSN });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  }
});
