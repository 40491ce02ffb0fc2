// `node dist/bench/audit.js`: what one audit record costs the gateway (emit,
// i.e. the spool/journal commit on the call's path) with SQLite at
// synchronous=normal and full, and, when DATABASE_URL (or the default local
// PostgreSQL) answers, with PostgreSQL plus the time until every record is in
// the database. Moved here from the unit suite: a measurement, not a check.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openAuditReader, openAuditWriter } from '../src/audit/index.js';
import type { GatewayEvent } from '../src/events/types.js';

const DSN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function record(i: number): GatewayEvent {
  return {
    type: 'tool_call',
    ts: new Date().toISOString(),
    instance: 'BENCH',
    session: 's1',
    tool: i % 2 ? 'delete_file' : 'read_file',
    request_id: i,
    decision: i % 2 ? 'denied' : 'allowed',
    ...(i % 2 ? { rule: 'no deletes', rule_pointer: 'tools/delete_file/rules/0', message: 'no' } : { outcome: 'ok', latency_ms: 1.25 }),
    args_sha256: 'ab'.repeat(32),
  };
}

async function sqlite(sync: 'normal' | 'full', n: number): Promise<void> {
  const log = await openAuditWriter({ stateDir: mkdtempSync(join(tmpdir(), 'toolgate-bench-audit-')), instance: 'BENCH', heartbeatMs: 0, sync });
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) log.emit(record(i));
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  await log.close();
  if (log.written !== n) throw new Error(`only ${log.written} of ${n} records written`);
  console.log(`audit sqlite synchronous=${sync}: ${us.toFixed(1)} µs per record (${n} records)`);
}

async function postgres(n: number): Promise<void> {
  const probe = new pg.Client({ connectionString: DSN, connectionTimeoutMillis: 2000 });
  try {
    await probe.connect();
  } catch (err) {
    console.log(`audit postgres: skipped (${String(err)})`);
    return;
  }
  const schema = `toolgate_bench_${randomBytes(3).toString('hex')}`;
  try {
    const w = await openAuditWriter({ stateDir: mkdtempSync(join(tmpdir(), 'toolgate-bench-pg-')), dsn: DSN, schema, instance: 'BENCH', heartbeatMs: 0 });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) w.emit(record(i));
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    await w.flush();
    const total = Number(process.hrtime.bigint() - t0) / 1e6;
    await w.close();
    const reader = await openAuditReader({ stateDir: '/x', dsn: DSN, schema });
    const stored = (await reader.records({ instance: 'BENCH' })).length;
    await reader.close();
    console.log(`audit postgres: emit ${us.toFixed(1)} µs per record; ${stored} of ${n} records in PostgreSQL after ${total.toFixed(0)} ms`);
  } finally {
    await probe.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await probe.end();
  }
}

await sqlite('normal', 5000);
await sqlite('full', 500);
await postgres(3000);
