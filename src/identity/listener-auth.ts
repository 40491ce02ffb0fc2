// The HTTP listener's view of who is calling: an operator's API key (no
// identity), or a grant token / JWT naming a grant (that grant's identity and
// policy). Anything else is refused with 401 and never reaches a session.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { callerDenial, createAuthenticator } from './authenticate.js';
import { GRANTS_DB_FILE, GrantStore } from './grants.js';
import { JwtVerifier, type JwtOptions } from './jwt.js';
import { looksLikeToken, parseBearer, secretEquals } from './tokens.js';
import { callerOf, type ProtectedResource } from '../oauth/index.js';

export interface CallerIdentity {
  name: string;
  denial?: string;
  policyFile?: string;
  /** The tools this caller may list and call (an OAuth token's scopes); absent: no restriction. */
  tools?: (tool: string) => boolean;
  /** What its sessions are bound to, when more than the name (an OAuth token's scopes and policy). */
  binding?: string;
}

/** Where a request arrived: the OAuth resource it addresses is this path on this host. */
export interface RequestTarget {
  path: string;
  host?: string;
}

/** A refused credential, for the audit (never the credential itself). */
export interface AuthRefusal {
  status: number;
  reason: string;
  message: string;
  resource?: string;
  /** Who was refused, when the credential itself was good (a refused token exchange). */
  identity?: string;
}

export type ListenerAuthResult = { ok: true; caller?: CallerIdentity } | { ok: false; status: number; message: string; headers?: Record<string, string> };

export interface ListenerAuth {
  /** Undefined when nothing is configured: the listener is open (loopback only). */
  check?: (authorization: string | undefined, target?: RequestTarget) => Promise<ListenerAuthResult>;
  /** RFC 9728 metadata of the MCP endpoint at `path`, when OAuth is configured. */
  resourceMetadata?: (path: string, host: string | undefined) => Record<string, unknown>;
  close(): void;
}

export interface ListenerAuthOptions {
  apiKeys: string[];
  stateDir: string;
  /** JWTs naming grants (a key file or a JWKS URL). */
  jwt?: JwtOptions;
  /** OAuth 2.1 bearer tokens from an authorization server (src/oauth). */
  oauth?: ProtectedResource;
  /** Every refused credential (to audit it). */
  onRefused?: (r: AuthRefusal) => void;
  /**
   * After an OAuth token is accepted: exchange it for the upstream tokens this
   * endpoint needs (RFC 8693, src/oauth/exchange.ts); a refusal ends the request.
   */
  exchange?: (
    token: string | undefined,
    caller: CallerIdentity | undefined,
    target: RequestTarget,
  ) => Promise<Omit<AuthRefusal, 'resource' | 'identity'> | undefined>;
}

/**
 * Grants are in force when `<stateDir>/grants.db` exists (`toolgate grant
 * create` made it); API keys when given. Either one makes authentication
 * required; both can be used side by side.
 */
