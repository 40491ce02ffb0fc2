import type { GatewayEvent, ToolCallEvent } from '../events/types.js';

/**
 * True when a tool_call event ends its call: an outcome (the upstream
 * answered, failed or the client cancelled) or a decision that stopped it.
 * An allowed decision emitted before forwarding (`stage: "decision"`) is
 * followed by its outcome event, so it is not counted twice.
 */
export function isFinalCallEvent(e: GatewayEvent): e is ToolCallEvent {
  if (e.type !== 'tool_call') return false;
  if (e.stage === 'outcome') return true;
  if (e.stage === 'decision') return e.decision !== 'allowed';
  return true;
}
