import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemorySink, MultiSink } from './index.js';
import type { AnyEventFields, EventSink, GatewayEvent } from './index.js';

const ev = (type: GatewayEvent['type'], i = 0): GatewayEvent => ({ type, ts: `t${i}`, instance: 'x' }) as GatewayEvent;

describe('MemorySink', () => {
  it('collects events in order and filters by type', async () => {
    const s = new MemorySink();
    s.emit(ev('startup'));
    s.emit(ev('tool_call', 1));
    s.emit(ev('tool_call', 2));
    assert.deepEqual(
      s.events.map((e) => e.ts),
      ['t0', 't1', 't2'],
    );
    assert.deepEqual(
      s.ofType('tool_call').map((e) => e.ts),
      ['t1', 't2'],
    );
    s.clear();
    assert.equal(s.events.length, 0);
    assert.equal(s.closed, false);
    await s.close();
    assert.equal(s.closed, true);
  });
});

describe('MultiSink', () => {
  it('fans every event out to every sink', async () => {
    const a = new MemorySink();
    const b = new MemorySink();
    const m = new MultiSink([a, b]);
    m.emit(ev('startup'));
    m.emit(ev('shutdown', 1));
    assert.deepEqual(a.events, [ev('startup'), ev('shutdown', 1)]);
    assert.deepEqual(b.events, a.events);
    await m.close();
    assert.ok(a.closed && b.closed);
  });

  it('isolates a failing sink from the others and from the caller, reporting it once', async () => {
    const bad: EventSink = {
      emit() {
        throw new Error('disk on fire');
      },
      async close() {
        throw new Error('still on fire');
      },
    };
    const good = new MemorySink();
    const warnings: string[] = [];
    const m = new MultiSink([bad, good], { warn: (w) => warnings.push(w) });
    assert.doesNotThrow(() => m.emit(ev('tool_call', 1)));
    m.emit(ev('tool_call', 2));
    await assert.doesNotReject(m.close());
    assert.equal(good.events.length, 2);
    assert.ok(good.closed);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /disk on fire/);
  });

  it('observers get every event, in order, after the synchronous step that emitted it; close delivers what waits', async () => {
    const audit = new MemorySink();
    const log = new MemorySink();
    const m = new MultiSink([audit], { observers: [log] });
    m.emit(ev('tool_call', 1));
    m.emit(ev('tool_call', 2));
    assert.equal(audit.events.length, 2, 'sinks at once');
    assert.equal(log.events.length, 0, 'observers not on the emitting path');
    await Promise.resolve();
    assert.deepEqual(
      log.events.map((e) => e.ts),
      ['t1', 't2'],
    );
    m.emit(ev('shutdown', 3));
    await m.close();
    assert.deepEqual(
      log.events.map((e) => e.ts),
      ['t1', 't2', 't3'],
    );
    assert.ok(audit.closed && log.closed);
  });

  it('a failing observer is reported once and does not stop the other observers', async () => {
    const bad: EventSink = {
      emit() {
        throw new Error('exporter down');
      },
      async close() {},
    };
    const good = new MemorySink();
    const warnings: string[] = [];
    const m = new MultiSink([], { observers: [bad, good], warn: (w) => warnings.push(w) });
    m.emit(ev('tool_call', 1));
    m.emit(ev('tool_call', 2));
    await Promise.resolve();
    assert.equal(good.events.length, 2);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /exporter down/);
    await m.close();
  });
});

it("a forwarded call's decision record reaches the audit sink only; observers see the call once, at its end", async () => {
  const audit = new MemorySink();
  const observer = new MemorySink();
  const sink = new MultiSink([audit], { observers: [observer] });
  sink.emit({ type: 'tool_call', ts: 't', instance: 'i', tool: 'x', decision: 'allowed', stage: 'decision' });
  sink.emit({ type: 'tool_call', ts: 't', instance: 'i', tool: 'x', decision: 'allowed', outcome: 'ok' });
  sink.emit({ type: 'tool_call', ts: 't', instance: 'i', tool: 'y', decision: 'denied', stage: 'decision' });
  await sink.close();
  assert.equal(audit.events.length, 3);
  assert.deepEqual(
    observer.events.map((e: AnyEventFields) => [e.tool, e.decision, e.stage]),
    [
      ['x', 'allowed', undefined],
      ['y', 'denied', 'decision'],
    ],
  );
});
