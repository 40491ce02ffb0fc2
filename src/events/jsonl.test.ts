import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_FILE_PATTERN, JsonlEventSink, newInstanceId } from './index.js';
import { until } from '../../test/support/until.js';
import type { ToolCallEvent } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'toolgate-events-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshStateDir = (): string => join(root, `s${++n}`);

const T0 = Date.UTC(2026, 0, 15, 10, 30);
const ev = (i: number, extra: Partial<ToolCallEvent> = {}): ToolCallEvent => ({
  type: 'tool_call',
  ts: new Date(T0 + i).toISOString(),
  instance: 'i1',
  tool: 'create_charge',
  decision: 'allowed',
  args_sha256: 'ab'.repeat(32),
  ...extra,
});

const lines = (file: string): ToolCallEvent[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as ToolCallEvent)
    : [];

describe('newInstanceId', () => {
  it('is unique and safe in a file name', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newInstanceId()));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^[a-z0-9]+-[0-9a-f]{8}$/);
  });
});

describe('JsonlEventSink', () => {
  it('writes one JSON line per event to <stateDir>/events/<date>-<instance>.jsonl', async () => {
    const stateDir = freshStateDir();
    const sink = new JsonlEventSink({ stateDir, instance: 'abc-123', now: () => T0 });
    assert.equal(sink.file, join(stateDir, 'events', '2026-01-15-abc-123.jsonl'));
    assert.match('2026-01-15-abc-123.jsonl', EVENT_FILE_PATTERN);
    sink.emit(ev(1));
    sink.emit(ev(2, { decision: 'denied', message: 'line\nbreak "quoted"' }));
    await sink.close();
    const got = lines(sink.file);
    assert.equal(got.length, 2);
    assert.deepEqual(got[0], ev(1));
    assert.equal(got[1]!.message, 'line\nbreak "quoted"');
  });

  it('sanitises the instance id in the file name', async () => {
    const sink = new JsonlEventSink({ stateDir: freshStateDir(), instance: '../../etc/x y', now: () => T0 });
    assert.ok(sink.file.endsWith(join('events', '2026-01-15-______etc_x_y.jsonl')), sink.file);
    await sink.close();
  });

  it('buffers, then flushes promptly without close', async () => {
    const sink = new JsonlEventSink({ stateDir: freshStateDir(), instance: 'buf', flushMs: 30 });
    sink.emit(ev(1));
    assert.equal(lines(sink.file).length, 0, 'nothing written synchronously by emit');
    await until('the first line flushed', () => lines(sink.file).length > 0);
    assert.equal(lines(sink.file).length, 1, 'flushed by the timer, without close');
    sink.emit(ev(2));
    await until('the second line flushed', () => lines(sink.file).length > 1);
    assert.equal(lines(sink.file).length, 2);
    await sink.close();
  });

  it('flushes at once when the buffer grows past maxBufferBytes', async () => {
    const sink = new JsonlEventSink({ stateDir: freshStateDir(), instance: 'big', flushMs: 60_000, maxBufferBytes: 1000 });
    for (let i = 0; i < 20; i++) sink.emit(ev(i));
    const written = lines(sink.file).length;
    assert.ok(written >= 5 && written < 20, `some but not all written before the timer: ${written}`);
    await sink.close();
    assert.equal(lines(sink.file).length, 20);
  });

  it('flushes synchronously on close', () => {
    const sink = new JsonlEventSink({ stateDir: freshStateDir(), instance: 'sync', flushMs: 60_000 });
    sink.emit(ev(1));
    void sink.close(); // not awaited on purpose
    assert.equal(lines(sink.file).length, 1);
    sink.emit(ev(2)); // after close: ignored, no throw
    assert.equal(lines(sink.file).length, 1);
  });

  it('flushes on process exit even without close', () => {
    const stateDir = freshStateDir();
    const mod = new URL('./index.js', import.meta.url).href;
    const code = `
      import { JsonlEventSink } from ${JSON.stringify(mod)};
      const s = new JsonlEventSink({ stateDir: ${JSON.stringify(stateDir)}, instance: 'exiting', flushMs: 60000 });
      s.emit({ type: 'shutdown', ts: 'x', instance: 'exiting' });
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [file] = readdirSync(join(stateDir, 'events'));
    assert.deepEqual(lines(join(stateDir, 'events', file!)), [{ type: 'shutdown', ts: 'x', instance: 'exiting' }]);
  });

  it('appends to an existing file, never truncates it', async () => {
    const stateDir = freshStateDir();
    const a = new JsonlEventSink({ stateDir, instance: 'same', now: () => T0 });
    a.emit(ev(1));
    await a.close();
    const b = new JsonlEventSink({ stateDir, instance: 'same', now: () => T0 });
    b.emit(ev(2));
    await b.close();
    assert.deepEqual(lines(a.file), [ev(1), ev(2)]);
  });

  it('prunes its own kind of files older than the retention at start-up', async () => {
    const stateDir = freshStateDir();
    const dir = join(stateDir, 'events');
    mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const age = (days: number): Date => new Date(now - days * 86_400_000);
    const files: Record<string, number> = {
      '2025-01-01-old.jsonl': 8,
      '2025-01-02-recent.jsonl': 6,
      'notes.txt': 30,
      'keep-me.jsonl': 30,
    };
    for (const [name, days] of Object.entries(files)) {
      writeFileSync(join(dir, name), '{}\n');
      utimesSync(join(dir, name), age(days), age(days));
    }
    const s = new JsonlEventSink({ stateDir, instance: 'pruner' });
    await s.close();
    const left = readdirSync(dir).sort();
    assert.deepEqual(left, ['2025-01-02-recent.jsonl', 'keep-me.jsonl', 'notes.txt', s.file.split('/').pop()!].sort());

    const s2 = new JsonlEventSink({ stateDir, instance: 'pruner2', retentionDays: 5 });
    await s2.close();
    assert.ok(!readdirSync(dir).includes('2025-01-02-recent.jsonl'), 'retentionDays is honoured');
    assert.ok(readdirSync(dir).includes(s.file.split('/').pop()!), 'a fresh file of another instance is kept');
  });

  it('never throws when the directory cannot be created, and warns once', async () => {
    const stateDir = freshStateDir();
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'events'), 'a file where the directory should be');
    const warnings: string[] = [];
    const sink = new JsonlEventSink({ stateDir, instance: 'broken', flushMs: 5, warn: (m) => warnings.push(m) });
    sink.emit(ev(1));
    await sleep(50);
    sink.emit(ev(2));
    sink.flushSync();
    await sink.close();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /cannot open the event log .*broken\.jsonl/);
  });

  it('drops an event it cannot serialise, warns once, and keeps the others', async () => {
    const warnings: string[] = [];
    const sink = new JsonlEventSink({ stateDir: freshStateDir(), instance: 'bigint', warn: (m) => warnings.push(m) });
    sink.emit(ev(1));
    sink.emit(ev(2, { args: 10n }));
    sink.emit(ev(3, { args: 11n }));
    sink.emit(ev(4));
    await sink.close();
    assert.deepEqual(
      lines(sink.file).map((e) => e.ts),
      [ev(1).ts, ev(4).ts],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /serialise a tool_call event/);
  });
});
