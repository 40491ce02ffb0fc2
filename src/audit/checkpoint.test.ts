import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointFile, checkTruncation, checkpointValid, readCheckpoints, signCheckpoint, storeId } from './checkpoint.js';
import { SqliteAuditBackend } from './sqlite.js';
import { AuditLog } from './writer.js';

const key = Buffer.from('k'.repeat(32));
const chain = (last: number, hashes: Record<number, string> = {}) => ({ last, hashAt: (n: number) => hashes[n] });

test('a keyed checkpoint verifies only with its key and only unchanged', () => {
  const c = signCheckpoint({ store: 'sqlite', instance: 'i', n: 5, hash: 'h5', ts: '2026-01-01T00:00:00.000Z' }, key);
  assert.equal(c.alg, 'hmac-sha256');
  assert.equal(checkpointValid(c, key), true);
  assert.equal(checkpointValid({ ...c, n: 4 }, key), false, 'moved');
  assert.equal(checkpointValid(c, Buffer.from('x'.repeat(32))), false, 'another key');
  const unkeyed = signCheckpoint({ store: 'sqlite', instance: 'i', n: 5, hash: 'h5', ts: 't' });
  assert.equal(checkpointValid(unkeyed), true);
  assert.equal(checkpointValid(unkeyed, key), false, 'with a key, an unkeyed checkpoint is refused');
});

test('checkTruncation: the newest checkpoint per chain must still be reached, with its hash', () => {
  const cps = [
    signCheckpoint({ store: 'sqlite', instance: 'a', n: 3, hash: 'h3', ts: 't1' }),
    signCheckpoint({ store: 'sqlite', instance: 'a', n: 7, hash: 'h7', ts: 't2' }),
    signCheckpoint({ store: 'sqlite', instance: 'b', n: 2, hash: 'b2', ts: 't3' }),
  ];
  const anchors = new Map();
  assert.deepEqual(
    checkTruncation(
      cps,
      new Map([
        ['a', chain(9, { 7: 'h7' })],
        ['b', chain(2, { 2: 'b2' })],
      ]),
      anchors,
    ),
    [],
  );
  const cut = checkTruncation(
    cps,
    new Map([
      ['a', chain(5)],
      ['b', chain(2, { 2: 'b2' })],
    ]),
    anchors,
  );
  assert.deepEqual(
    cut.map((p) => [p.kind, p.instance, p.n]),
    [['truncated', 'a', 6]],
  );
  assert.match(cut[0]!.message, /records #6\.\.#7 are missing at its end/);
  const gone = checkTruncation(cps, new Map([['a', chain(9, { 7: 'h7' })]]), anchors);
  assert.match(gone[0]!.message, /the whole chain of instance b is missing/);
  const rebuilt = checkTruncation(
    cps,
    new Map([
      ['a', chain(9, { 7: 'other' })],
      ['b', chain(2, { 2: 'b2' })],
    ]),
    anchors,
  );
  assert.deepEqual(
    rebuilt.map((p) => p.kind),
    ['changed'],
  );
  // Pruned on purpose (a retention checkpoint record covers it): not a truncation.
  assert.deepEqual(checkTruncation(cps, new Map([['a', chain(9, { 7: 'h7' })]]), new Map([['b', [{ instance: 'b', through: 2, hash: 'b2' }]]])), []);
});

test('readCheckpoints reads the file and the event log, drops duplicates, counts unreadable lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-cp-'));
  const f = new CheckpointFile(dir);
  const c = signCheckpoint({ store: 'sqlite', instance: 'a', n: 1, hash: 'h', ts: 't' });
  f.append(c);
  f.close();
  writeFileSync(join(dir, 'audit-checkpoints.jsonl'), '{torn\n', { flag: 'a' });
  mkdirSync(join(dir, 'events'));
  const d = signCheckpoint({ store: 'sqlite', instance: 'a', n: 2, hash: 'h2', ts: 't2' });
  writeFileSync(
    join(dir, 'events', 'x.jsonl'),
    [{ type: 'audit_checkpoint', checkpoint: c }, { type: 'audit_checkpoint', checkpoint: d }, { type: 'tool_call' }].map((e) => JSON.stringify(e)).join('\n'),
  );
  const r = readCheckpoints(dir);
  assert.equal(r.file, true);
  assert.deepEqual(
    r.checkpoints.map((x) => x.n),
    [1, 2],
  );
  assert.equal(r.unreadable, 1);
  assert.deepEqual(readCheckpoints(dir, 'postgres://db:5432/x#public').checkpoints, [], "another store's checkpoints are not this one's");
});

test('storeId names a store without its credentials', () => {
  assert.equal(storeId({}), 'sqlite');
  assert.equal(storeId({ dsn: 'postgres://u:secret@DB.example:6543/audit?schema=s1' }), 'postgres://db.example:6543/audit#s1');
  assert.equal(storeId({ dsn: 'postgresql://db/audit', schema: 's2' }), 'postgres://db:5432/audit#s2');
});

test('the writer notes its chain head at most once a second while records flow, and at close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-cp-'));
  let now = 1_000_000;
  const log = new AuditLog({
    backend: new SqliteAuditBackend({ path: join(dir, 'audit.db') }),
    instance: 'w',
    heartbeatMs: 0,
    now: () => now,
    checkpoints: new CheckpointFile(dir),
    hmacKey: key,
  });
  const emit = (at: number) => {
    now = at;
    log.emit({ type: 'tool_call', ts: new Date(at).toISOString(), instance: 'w', tool: 't', decision: 'denied' });
  };
  emit(1_000_000); // #1: the first record is noted at once
  emit(1_000_400); // #2
  emit(1_000_900); // #3
  emit(1_001_000); // #4: a second after the last checkpoint
  emit(1_001_500); // #5
  await log.close(); // #5 at close
  const { checkpoints } = readCheckpoints(dir);
  assert.deepEqual(
    checkpoints.map((c) => c.n),
    [1, 4, 5],
  );
  assert.ok(checkpoints.every((c) => checkpointValid(c, key)));
});
