// Errors a counter store raises when it cannot answer at all (network store
// down, timed out, refusing writes). The call guard turns them into the
// configured fail mode: closed (deny, the default) or open (allow, audited).
// Anything else a store throws (RangeError for a poisoned amount, a bug) is
// not an availability problem and always denies.

export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError';
  /** Marker that survives module duplication (instanceof may not). */
  readonly stateUnavailable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isStateUnavailable(err: unknown): err is StateUnavailableError {
  return err instanceof StateUnavailableError || (typeof err === 'object' && err !== null && (err as { stateUnavailable?: unknown }).stateUnavailable === true);
}

/** What the gateway does with calls that need state while the store is unreachable. */
export type StateFailMode = 'closed' | 'open';
