// The codec of the gateway's input-round token (2026-07-28 multi round-trip
// requests): the server's own requestState, wrapped so the client's retry is
// recognised and cannot rewrite what the server wrote.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The gateway's wrapping of a server's `requestState` in an input_required
 * result. The client echoes it on the retry; the server gets back exactly what
 * it wrote.
 *   toolgate.2.<nonce>.-.<mac>           the server sent no requestState
 *   toolgate.2.<nonce>.b<base64url>.<mac> the server's requestState
 * The mac is HMAC-SHA256 of `<nonce>.<body>` under a key the client never
 * sees. A per-process key is enough: parked rounds live in this process only.
 */
export const ROUND_TOKEN_PREFIX = 'toolgate.2.';
/** Every requestState starting so is taken for a token of a toolgate gateway. */
const ROUND_TOKEN_FAMILY = 'toolgate.';
const PROCESS_ROUND_KEY = randomBytes(32);

function roundMac(key: Uint8Array, nonce: string, body: string): Buffer {
  return createHmac('sha256', key).update(`${nonce}.${body}`).digest();
}

export function wrapRequestState(nonce: string, original: string | undefined, key: Uint8Array = PROCESS_ROUND_KEY): string {
  const body = original === undefined ? '-' : `b${Buffer.from(original, 'utf8').toString('base64url')}`;
  return `${ROUND_TOKEN_PREFIX}${nonce}.${body}.${roundMac(key, nonce, body).toString('base64url')}`;
}

/**
 * The nonce and the server's own requestState (undefined: it sent none) of a
 * token this gateway issued; 'forged' for a toolgate token whose mac does not
 * verify (altered, made up, or from another process); undefined when the
 * requestState is not a toolgate token at all.
 */
export function unwrapRequestState(token: string, key: Uint8Array = PROCESS_ROUND_KEY): { nonce: string; original: string | undefined } | 'forged' | undefined {
  if (!token.startsWith(ROUND_TOKEN_FAMILY)) return undefined;
  if (!token.startsWith(ROUND_TOKEN_PREFIX)) return 'forged';
  const parts = token.slice(ROUND_TOKEN_PREFIX.length).split('.');
  if (parts.length !== 3) return 'forged';
  const [nonce, body, mac] = parts as [string, string, string];
  if (nonce === '' || (body !== '-' && !/^b[A-Za-z0-9_-]*$/.test(body)) || !/^[A-Za-z0-9_-]+$/.test(mac)) return 'forged';
  const given = Buffer.from(mac, 'base64url');
  const expected = roundMac(key, nonce, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
  return { nonce, original: body === '-' ? undefined : Buffer.from(body.slice(1), 'base64url').toString('utf8') };
}
