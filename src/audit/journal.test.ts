// The journal and its group commit: records are durable in the journal when
// append returns; they reach the store at the latest GROUP_COMMIT_MS later, or
// in the next event-loop turn once GROUP_COMMIT_MAX wait; a process killed
// before that leaves a journal the next opener ingests.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Chainer } from './chain.js';
import { GROUP_COMMIT_MAX, GROUP_COMMIT_MS, JOURNAL_DIR, JournaledBackend, journaledRecords, type BatchBackend } from './journal.js';
import { openAuditReader, verifyRecords } from './index.js';
import type { AuditRecord } from './types.js';
import type { PruneTargets } from './writer.js';
import { until } from '../../test/support/until.js';

const dir = () => mkdtempSync(join(tmpdir(), 'toolgate-journal-'));

/** A store that keeps batches in memory and can be told to fail. */
class FakeStore implements BatchBackend {
  readonly kind = 'sqlite' as const;
  batches: AuditRecord[][] = [];
  failing = false;
  get records(): AuditRecord[] {
    return this.batches.flat();
  }
  append(rec: AuditRecord): void {
    this.appendMany([rec]);
  }
  appendMany(records: readonly AuditRecord[]): void {
    if (this.failing) throw new Error('database is locked');
    this.batches.push([...records]);
  }
  touchInstance(): void {}
  async pruneTargets(): Promise<PruneTargets> {
    return { now: [], earlier: [], keep: new Set() };
  }
  async deleteThrough(): Promise<number> {
    return 0;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

function records(count: number, instance = 'I'): { recs: AuditRecord[]; json: string[] } {
  const c = new Chainer(instance);
  const recs: AuditRecord[] = [];
  const json: string[] = [];
  for (let i = 0; i < count; i++) {
    recs.push(c.next({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), kind: 'decision', tool: 'echo', request_id: String(i), latency_ms: i / 7 }));
    json.push(c.lastJson);
  }
  return { recs, json };
}

describe('audit journal', () => {
  test('defaults: a group commit at most every 50 ms, at once from 1000 records', () => {
    assert.equal(GROUP_COMMIT_MS, 50);
    assert.equal(GROUP_COMMIT_MAX, 1000);
  });

  test('append journals synchronously; the time bound commits what waits, in order, and empties the journal', async () => {
    const d = dir();
    const store = new FakeStore();
    const j = new JournaledBackend(store, d, 'I', () => {}, { commitMs: 30, commitMax: 1000 });
    const { recs, json } = records(5);
    for (const [i, r] of recs.entries()) j.append(r, json[i]);
    assert.equal(journaledRecords(d).length, 5, 'durable when append returns');
    assert.equal(store.batches.length, 0, 'not committed on the call path');
    await turn();
    assert.equal(store.batches.length, 0, 'below the size bound nothing commits before the time bound');
    await until('the time bound commits', () => store.batches.length > 0);
    assert.equal(store.batches.length, 1, 'one transaction');
    assert.deepEqual(
      store.records.map((r) => r.n),
      [1, 2, 3, 4, 5],
    );
    assert.equal(journaledRecords(d).length, 0, 'journal emptied after the commit');
    await j.close();
  });

  test('the size bound commits in the next event-loop turn, not inside append', async () => {
    const d = dir();
    const store = new FakeStore();
    const j = new JournaledBackend(store, d, 'I', () => {}, { commitMs: 60_000, commitMax: 10 });
    const { recs, json } = records(25);
    for (let i = 0; i < 9; i++) j.append(recs[i]!, json[i]);
    await turn();
    assert.equal(store.batches.length, 0);
    j.append(recs[9]!, json[9]);
    assert.equal(store.batches.length, 0, 'the tenth record is journaled, its commit deferred');
    assert.equal(j.waiting, 10);
    await turn();
    assert.deepEqual(
      store.batches.map((b) => b.length),
      [10],
    );
    assert.equal(journaledRecords(d).length, 0);
    // Records appended in one turn past the bound still go in one transaction.
    for (let i = 10; i < 25; i++) j.append(recs[i]!, json[i]);
    await turn();
    assert.deepEqual(
      store.batches.map((b) => b.length),
      [10, 15],
    );
    assert.deepEqual(
      store.records.map((r) => r.n),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    await j.close();
  });

  test('a failing store keeps records in the journal and retries; the size bound does not spin meanwhile', async () => {
    const d = dir();
    const store = new FakeStore();
    const warnings: string[] = [];
    const j = new JournaledBackend(store, d, 'I', (m) => warnings.push(m), { commitMs: 5, commitMax: 3 });
    const { recs, json } = records(8);
    store.failing = true;
    for (let i = 0; i < 3; i++) j.append(recs[i]!, json[i]);
    await until('the failing commit was tried', () => warnings.length > 0);
    for (let i = 3; i < 8; i++) j.append(recs[i]!, json[i]);
    await turn();
    assert.equal(store.batches.length, 0);
    assert.equal(journaledRecords(d).length, 8, 'all still in the journal');
    assert.equal(warnings.length, 1);
    store.failing = false;
    await until('the retry commits all eight', () => store.records.length >= 8 && journaledRecords(d).length === 0);
    assert.deepEqual(
      store.records.map((r) => r.n),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(journaledRecords(d).length, 0);
    await j.close();
  });

  test('journal lines are the records as JSON; without the JSON text append serialises the record itself', async () => {
    const d = dir();
    const j = new JournaledBackend(new FakeStore(), d, 'I', () => {}, { commitMs: 60_000 });
    const { recs, json } = records(2);
    j.append(recs[0]!, json[0]);
    j.append(recs[1]!);
    const [file] = readdirSync(join(d, JOURNAL_DIR));
    const lines = readFileSync(join(d, JOURNAL_DIR, file!), 'utf8').split('\n');
    assert.deepEqual(lines, [json[0], JSON.stringify(recs[1]), '']);
    const strip = (r: AuditRecord) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== null));
    assert.deepEqual(journaledRecords(d).map(strip), recs.map(strip));
    await j.close();
  });

  test('kill -9 before the group commit: the next opener ingests the journal; the chain verifies with every field', async () => {
    const d = dir();
    const mod = new URL('./index.js', import.meta.url).href;
    const code = `
      import { openAuditWriter } from ${JSON.stringify(mod)};
      const log = await openAuditWriter({ stateDir: ${JSON.stringify(d)}, instance: 'K', heartbeatMs: 0 });
      log.emit({ type: 'startup', ts: new Date().toISOString(), instance: 'K', server: 'demo', pid: process.pid });
      for (let i = 0; i < 1500; i++) {
        log.emit({ type: 'tool_call', ts: new Date().toISOString(), instance: 'K', session: 's', tool: 'echo', request_id: i, decision: 'allowed', outcome: 'ok', latency_ms: i / 3, decision_ms: 0.5, message: 'é😀 "q"\\n' });
        // Let the size-bound commit run part way through.
        if (i === 1200) await new Promise((r) => setImmediate(r));
      }
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const left = journaledRecords(d);
    assert.ok(left.length > 0 && left.length < 1501, `some records only in the journal: ${left.length}`);
    const reader = await openAuditReader({ stateDir: d });
    try {
      const recs = await reader.chainRecords();
      assert.equal(recs.length, 1501);
      assert.deepEqual(
        recs.map((x) => x.n),
        Array.from({ length: 1501 }, (_, i) => i + 1),
        'in chain order',
      );
      const v = verifyRecords(recs);
      assert.equal(v.ok, true, JSON.stringify(v.problems));
      const last = recs.at(-1)!;
      assert.equal(last.request_id, '1499');
      assert.equal(last.latency_ms, 1499 / 3);
      assert.equal(last.message, 'é😀 "q"\n');
      assert.equal(last.data, '{"decision_ms":0.5}');
      assert.equal(last.identity, null);
      assert.equal(journaledRecords(d).length, 0, 'the orphan journal is gone');
    } finally {
      await reader.close();
    }
  });
});
