// The HTTP listener's view of who is calling: an operator's API key (no
// identity), or a grant token / JWT naming a grant (that grant's identity and
// policy). Anything else is refused with 401 and never reaches a session.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { callerDenial, createAuthenticator } from './authenticate.js';
import { GRANTS_DB_FILE, GrantStore } from './grants.js';
import { JwtVerifier, type JwtOptions } from './jwt.js';
import { parseBearer, secretEquals } from './tokens.js';

export interface CallerIdentity {
  name: string;
  denial?: string;
  policyFile?: string;
}

export type ListenerAuthResult =
  | { ok: true; caller?: CallerIdentity }
  | { ok: false; status: number; message: string; headers?: Record<string, string> };

export interface ListenerAuth {
  /** Undefined when nothing is configured: the listener is open (loopback only). */
  check?: (authorization: string | undefined) => Promise<ListenerAuthResult>;
  close(): void;
}

export interface ListenerAuthOptions {
  apiKeys: string[];
  stateDir: string;
  /** JWTs naming grants (a key file or a JWKS URL). */
  jwt?: JwtOptions;
}

/**
 * Grants are in force when `<stateDir>/grants.db` exists (`toolgate grant
 * create` made it); API keys when given. Either one makes authentication
 * required; both can be used side by side.
 */
export async function openListenerAuth(o: ListenerAuthOptions): Promise<ListenerAuth> {
  const grantsFile = join(o.stateDir, GRANTS_DB_FILE);
  const grants = existsSync(grantsFile) ? new GrantStore({ path: grantsFile }) : undefined;
  if (o.jwt && !grants) throw new Error(`JWT authentication maps tokens to grants, and ${grantsFile} has none: create one with toolgate grant create NAME`);
  const byGrant = grants ? createAuthenticator({ grants, ...(o.jwt ? { jwt: await JwtVerifier.create(o.jwt) } : {}) }) : undefined;
  const close = () => grants?.close();
  if (!byGrant && o.apiKeys.length === 0) return { close };

  const check = async (header: string | undefined): Promise<ListenerAuthResult> => {
    const bearer = parseBearer(header);
    if (bearer.ok) {
      // Constant time over every key, whichever matches.
      let isKey = false;
      for (const k of o.apiKeys) isKey = secretEquals(bearer.credential, k) || isKey;
      if (isKey) return { ok: true };
    }
    if (byGrant) {
      const who = await byGrant(header);
      if (!who.ok) return { ok: false, status: who.status, message: `Unauthorized: ${who.message}`, headers: { 'www-authenticate': who.wwwAuthenticate } };
      const caller: CallerIdentity = { name: who.name };
      const denial = callerDenial(who);
      if (denial !== undefined) caller.denial = denial;
      if (who.policy.kind === 'file') caller.policyFile = who.policy.path;
      return { ok: true, caller };
    }
    return bearer.ok
      ? { ok: false, status: 401, message: 'Unauthorized: invalid API key', headers: { 'www-authenticate': 'Bearer realm="toolgate", error="invalid_token"' } }
      : { ok: false, status: 401, message: 'Unauthorized: an API key is required (Authorization: Bearer KEY)', headers: { 'www-authenticate': 'Bearer realm="toolgate"' } };
  };
  return { check, close };
}
