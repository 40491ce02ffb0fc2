// A message channel carries serialized JSON-RPC messages (or batches) in one
// direction pair. Frames keep the original text so untouched messages cross
// the gateway byte for byte.

export interface Frame {
  /** The message text as received (one line for stdio). */
  text: string;
  /** The parsed value, or undefined when the text is not JSON. */
  value: unknown;
}

export interface MessageChannel {
  /** Called for every frame received. */
  onframe?: (frame: Frame) => void;
  /** Called once when the channel can no longer carry messages. */
  onclose?: (reason?: Error) => void;
  /** Send one serialized message or batch. */
  send(text: string): void;
  close(): Promise<void>;
}

export function parseFrame(text: string): Frame {
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch {
    return { text, value: undefined };
  }
}
