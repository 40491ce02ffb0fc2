// JSONL event log: one append-only file per gateway instance under
// `<stateDir>/events/`, named `<UTC date the instance started>-<instance>.jsonl`.
//
// Writing: emit only appends to an in-memory buffer; the buffer is written
// with one synchronous append after `flushMs` (default 50 ms), at once when it
// grows past `maxBufferBytes`, on close, and on process exit. A write is one
// writeSync of a few kilobytes at most, so the event loop is not held up, and
// close() and the exit hook can flush without waiting for anything.
//
// Failure: the event log is never a reason for a call to fail. No method
// throws; the first problem (directory, open, write, unserialisable event) is
// reported once on stderr, later ones silently drop their events. Opening is
// retried on the next flush, so a directory that appears later is used.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EventSink, GatewayEvent } from './types.js';
import { warnToStderr } from './warn.js';

const DAY_MS = 86_400_000;

/** Name pattern of the files this sink writes (and the only ones pruning deletes). */
export const EVENT_FILE_PATTERN = /^\d{4}-\d{2}-\d{2}-[A-Za-z0-9_-]+\.jsonl$/;

/** A short, file-name-safe, practically unique id for one gateway instance. */
export function newInstanceId(now: number = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** `<stateDir>/events` */
export function eventsDir(stateDir: string): string {
  return join(stateDir, 'events');
}

export interface JsonlEventSinkOptions {
  /** The state directory; events go to `<stateDir>/events/`. */
  stateDir: string;
  /** Instance id (see newInstanceId); characters outside [A-Za-z0-9_-] become `_` in the file name. */
  instance: string;
  /** Delete event files last written more than this many days ago, at start-up. Default 7; 0 or less keeps everything. */
  retentionDays?: number;
  /** Longest time an event waits in the buffer (ms). Default 50. */
  flushMs?: number;
  /** Flush at once when the buffer holds this many bytes. Default 64 KiB. */
  maxBufferBytes?: number;
  /** Clock (epoch ms) for the file name's date and pruning. Default Date.now. */
  now?: () => number;
  /** Where the one warning goes. Default stderr. */
  warn?: (message: string) => void;
  /** The line written for an event (e.g. Intercept's field names, intercept-format.ts); undefined writes none. Default: the event as it is. */
  shape?: (event: GatewayEvent) => object | undefined;
}

export class JsonlEventSink implements EventSink {
  readonly dir: string;
  readonly file: string;
  private readonly flushMs: number;
  private readonly maxBufferBytes: number;
  private readonly warnFn: (message: string) => void;
  private fd: number | null = null;
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private warned = false;
  private readonly onExit = (): void => this.flushSync();
  private readonly shape: ((event: GatewayEvent) => object | undefined) | undefined;

  constructor(opts: JsonlEventSinkOptions) {
    const now = (opts.now ?? Date.now)();
    this.dir = eventsDir(opts.stateDir);
    const date = new Date(now).toISOString().slice(0, 10);
    this.file = join(this.dir, `${date}-${opts.instance.replace(/[^A-Za-z0-9_-]/g, '_')}.jsonl`);
    this.flushMs = opts.flushMs ?? 50;
    this.maxBufferBytes = opts.maxBufferBytes ?? 64 * 1024;
    this.warnFn = opts.warn ?? warnToStderr;
    this.shape = opts.shape;

    this.open();
    const retention = opts.retentionDays ?? 7;
    if (retention > 0) this.prune(now - retention * DAY_MS);
    process.on('exit', this.onExit);
  }

  emit(event: GatewayEvent): void {
    if (this.closed) return;
    let line: string;
    try {
      const shaped = this.shape ? this.shape(event) : event;
      if (shaped === undefined) return;
      line = `${JSON.stringify(shaped)}\n`;
    } catch (err) {
      this.warnOnce(`cannot serialise a ${String(event?.type)} event, dropped it: ${message(err)}`);
      return;
    }
    this.buffer.push(line);
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= this.maxBufferBytes) {
      this.flushSync();
    } else if (this.timer === null) {
      this.timer = setTimeout(() => this.flushSync(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Write everything buffered now. Never throws. */
  flushSync(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buffer.length === 0) return;
    const data = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    this.bufferedBytes = 0;
    if (this.fd === null && !this.open()) return;
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd!, data, off, data.length - off);
    } catch (err) {
      this.warnOnce(`cannot write the event log ${this.file}, events dropped: ${message(err)}`);
    }
  }

  /** Flushes synchronously (the returned promise is already settled work). */
  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.closed) return;
    this.flushSync();
    this.closed = true;
    process.off('exit', this.onExit);
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch (err) {
        this.warnOnce(`cannot close the event log ${this.file}: ${message(err)}`);
      }
      this.fd = null;
    }
  }

  private open(): boolean {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.fd = openSync(this.file, 'a', 0o600);
      return true;
    } catch (err) {
      this.warnOnce(`cannot open the event log ${this.file}, events dropped: ${message(err)}`);
      return false;
    }
  }

  /** Delete our own kind of files last modified before `cutoff`, except this instance's. */
  private prune(cutoff: number): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return; // no directory, nothing to prune (open already warned)
    }
    for (const name of names) {
      if (!EVENT_FILE_PATTERN.test(name)) continue;
      const path = join(this.dir, name);
      if (path === this.file) continue;
      try {
        const st = statSync(path);
        if (st.isFile() && st.mtimeMs < cutoff) unlinkSync(path);
      } catch {
        // Another instance may be pruning the same file: not our problem.
      }
    }
  }

  private warnOnce(msg: string): void {
    if (this.warned) return;
    this.warned = true;
    try {
      this.warnFn(`${msg} (further event-log errors are not reported)`);
    } catch {
      // The warning channel itself failed; stay silent rather than throw.
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
