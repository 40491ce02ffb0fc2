// Newline-delimited JSON-RPC over a pair of byte streams (MCP's stdio transport).
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parseFrame, type MessageChannel, type Frame } from './channel.js';
import { admitFrame, type WireLimits } from './admit.js';
import { errorResponse, ErrorCode } from './jsonrpc.js';

/** Largest line accepted (bytes of text); a longer one is dropped with an error. */
const MAX_LINE = 64 * 1024 * 1024;

export class StdioChannel implements MessageChannel {
  onclose?: (reason?: Error) => void;
  private handler?: (frame: Frame) => void;
  onoverflow?: () => void;
  private buffer = '';
  private closed = false;
  private readonly decoder = new StringDecoder('utf8');

  /** `parse` turns a line into a frame: a client side passes admitFrame (admit.ts), so every line is admitted once, here. */
  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly parse: (text: string) => Frame = parseFrame,
    private readonly maxLine = MAX_LINE,
  ) {
    output.on('error', (err) => this.finish(err));
  }

  get onframe(): ((frame: Frame) => void) | undefined {
    return this.handler;
  }

  /** Reading starts when a handler is set, so no message is lost before the channel is wired. */
  set onframe(handler: ((frame: Frame) => void) | undefined) {
    const first = this.handler === undefined;
    this.handler = handler;
    if (!first || handler === undefined) return;
    this.input.on('data', (chunk: Buffer) => this.receive(this.decoder.write(chunk)));
    this.input.on('end', () => this.finish());
    this.input.on('close', () => this.finish());
    this.input.on('error', (err) => this.finish(err));
  }

  private receive(text: string): void {
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.buffer += text;
      if (this.buffer.length > this.maxLine) {
        this.buffer = '';
        this.onoverflow?.();
      }
      return;
    }
    let pending = this.buffer;
    this.buffer = '';
    while (nl !== -1) {
      let line = pending + text.slice(start, nl);
      pending = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.trim().length > 0) this.handler?.(this.parse(line));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.buffer = text.slice(start);
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const rest = this.buffer + this.decoder.end();
    this.buffer = '';
    if (rest.trim().length > 0) this.handler?.(this.parse(rest.trim()));
    this.onclose?.(err);
  }

  send(text: string): void {
    if (this.closed && this.output.destroyed) return;
    this.output.write(text + '\n');
  }

  async close(): Promise<void> {
    if (!this.output.destroyed) this.output.end();
    this.finish();
  }
}

/**
 * The client side of a stdio gateway: every line admitted (admit.ts) as it
 * is read, and a line longer than the message limit dropped as it grows,
 * answered with an error instead of buffered.
 */
export function clientStdioChannel(input: Readable, output: Writable, limits: Readonly<WireLimits>): StdioChannel {
  const channel = new StdioChannel(input, output, (text) => admitFrame(text, limits), limits.maxMessageBytes);
  channel.onoverflow = () =>
    channel.send(JSON.stringify(errorResponse(null, ErrorCode.InvalidRequest, `Invalid Request: the message is larger than ${limits.maxMessageBytes} bytes`)));
  return channel;
}
