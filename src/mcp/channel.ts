// A message channel carries serialized JSON-RPC messages (or batches) in one
// direction pair. Frames keep the original text so untouched messages cross
// the gateway byte for byte.
import type { JsonRpcId, JsonRpcResponse } from './jsonrpc.js';

export interface Frame {
  /** The message text as received (one line for stdio). */
  text: string;
  /** The parsed value, or undefined when the text is not JSON. */
  value: unknown;
  /**
   * The id of the request whose stream carried this message, when the
   * transport knows it (a Streamable HTTP POST response stream). Progress,
   * logging and server-to-client requests sent while a request runs carry it,
   * so the gateway can send them back on the matching downstream stream.
   */
  related?: JsonRpcId;
  /** The HTTP status the upstream answered with, when it was not 200 (the stateless listener lane mirrors it). */
  status?: number;
  /** A client message that passed admission (admit.ts): `value` is safe to act on, `text` to forward. */
  admitted?: boolean;
  /**
   * A client message that admission refused (`value` is then undefined): the
   * error to answer with, the parsed message when it parsed (to audit a
   * refused call), and whether the transport has answered it already.
   */
  refused?: { error: JsonRpcResponse; value?: unknown; answered?: boolean };
  /** An answer the channel wrote itself (the upstream could not answer): the session shapes it for the client's revision. */
  own?: boolean;
}

export interface SendOptions {
  /**
   * The request this message relates to (see Frame.related). A response is
   * related to its own id; channels find that themselves, so it need not be
   * given. Channels without per-request streams ignore it.
   */
  related?: JsonRpcId;
  /** See Frame.status: the upstream's HTTP status for this answer. */
  status?: number;
  /**
   * The parsed form of `text`, when the sender has it, so a channel that
   * looks into the message need not parse it again. Neither side changes it
   * afterwards. Channels that only pass the text on ignore it.
   */
  value?: unknown;
}

export interface MessageChannel {
  /** Called for every frame received. */
  onframe?: (frame: Frame) => void;
  /** Called once when the channel can no longer carry messages. */
  onclose?: (reason?: Error) => void;
  /** Send one serialized message or batch. */
  send(text: string, opts?: SendOptions): void;
  close(): Promise<void>;
}

/** What a channel was sent, parsed: the sender's value when it gave one, else `text` parsed (undefined when it is not JSON). */
export function sentValue(text: string, opts?: SendOptions): unknown {
  return opts?.value !== undefined ? opts.value : parseFrame(text).value;
}

export function parseFrame(text: string): Frame {
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch {
    return { text, value: undefined };
  }
}
