// Everything the session sends the client goes through here: its own answers
// (shaped for the session's protocol revision), the server's answers, batch
// collection, and the ids of client requests in flight.
import { classify, idKey, shapeOwnAnswer } from '../mcp/index.js';
import type { MessageChannel, SendOptions, JsonRpcId, JsonRpcResponse, ProtocolGeneration } from '../mcp/index.js';

/** Collects the answers to one client batch, sent back together as one array. */
export interface Batch {
  expected: number;
  responses: JsonRpcResponse[];
}

export class Replies {
  /**
   * Every client request from its arrival until its answer goes back: a
   * request reusing one of these ids is refused before anything is
   * forwarded (two answers with one id could not be told apart: a ping's
   * answer could pass as a tools/list's, unfiltered). A cancelled request
   * keeps its id until the server answers it.
   */
  private readonly inFlight = new Set<string>();
  private readonly batchOf = new Map<string, Batch>();

  constructor(
    private readonly downstream: MessageChannel,
    private readonly generation: () => ProtocolGeneration | undefined,
  ) {}

  isInFlight(id: JsonRpcId): boolean {
    return this.inFlight.has(idKey(id));
  }

  /** A client request arrived: its id is taken until its answer goes back. */
  begin(id: JsonRpcId): void {
    this.inFlight.add(idKey(id));
  }

  /** Every id is free again (the upstream closed; everything waiting was answered). */
  clearInFlight(): void {
    this.inFlight.clear();
  }

  /** A client batch: its requests (not those reusing an id in flight) answer into one array. */
  openBatch(items: unknown[]): Batch {
    const batch: Batch = { expected: 0, responses: [] };
    for (const item of items) {
      const c = classify(item);
      // An id already in flight keeps its own route; this element is refused (the session's handleOne).
      if (c.kind === 'request' && !this.inFlight.has(idKey(c.msg.id))) this.batchOf.set(idKey(c.msg.id), batch);
      if (c.kind === 'request' || c.kind === 'invalid') batch.expected++;
    }
    return batch;
  }

  /** The batch a request (by idKey) came in, if it came in one. */
  batchFor(key: string): Batch | undefined {
    return this.batchOf.get(key);
  }

  /** Send an answer the gateway wrote itself, in the shape of the session's revision (never into a batch). */
  reply(res: JsonRpcResponse): void {
    this.send(shapeOwnAnswer(res, this.generation()));
  }

  /** Send a gateway-made answer to a request the gateway handled, into its batch when the request came in one. */
  answer(res: JsonRpcResponse, batch: Batch | undefined): void {
    this.settleId(res);
    this.refuse(res, batch);
  }

  /**
   * Answer a message the gateway refused (invalid, or reusing an id in
   * flight): the id's route and in-flight mark belong to another request and stay.
   */
  refuse(res: JsonRpcResponse, batch: Batch | undefined): void {
    this.toBatchOrClient(shapeOwnAnswer(res, this.generation()), batch);
  }

  /** The server's answer (`res` is `text` parsed), never reshaped; into its batch when its request came in one. */
  relay(res: JsonRpcResponse, text: string, status?: number): void {
    if (res.id !== null) this.inFlight.delete(idKey(res.id));
    const batch = res.id === null ? undefined : this.batchOf.get(idKey(res.id));
    if (batch) {
      this.settleId(res);
      this.toBatchOrClient(res, batch);
    } else this.downstream.send(text, status !== undefined ? { status, value: res } : { value: res });
  }

  /** A server message that is not an answer (notification, request), on the stream it relates to. */
  pass(text: string, opts: SendOptions): void {
    this.downstream.send(text, opts);
  }

  /** A message the gateway itself sends the client (progress while held, its own elicitation). */
  notify(message: object): void {
    this.downstream.send(JSON.stringify(message));
  }

  send(res: JsonRpcResponse): void {
    this.downstream.send(JSON.stringify(res), { value: res });
  }

  /** The answer's id is free again: no batch route, no longer in flight. */
  private settleId(res: JsonRpcResponse): void {
    if (res.id !== null) {
      this.batchOf.delete(idKey(res.id));
      this.inFlight.delete(idKey(res.id));
    }
  }

  private toBatchOrClient(res: JsonRpcResponse, batch: Batch | undefined): void {
    if (!batch) {
      this.send(res);
      return;
    }
    batch.responses.push(res);
    if (batch.responses.length >= batch.expected) this.downstream.send(JSON.stringify(batch.responses), { value: batch.responses });
  }
}
