// The test's end of an in-memory channel pair (src/mcp/memory.ts): records
// every message it receives (parsed) and waits for them without sleeping.
import { MemoryChannel } from '../../src/mcp/memory.js';

export class Peer {
  /** Every message received, parsed, in order. */
  readonly received: any[] = [];
  closed = false;
  /** A scripted other side: what it returns for a received message (undefined: nothing) is sent back. */
  reply?: (message: any) => unknown;
  private waiters: Array<() => void> = [];

  constructor(readonly end: MemoryChannel) {
    end.onframe = (f) => {
      this.received.push(f.value);
      const answer = this.reply?.(f.value);
      if (answer !== undefined) this.send(answer);
      this.wake();
    };
    end.onclose = () => {
      this.closed = true;
      this.wake();
    };
  }

  /** A linked pair: the session's end, and a Peer on the other. */
  static link(): [MemoryChannel, Peer] {
    const [mine, theirs] = MemoryChannel.pair();
    return [mine, new Peer(theirs)];
  }

  send(message: unknown): void {
    this.end.send(JSON.stringify(message));
  }

  /** Waits until `pred` holds for a received message, and returns it. */
  async first(pred: (m: any) => boolean): Promise<any> {
    for (;;) {
      const found = this.received.find(pred);
      if (found !== undefined) return found;
      await this.next();
    }
  }

  /** Waits until at least `n` messages arrived. */
  async until(n: number): Promise<any[]> {
    while (this.received.length < n) await this.next();
    return this.received;
  }

  /** The answer (or batch containing the answer) with this id. */
  answer(id: string | number): Promise<any> {
    return this.first((m) => m && !Array.isArray(m) && m.id === id && !('method' in m));
  }

  private next(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
