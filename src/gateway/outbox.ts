// The ordered outbox: upstream-bound messages leave in the order they arrived,
// although deciding a tools/call is asynchronous. A call takes a slot when it
// arrives; what comes after it waits behind the slot until it is filled (the
// decided call) or given up (denied, held). Decisions still run concurrently.
import type { MessageChannel } from '../mcp/index.js';
import type { PendingCall } from './call-record.js';

/** A place in the outbox. */
export interface Slot {
  text?: string;
  /** The parsed form of text (passed on, so the upstream channel need not parse it again). */
  value?: unknown;
  done: boolean;
  /** The decided tools/call this slot carries (marked `sent` when it leaves). */
  call?: PendingCall;
}

export class Outbox {
  private readonly slots: Slot[] = [];
  /** False once the upstream closed: nothing more is sent. */
  open = true;

  constructor(private readonly upstream: MessageChannel) {}

  /** A message that needs no decision: sent now, or queued behind the slots before it. */
  pass(text: string, value: unknown): void {
    if (this.slots.length === 0) {
      if (this.open) this.upstream.send(text, { value });
      return;
    }
    this.slots.push({ text, value, done: true });
  }

  /** A place for a message whose content is decided later. */
  reserve(): Slot {
    const slot: Slot = { done: false };
    this.slots.push(slot);
    return slot;
  }

  /** The slot's message is decided: it leaves (in order) carrying `text`. */
  fill(slot: Slot, text: string, value: unknown, call?: PendingCall): void {
    slot.text = text;
    slot.value = value;
    if (call) slot.call = call;
    slot.done = true;
    this.flush();
  }

  /** The slot carries nothing after all (denied, held, failed). */
  release(slot: Slot): void {
    if (slot.done) return;
    slot.done = true;
    this.flush();
  }

  private flush(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.text === undefined || !this.open) continue;
      if (slot.call) slot.call.sent = true;
      this.upstream.send(slot.text, slot.value === undefined ? undefined : { value: slot.value });
    }
  }
}
