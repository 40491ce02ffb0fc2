// Server-Sent Events framing, exactly as the WHATWG "event stream" rules say:
// lines end in CRLF, LF or CR; a leading BOM is dropped; `field: value` loses
// one space after the colon; several `data` lines join with "\n"; an `id`
// containing NUL is ignored; `retry` takes ASCII digits only; a blank line
// dispatches the event (an event whose data buffer is empty is not dispatched);
// lines starting with ":" are comments.
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  /** The event type ("message" when the stream did not name one). */
  event: string;
  data: string;
  /** The last event id in force when this event was dispatched ('' when none). */
  id: string;
}

export class SseParser {
  /** The stream's last event id (persists across events, as in EventSource). */
  lastEventId = '';
  /** The reconnection time the server asked for, in milliseconds. */
  retry: number | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private started = false;
  private pendingCR = false;
  private data: string[] = [];
  private hasData = false;
  private eventType = '';

  constructor(private readonly onevent: (e: SseEvent) => void) {}

  /** Feed bytes (or text) as they arrive. */
  push(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      const line = this.buffer + text.slice(start, i);
      this.buffer = '';
      if (ch === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      this.line(line);
    }
    this.buffer += text.slice(start);
  }

  /** The stream ended: an incomplete event is discarded, as EventSource does. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.hasData = false;
    this.eventType = '';
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    const type = this.eventType;
    this.eventType = '';
    if (!this.hasData) {
      this.data = [];
      return;
    }
    const data = this.data.join('\n');
    this.data = [];
    this.hasData = false;
    this.onevent({ event: type === '' ? 'message' : type, data, id: this.lastEventId });
  }
}

/** Serialise one SSE event; multi-line data becomes several `data:` lines. */
export function formatSseEvent(e: { event?: string; data: string; id?: string }): string {
  let out = '';
  if (e.event !== undefined && e.event !== 'message') out += `event: ${e.event}\n`;
  if (e.id !== undefined) out += `id: ${e.id}\n`;
  for (const line of e.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}
