import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeferredSink, type TimedSink } from './deferred.js';
import type { AnyEventFields, GatewayEvent } from '../events/types.js';

class Recorder implements TimedSink {
  readonly got: Array<[string, number | undefined]> = [];
  closed = false;
  emit(e: AnyEventFields): void {
    this.got.push([String(e.tool), undefined]);
  }
  record(e: AnyEventFields, at: number): void {
    this.got.push([String(e.tool), at]);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const ev = (tool: string): GatewayEvent => ({ type: 'tool_call', ts: '', instance: 'i', tool, decision: 'allowed' });

test('events that arrive while the sink loads are replayed with their arrival time, then passed straight on', async () => {
  let now = 100;
  let done!: (s: TimedSink) => void;
  const rec = new Recorder();
  const sink = new DeferredSink(
    new Promise<TimedSink>((r) => (done = r)),
    () => assert.fail('no warning expected'),
    () => now,
  );
  sink.emit(ev('a'));
  now = 200;
  sink.emit(ev('b'));
  done(rec);
  await new Promise((r) => setImmediate(r));
  sink.emit(ev('c'));
  assert.deepEqual(rec.got, [
    ['a', 100],
    ['b', 200],
    ['c', undefined],
  ]);
  await sink.close();
  assert.ok(rec.closed);
});

test('a sink that fails to load warns once and drops events', async () => {
  const warnings: string[] = [];
  const sink = new DeferredSink(Promise.reject(new Error('no SDK')), (m) => warnings.push(m));
  sink.emit(ev('a'));
  await new Promise((r) => setImmediate(r));
  sink.emit(ev('b'));
  await sink.close();
  assert.deepEqual(warnings, ['tracing is off: no SDK']);
});
