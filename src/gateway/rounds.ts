// 2026-07-28 multi round-trip requests: a decided tools/call answered
// input_required is parked with its reservation until the client repeats it
// (echoing the gateway's token), or until it expires (then rolled back).
import { randomUUID } from 'node:crypto';
import type { JsonRpcResponse } from '../mcp/index.js';
import type { Logger } from '../log/index.js';
import type { CallEnd, PendingCall } from './call-record.js';
import { wrapRequestState } from './round-token.js';

export interface RoundsOptions {
  /** How long a parked call keeps its reservation (ms; default 600000). */
  ttlMs?: number;
  finish: (call: PendingCall, end: CallEnd) => void;
  log: Logger;
}

export class InputRounds {
  private readonly parked = new Map<string, { call: PendingCall; timer: NodeJS.Timeout }>();

  constructor(private readonly o: RoundsOptions) {}

  get size(): number {
    return this.parked.size;
  }

  /** The answer was input_required: keep the reservation for the retry; the client gets a token to echo. */
  park(call: PendingCall, res: JsonRpcResponse): JsonRpcResponse {
    const result = res.result as Record<string, unknown>;
    const nonce = randomUUID().replaceAll('-', '');
    const original = typeof result.requestState === 'string' ? result.requestState : undefined;
    const timer = setTimeout(() => {
      if (!this.parked.delete(nonce)) return;
      this.o.log.info({ tool: call.tool }, 'no retry after input_required; the reservation is rolled back');
      this.o.finish(call, 'abandoned');
    }, this.o.ttlMs ?? 600_000);
    timer.unref();
    this.parked.set(nonce, { call, timer });
    return { ...res, result: { ...result, requestState: wrapRequestState(nonce, original) } };
  }

  /** The parked call a retry continues: same token, tool and arguments; undefined otherwise (then it is a new call). */
  take(nonce: string, tool: string, argsHash: string): PendingCall | undefined {
    const parked = this.parked.get(nonce);
    if (!parked || parked.call.tool !== tool || parked.call.argsHash !== argsHash) {
      if (parked) this.o.log.warn({ tool, was: parked.call.tool }, 'a retry echoed an input round of another call; deciding it as a new call');
      return undefined;
    }
    this.parked.delete(nonce);
    clearTimeout(parked.timer);
    return parked.call;
  }

  /** The session ends: every parked round is rolled back. */
  releaseAll(): void {
    for (const [nonce, r] of this.parked) {
      this.parked.delete(nonce);
      clearTimeout(r.timer);
      this.o.finish(r.call, 'abandoned');
    }
  }
}
