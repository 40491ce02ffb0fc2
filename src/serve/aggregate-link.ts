// A member of the aggregate session: one server's ordinary GatewaySession,
// whose client channel is a Link to the aggregator.
import type { Frame, MessageChannel, SendOptions } from '../mcp/channel.js';
import { parseFrame } from '../mcp/channel.js';
import { isPlainObject } from '../mcp/jsonrpc.js';

/** What the wiring gives back for one member (a server's session inside this aggregate session). */
export interface MemberBinding {
  /** Start the upstream now (eager). */
  start(): void;
  close(): Promise<void>;
}

export interface MemberHooks {
  onInitialized(result: Record<string, unknown>): void;
  onRestarted(): void;
}

/** The channel a member's GatewaySession uses as its downstream. */
export class Link implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  private closed = false;

  constructor(private readonly out: (text: string, opts?: SendOptions) => void) {}

  /** A message from the aggregator (as if from the client). */
  deliver(text: string): void {
    if (!this.closed) this.onframe?.(parseFrame(text));
  }

  send(text: string, opts?: SendOptions): void {
    if (!this.closed) this.out(text, opts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}

export interface Member {
  name: string;
  link: Link;
  binding: MemberBinding;
  init?: Record<string, unknown>;
  initWaiters: Array<() => void>;
}

/** The aggregate's capabilities: the union of what the members offer, plus tools with listChanged (the list changes on reloads and restarts). */
export function capabilitiesOf(members: Member[]): Record<string, unknown> {
  const caps: Record<string, unknown> = { tools: { listChanged: true } };
  for (const m of members) {
    const sc = isPlainObject(m.init?.capabilities) ? m.init.capabilities : {};
    for (const k of ['prompts', 'resources', 'logging', 'completions']) {
      if (isPlainObject(sc[k])) caps[k] = { ...(isPlainObject(caps[k]) ? caps[k] : {}), ...sc[k] };
    }
  }
  if (caps.prompts) caps.prompts = { ...(caps.prompts as object), listChanged: true };
  if (caps.resources) caps.resources = { ...(caps.resources as object), listChanged: true };
  return caps;
}
