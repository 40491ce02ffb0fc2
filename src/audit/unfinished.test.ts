import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { deadInstances, unfinishedCalls } from './unfinished.js';
import type { AuditRecord } from './types.js';

let n = 0;
const rec = (f: Partial<AuditRecord>): AuditRecord => ({
  instance: 'A',
  n: ++n,
  ts: 't',
  kind: 'decision',
  alg: 'sha256',
  prev_hash: '',
  hash: '',
  session: 's',
  ...f,
});

test('a forward decision stays open until an outcome of the same call, also one written by another instance for it', () => {
  const open1 = rec({ request_id: '1', decision: 'allowed' });
  const closed = rec({ request_id: '2', decision: 'allowed' });
  const records = [
    open1,
    closed,
    rec({ request_id: '3', decision: 'denied' }), // ended by its decision
    rec({ request_id: '2', kind: 'outcome', decision: 'allowed', outcome: 'ok' }),
    rec({ request_id: '4', decision: 'allowed', session: 's2' }),
    rec({
      instance: 'B',
      request_id: '4',
      kind: 'outcome',
      decision: 'allowed',
      outcome: 'unknown',
      session: 's2',
      data: JSON.stringify({ event_instance: 'A' }),
    }),
    rec({ request_id: '1', kind: 'outcome', decision: 'allowed', outcome: 'ok', session: 'other' }), // another session's id 1
  ];
  assert.deepEqual(unfinishedCalls(records), [open1]);
});

test('deadInstances: this host by pid, other hosts by silence, never stopped ones or itself', () => {
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const now = Date.parse('2026-01-01T00:10:00Z');
  const list = deadInstances(
    [
      { instance: 'gone', host: 'me', pid: gone },
      { instance: 'alive', host: 'me', pid: process.pid },
      { instance: 'stopped', host: 'me', pid: gone, stopped_ts: 't' },
      { instance: 'self', host: 'me', pid: gone },
      { instance: 'far-silent', host: 'other', pid: 1, last_seen_ts: '2026-01-01T00:00:00Z' },
      { instance: 'far-recent', host: 'other', pid: 1, last_seen_ts: '2026-01-01T00:09:30Z' },
    ],
    { host: 'me', now, staleMs: 300_000, self: 'self' },
  );
  assert.deepEqual(
    list.map((i) => i.instance),
    ['gone', 'far-silent'],
  );
});

test("an input round's retry closes the record of the round before it; its own outcome closes the call", () => {
  const first = rec({ request_id: '"r1"', decision: 'allowed' });
  const retry = rec({ request_id: '"r2"', decision: 'allowed', data: JSON.stringify({ stage: 'decision', continues: 'r1' }) });
  assert.deepEqual(unfinishedCalls([first]), [first]);
  assert.deepEqual(unfinishedCalls([first, retry]), [retry]);
  assert.deepEqual(unfinishedCalls([first, retry, rec({ request_id: '"r2"', kind: 'outcome', decision: 'allowed', outcome: 'ok' })]), []);
});
