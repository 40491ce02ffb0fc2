import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryCounterStore, SqliteCounterStore, openCounterStore, parseStateBackend, resolveStateDir, windowEnd, windowStart } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'toolgate-state-index-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('resolveStateDir', () => {
  const home = '/home/alice';
  it('defaults to ~/.toolgate', () => {
    assert.equal(resolveStateDir({ home }, {}), '/home/alice/.toolgate');
  });
  it('prefers TOOLGATE_HOME over the default', () => {
    assert.equal(resolveStateDir({ home }, { TOOLGATE_HOME: '/var/lib/tg' }), '/var/lib/tg');
  });
  it('prefers --state-dir over TOOLGATE_HOME', () => {
    assert.equal(resolveStateDir({ home, stateDir: '/srv/state' }, { TOOLGATE_HOME: '/var/lib/tg' }), '/srv/state');
  });
  it('ignores empty values', () => {
    assert.equal(resolveStateDir({ home, stateDir: '' }, { TOOLGATE_HOME: '  ' }), '/home/alice/.toolgate');
  });
  it('expands ~ and resolves relative paths against cwd', () => {
    assert.equal(resolveStateDir({ home, stateDir: '~/tg' }, {}), '/home/alice/tg');
    assert.equal(resolveStateDir({ home }, { TOOLGATE_HOME: '~' }), '/home/alice');
    assert.equal(resolveStateDir({ home, cwd: '/work/p', stateDir: 'state/../st' }, {}), '/work/p/st');
  });
});

describe('openCounterStore', () => {
  it('opens a memory store', async () => {
    const s = await openCounterStore({ kind: 'memory' });
    assert.ok(s instanceof MemoryCounterStore);
    assert.equal(s.kind, 'memory');
    await s.close();
  });

  it('opens <stateDir>/state.db, creating the directory owner-only', async () => {
    const dir = join(root, 'nested', 'state');
    const s = await openCounterStore({ kind: 'sqlite', stateDir: dir });
    assert.ok(s instanceof SqliteCounterStore);
    assert.equal(s.path, join(dir, 'state.db'));
    assert.ok(existsSync(join(dir, 'state.db')));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    await s.close();
  });

  it('parses Redis DSNs (opening them: redis-dsn.test.ts)', () => {
    assert.deepEqual(parseStateBackend('redis://user:secret@cache:6379/0'), { kind: 'redis', url: 'redis://user:secret@cache:6379/0' });
  });

  it('parses backend specs', () => {
    assert.deepEqual(parseStateBackend('memory'), { kind: 'memory' });
    assert.deepEqual(parseStateBackend('sqlite', '/x'), { kind: 'sqlite', stateDir: '/x' });
    assert.deepEqual(parseStateBackend('rediss://h:1'), { kind: 'redis', url: 'rediss://h:1' });
    assert.throws(() => parseStateBackend('postgres://x'), /unknown state backend/);
  });
});

describe('windows', () => {
  it('are calendar-aligned in UTC', () => {
    const t = Date.UTC(2026, 2, 29, 1, 30, 15, 500); // a DST change day in Europe: irrelevant in UTC
    assert.equal(windowStart('minute', t), Date.UTC(2026, 2, 29, 1, 30));
    assert.equal(windowEnd('minute', t), Date.UTC(2026, 2, 29, 1, 31));
    assert.equal(windowStart('hour', t), Date.UTC(2026, 2, 29, 1));
    assert.equal(windowStart('day', t), Date.UTC(2026, 2, 29));
    assert.equal(windowEnd('day', t), Date.UTC(2026, 2, 30));
  });
});
