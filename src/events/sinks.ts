import type { EventSink, EventType, GatewayEvent } from './types.js';
import { warnToStderr } from './warn.js';

/** Collects events in memory: for tests and `toolgate test`. */
export class MemorySink implements EventSink {
  readonly events: GatewayEvent[] = [];
  closed = false;

  emit(event: GatewayEvent): void {
    this.events.push(event);
  }

  ofType(type: EventType): GatewayEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  clear(): void {
    this.events.length = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Fans every event out to several sinks. One sink failing (throwing from emit
 * or rejecting on close) never stops the others and never reaches the caller;
 * each failing sink is reported once.
 */
export class MultiSink implements EventSink {
  private readonly sinks: readonly EventSink[];
  private readonly reported = new Set<EventSink>();
  private readonly warn: (message: string) => void;

  constructor(sinks: readonly EventSink[], opts: { warn?: (message: string) => void } = {}) {
    this.sinks = [...sinks];
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
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map(async (s) => s.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.report(this.sinks[i]!, 'close', r.reason);
    });
  }

  private report(sink: EventSink, what: string, err: unknown): void {
    if (this.reported.has(sink)) return;
    this.reported.add(sink);
    const name = sink.constructor?.name ?? 'sink';
    this.warn(`event sink ${name} failed on ${what}: ${err instanceof Error ? err.message : String(err)} (further errors from it are not reported)`);
  }
}
