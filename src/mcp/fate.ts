// The fate of a request the upstream never answered. The upstream channels
// answer such a request themselves with a -32001 error; when the request had
// left (it was sent and the answer was lost: the connection or stream broke,
// the channel closed) the server may have acted on it, and the error's data
// says so. The session keeps the counters of such a call (fate unknown) and
// rolls back only calls that provably did not run (refused, never sent).

/** The `data` field of such an error. */
export const MAY_HAVE_RUN = 'may_have_run';

/** Whether an error response says the server may have acted on the request. */
export function mayHaveRun(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const data = (error as { data?: unknown }).data;
  return typeof data === 'object' && data !== null && (data as Record<string, unknown>)[MAY_HAVE_RUN] === true;
}

/** A connection refused: the request never reached a server. */
export function neverConnected(err: unknown): boolean {
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
  }
  return false;
}