export async function openListenerAuth(o: ListenerAuthOptions): Promise<ListenerAuth> {
  const grantsFile = join(o.stateDir, GRANTS_DB_FILE);
  const grants = existsSync(grantsFile) ? new GrantStore({ path: grantsFile }) : undefined;
  if (o.jwt && o.oauth)
    throw new Error('JWTs naming grants (--jwt-*) and OAuth (--oauth) cannot be used together: OAuth identities come from the token claims; choose one');
  if (o.jwt && !grants) throw new Error(`JWT authentication maps tokens to grants, and ${grantsFile} has none: create one with toolgate grant create NAME`);
  const byGrant = grants ? createAuthenticator({ grants, ...(o.jwt ? { jwt: await JwtVerifier.create(o.jwt) } : {}) }) : undefined;
  const close = () => grants?.close();
  if (!byGrant && o.apiKeys.length === 0 && !o.oauth) return { close };
  const refused = (r: ListenerAuthResult & { ok: false }, reason: string, resource?: string, identity?: string): ListenerAuthResult => {
    o.onRefused?.({
      status: r.status,
      reason,
      message: r.message,
      ...(resource !== undefined ? { resource } : {}),
      ...(identity !== undefined ? { identity } : {}),
    });
    return r;
  };

  // A caller without an OAuth token has nothing to exchange: an upstream that needs its exchanged token refuses it here.
  const withoutToken = async (caller: CallerIdentity | undefined, target: RequestTarget): Promise<ListenerAuthResult> => {
    const no = await o.exchange?.(undefined, caller, target);
    if (!no) return caller ? { ok: true, caller } : { ok: true };
    return refused({ ok: false, status: no.status, message: `Forbidden: ${no.message}` }, no.reason, undefined, caller?.name);
  };

  const check = async (header: string | undefined, target: RequestTarget = { path: '/mcp' }): Promise<ListenerAuthResult> => {
    const bearer = parseBearer(header);
    if (bearer.ok) {
      // Constant time over every key, whichever matches.
      let isKey = false;
      for (const k of o.apiKeys) isKey = secretEquals(bearer.credential, k) || isKey;
      if (isKey) return withoutToken(undefined, target);
    }
    const oauth = o.oauth;
    if (oauth && !(byGrant && bearer.ok && looksLikeToken(bearer.credential))) {
      // Anything but an API key or a grant token is an OAuth access token for this endpoint's resource.
      const resource = oauth.resourceFor(target.path, target.host);
      if (!bearer.ok) {
        const reason = bearer.reason;
        const message =
          reason === 'missing'
            ? 'authentication required: get a token from the authorization server named in the resource metadata'
            : 'the Authorization header must be "Bearer <token>"';
        const r = {
          ok: false as const,
          status: reason === 'missing' ? 401 : 400,
          message: `Unauthorized: ${message}`,
          headers: { 'www-authenticate': oauth.challenge(resource, { reason, message }) },
        };
        // A first request without a token is how every OAuth client starts: not worth an audit record.
        return reason === 'missing' ? r : refused(r, reason, resource);
      }
      const v = await oauth.verify(bearer.credential, resource);
      if (!v.ok) {
        return refused(
          {
            ok: false,
            status: v.status,
            message: `${v.status === 403 ? 'Forbidden' : 'Unauthorized'}: ${v.message}`,
            headers: { 'www-authenticate': oauth.challenge(resource, v) },
          },
          v.reason,
          resource,
        );
      }
      const who = callerOf(v.principal, oauth.config);
      const caller: CallerIdentity = { name: who.name };
      if (who.policyFile !== undefined) caller.policyFile = who.policyFile;
      if (who.tools) {
        caller.tools = who.tools;
        caller.binding = `${who.name}\u0000${[...who.scopes].sort().join(' ')}\u0000${who.policyFile ?? ''}`;
      } else if (who.policyFile !== undefined) caller.binding = `${who.name}\u0000\u0000${who.policyFile}`;
      const exchanged = await o.exchange?.(bearer.credential, caller, target);
      if (exchanged) {
        const r = {
          ok: false as const,
          status: exchanged.status,
          message: `${exchanged.status === 502 ? 'Bad Gateway' : exchanged.status === 403 ? 'Forbidden' : 'Unauthorized'}: ${exchanged.message}`,
        };
        // 401: the caller's token was not good enough to exchange; a new token may be (invalid_token).
        const headers =
          exchanged.status === 401 ? { 'www-authenticate': oauth.challenge(resource, { reason: 'invalid', message: exchanged.message }) } : undefined;
        return refused(headers ? { ...r, headers } : r, exchanged.reason, resource, caller.name);
      }
      return { ok: true, caller };
    }
    if (byGrant) {
      const who = await byGrant(header);
      if (!who.ok) return { ok: false, status: who.status, message: `Unauthorized: ${who.message}`, headers: { 'www-authenticate': who.wwwAuthenticate } };
      const caller: CallerIdentity = { name: who.name };
      const denial = callerDenial(who);
      if (denial !== undefined) caller.denial = denial;
      if (who.policy.kind === 'file') caller.policyFile = who.policy.path;
      return withoutToken(caller, target);
    }
    return bearer.ok
      ? { ok: false, status: 401, message: 'Unauthorized: invalid API key', headers: { 'www-authenticate': 'Bearer realm="toolgate", error="invalid_token"' } }
      : {
          ok: false,
          status: 401,
          message: 'Unauthorized: an API key is required (Authorization: Bearer KEY)',
          headers: { 'www-authenticate': 'Bearer realm="toolgate"' },
        };
  };
  const oauth = o.oauth;
  const resourceMetadata = oauth ? (path: string, host: string | undefined) => oauth.metadataFor(oauth.resourceFor(path, host)) : undefined;
  return { check, close, ...(resourceMetadata ? { resourceMetadata } : {}) };
}
