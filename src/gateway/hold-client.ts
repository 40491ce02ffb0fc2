// What a session says to its client while one of its calls waits for
// approval: progress notifications (when the client sent a progressToken),
// and MCP elicitation, the gateway's own request asking the client itself
// when the policy allows self-approval.
import { randomUUID } from 'node:crypto';
import { isPlainObject, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/jsonrpc.js';
import { elicitationRequest, parseElicitationResult } from '../approval/elicitation.js';
import type { Elicit } from '../approval/queue.js';

/** Ids of the requests the gateway itself sends to the client: they cannot collide with the client's or the server's. */
export const OWN_ID_PREFIX = 'toolgate-';

export interface HoldClientOptions {
  /** Sends the client a message of the gateway's own. */
  notify: (message: object) => void;
  /** Progress notifications go out this often (ms; default 10000). */
  progressEveryMs?: number;
}

export class HoldClient {
  /** The gateway's own elicitation requests to the client, by id. */
  private readonly pending = new Map<string, { settle: (res: JsonRpcResponse) => void }>();
  /** The client declared the elicitation capability. */
  elicits = false;

  constructor(private readonly o: HoldClientOptions) {}

  noteCapabilities(params: unknown): void {
    const caps = isPlainObject(params) && isPlainObject(params.capabilities) ? params.capabilities : undefined;
    this.elicits = caps !== undefined && isPlainObject(caps.elicitation);
  }

  /** A response to one of the gateway's own requests; true when it was one. */
  ownResponse(res: JsonRpcResponse): boolean {
    const e = this.pending.get(String(res.id));
    if (!e) return false;
    this.pending.delete(String(res.id));
    e.settle(res);
    return true;
  }

  /** The client is gone: its elicitations are forgotten (no cancellations to send). */
  forget(): void {
    this.pending.clear();
  }

  /** Progress notifications to a client that sent a progressToken, while its call waits. */
  progressWhileWaiting(req: JsonRpcRequest, approvalId: string, expiresAt: number): () => void {
    const meta = isPlainObject(req.params) && isPlainObject(req.params._meta) ? req.params._meta : undefined;
    const token = meta?.progressToken;
    if (typeof token !== 'string' && typeof token !== 'number') return () => {};
    let n = 0;
    const tick = () => {
      n++;
      const params = { progressToken: token, progress: n, message: `waiting for approval ${approvalId} (until ${new Date(expiresAt).toISOString()})` };
      this.o.notify({ jsonrpc: '2.0', method: 'notifications/progress', params });
    };
    tick();
    const timer = setInterval(tick, this.o.progressEveryMs ?? 10_000);
    return () => clearInterval(timer);
  }

  /** Ask the client itself (MCP elicitation); used by the approval queue when the policy allows self-approval. */
  readonly elicit: Elicit = (record, signal) =>
    new Promise((resolve, reject) => {
      const id = `${OWN_ID_PREFIX}elicit-${randomUUID()}`;
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.o.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'decided through another channel' } });
        reject(new Error('elicitation no longer needed'));
      };
      this.pending.set(id, {
        settle: (res) => {
          signal.removeEventListener('abort', onAbort);
          const answer = res.error ? undefined : parseElicitationResult(res.result);
          if (answer) resolve(answer);
          else
            reject(
              new Error(
                res.error
                  ? `client answered elicitation with error ${res.error.code}: ${res.error.message}`
                  : 'client answered elicitation with an unreadable result',
              ),
            );
        },
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.o.notify({ jsonrpc: '2.0', id, method: 'elicitation/create', params: elicitationRequest(record) });
    });
}
