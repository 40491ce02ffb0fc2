import type { EventOf, EventSink, EventType, GatewayEvent } from './types.js';
import { warnToStderr } from './warn.js';

/** Collects events in memory: for tests and `toolgate test`. */
export class MemorySink implements EventSink {
  readonly events: GatewayEvent[] = [];
  closed = false;

  emit(event: GatewayEvent): void {
    this.events.push(event);
  }

  ofType<T extends EventType>(type: T): EventOf<T>[] {
    return this.events.filter((e): e is EventOf<T> => e.type === type);
  }

  clear(): void {
    this.events.length = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Fans every event out to several sinks. `sinks` get each event at once, in
 * order (the audit log: a call's record is written before its answer leaves).
 * `observers` (the JSONL log, metrics, traces) get it (except a forwarded
 * call's decision record, written before forwarding) right after the current
 * synchronous step, in a microtask: still before any further I/O is handled,
 * but no longer on the path of the answer being sent. One sink failing
 * (throwing from emit or rejecting on close) never stops the others and never
 * reaches the caller; each failing sink is reported once.
 */
export class MultiSink implements EventSink {
  private readonly sinks: readonly EventSink[];
  private readonly observers: readonly EventSink[];
  private readonly reported = new Set<EventSink>();
  private readonly warn: (message: string) => void;
  private deferred: GatewayEvent[] = [];
  private readonly deliverDeferred = (): void => this.flushObservers();

  constructor(sinks: readonly EventSink[], opts: { observers?: readonly EventSink[]; warn?: (message: string) => void } = {}) {
    this.sinks = [...sinks];
    this.observers = [...(opts.observers ?? [])];
    this.warn = opts.warn ?? warnToStderr;
  }

  emit(event: GatewayEvent): void {
    for (const sink of this.sinks) {
      try {
        sink.emit(event);
      } catch (err) {
        this.report(sink, 'emit', err);
      }
    }
    // A forwarded call's record written before forwarding is for the audit
    // log only (it journals calls in flight); observers see each call once, when it ends.
    if (this.observers.length === 0 || (event.type === 'tool_call' && event.stage === 'decision' && event.decision === 'allowed')) return;
    if (this.deferred.length === 0) queueMicrotask(this.deliverDeferred);
    this.deferred.push(event);
  }

  private flushObservers(): void {
    const events = this.deferred;
    this.deferred = [];
    for (const event of events) {
      for (const sink of this.observers) {
        try {
          sink.emit(event);
        } catch (err) {
          this.report(sink, 'emit', err);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.flushObservers();
    const all = [...this.sinks, ...this.observers];
    const results = await Promise.allSettled(all.map(async (s) => s.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.report(all[i]!, 'close', r.reason);
    });
  }

  private report(sink: EventSink, what: string, err: unknown): void {
    if (this.reported.has(sink)) return;
    this.reported.add(sink);
    const name = sink.constructor?.name ?? 'sink';
    this.warn(`event sink ${name} failed on ${what}: ${err instanceof Error ? err.message : String(err)} (further errors from it are not reported)`);
  }
}
