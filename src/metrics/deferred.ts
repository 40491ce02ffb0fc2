// A sink whose real sink is still loading (the OpenTelemetry SDK takes a
// moment to import): start-up does not wait for it. Events that arrive in the
// meantime are queued with the time they arrived, so their spans keep the
// right times.
import type { EventSink, GatewayEvent } from '../events/types.js';

/** Wall time in ms with sub-ms precision. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

export interface TimedSink extends EventSink {
  record(event: GatewayEvent, at: number): void;
}

const MAX_QUEUED = 10_000;

export class DeferredSink implements EventSink {
  private queue: Array<[GatewayEvent, number]> | undefined = [];
  private sink: TimedSink | undefined;

  constructor(
    private readonly loading: Promise<TimedSink>,
    warn: (message: string) => void,
    private readonly now: () => number = wallClock,
  ) {
    loading.then(
      (sink) => {
        this.sink = sink;
        const queued = this.queue ?? [];
        this.queue = undefined;
        for (const [e, at] of queued) sink.record(e, at);
      },
      (err: unknown) => {
        this.queue = undefined;
        warn(`tracing is off: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  emit(event: GatewayEvent): void {
    if (this.sink) this.sink.emit(event);
    else if (this.queue && this.queue.length < MAX_QUEUED) this.queue.push([event, this.now()]);
  }

  async close(): Promise<void> {
    const sink = await this.loading.catch(() => undefined);
    await sink?.close();
  }
}
