// RFC 8693 token exchange, on behalf of each caller: the caller's (validated)
// access token is the subject token; toolgate, authenticated as its own
// client, gets a token for the upstream's resource and sends that upstream.
// The caller's token never goes upstream. Exchanged tokens are cached per
// caller until shortly before they expire, kept in memory only, never logged.
// Any failure fails closed: the request that needed the token is refused.
import { createHash } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import type { TokenExchangeConfig } from './exchange-config.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export type ExchangeReason = 'exchange_no_subject' | 'exchange_subject_rejected' | 'exchange_refused' | 'exchange_misconfigured' | 'exchange_unavailable';

export type ExchangeResult = { ok: true } | { ok: false; status: 401 | 403 | 502; reason: ExchangeReason; message: string };

export interface TokenExchangerOptions {
  /** The upstream's name (in messages). */
  server: string;
  config: TokenExchangeConfig;
  /** The issuer when the block names none (the inbound tokens' issuer). */
  defaultIssuer: string;
  /** The requested resource when the block names none (the upstream URL). */
  defaultResource: string;
  clock?: () => number;
  /** Exchange again this long before the token expires at most (default 30 s; half the lifetime for short-lived tokens). */
  aheadMs?: number;
}

interface Held {
  subject: string;
  token: string;
  /** When the token stops being sent at all. */
  expiresAt: number;
  /** When a request exchanges the caller's token again. */
  renewAt: number;
}

/** When the server gives no lifetime, the exchanged token is used this long. */
const DEFAULT_LIFETIME_MS = 60_000;

/** The key a caller's exchanged token is kept under: the same one its sessions are bound to. */
export function exchangeKeyOf(caller: { name: string; binding?: string } | undefined): string | undefined {
  return caller === undefined ? undefined : (caller.binding ?? caller.name);
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

export class TokenExchanger {
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, Promise<ExchangeResult>>();
  private metadata: Promise<oauth.AuthorizationServer> | undefined;
  private readonly clock: () => number;
  private readonly issuer: string;
  private readonly resource: string;

  constructor(private readonly o: TokenExchangerOptions) {
    this.clock = o.clock ?? Date.now;
    this.issuer = o.config.issuer ?? o.defaultIssuer;
    this.resource = o.config.resource ?? o.defaultResource;
  }

  /** The exchanged token of this caller, while it is valid (undefined otherwise: nothing is sent). */
  current(key: string | undefined): string | undefined {
    const h = key === undefined ? undefined : this.held.get(key);
    return h && h.expiresAt > this.clock() ? h.token : undefined;
  }

  /** Make sure the caller holds a token exchanged from this subject token, fresh enough to send. */
  ensure(key: string, subjectToken: string): Promise<ExchangeResult> {
    const subject = digest(subjectToken);
    const h = this.held.get(key);
    if (h && h.subject === subject && h.renewAt > this.clock()) return Promise.resolve({ ok: true });
    // Concurrent requests of one caller share one exchange.
    const inFlight = `${key}\u0000${subject}`;
    let p = this.pending.get(inFlight);
    if (!p) {
      p = this.exchange(key, subject, subjectToken).finally(() => this.pending.delete(inFlight));
      this.pending.set(inFlight, p);
    }
    return p;
  }

  /** Forget every caller's token (shutdown). */
  clear(): void {
    this.held.clear();
  }

  private async exchange(key: string, subject: string, subjectToken: string): Promise<ExchangeResult> {
    const c = this.o.config;
    const where = `the token exchange for server "${this.o.server}" at ${this.issuer}`;
    let as: oauth.AuthorizationServer;
    try {
      as = await this.serverMetadata();
    } catch (err) {
      return { ok: false, status: 502, reason: 'exchange_unavailable', message: `${where} failed: ${(err as Error).message}` };
    }
    const client: oauth.Client = { client_id: c.clientId };
    const auth = c.clientAuth === 'client_secret_post' ? oauth.ClientSecretPost(c.clientSecret) : oauth.ClientSecretBasic(c.clientSecret);
    const params = new URLSearchParams({
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      resource: this.resource,
    });
    if (c.audience !== undefined) params.set('audience', c.audience);
    if (c.scopes.length > 0) params.set('scope', c.scopes.join(' '));
    const started = this.clock();
    let answer: oauth.TokenEndpointResponse;
    try {
      const res = await oauth.genericTokenEndpointRequest(as, client, auth, TOKEN_EXCHANGE_GRANT, params, {
        [oauth.allowInsecureRequests]: true, // only loopback may be plain http: checked in the config and in serverMetadata()
        signal: AbortSignal.timeout(10_000),
      });
      answer = await oauth.processGenericTokenEndpointResponse(as, client, res);
    } catch (err) {
      return this.failure(err, where, subjectToken);
    }
    if (answer.issued_token_type !== undefined && answer.issued_token_type !== ACCESS_TOKEN_TYPE)
      return {
        ok: false,
        status: 502,
        reason: 'exchange_misconfigured',
        message: `${where} issued a ${String(answer.issued_token_type)}, not an access token`,
      };
    if (answer.access_token === subjectToken)
      return { ok: false, status: 502, reason: 'exchange_misconfigured', message: `${where} answered with the caller's own token` };
    const lifetime = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in * 1000 : DEFAULT_LIFETIME_MS;
    const expiresAt = started + lifetime;
    this.prune();
    this.held.set(key, { subject, token: answer.access_token, expiresAt, renewAt: expiresAt - Math.min(this.o.aheadMs ?? 30_000, lifetime / 2) });
    return { ok: true };
  }

  /** What went wrong, for the caller and the audit: the server's error code and text, never a token. */
  private failure(err: unknown, where: string, subjectToken: string): ExchangeResult & { ok: false } {
    if (err instanceof oauth.ResponseBodyError) {
      const said = `${err.error}${err.error_description ? `: ${err.error_description.replaceAll(subjectToken, '[token]').slice(0, 200)}` : ''}`;
      switch (err.error) {
        case 'invalid_grant': // RFC 8693 §2.2.2: the subject token is not valid (expired, revoked, not for this exchange)
          return { ok: false, status: 401, reason: 'exchange_subject_rejected', message: `${where} refused the caller's token (${said})` };
        case 'invalid_target':
        case 'invalid_scope':
        case 'access_denied':
        case 'unauthorized_client':
          return { ok: false, status: 403, reason: 'exchange_refused', message: `${where} was refused (${said})` };
        default: // invalid_client, unsupported_grant_type, invalid_request: toolgate's side is misconfigured
          return { ok: false, status: 502, reason: 'exchange_misconfigured', message: `${where} was refused (${said}); check the token_exchange settings` };
      }
    }
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, status: 502, reason: 'exchange_unavailable', message: `${where} failed: ${message}` };
  }

  /** RFC 8414 (then OpenID Connect discovery) metadata, or the configured token endpoint; a failure is retried at the next request. */
  private serverMetadata(): Promise<oauth.AuthorizationServer> {
    if (!this.metadata) {
      this.metadata = this.discover();
      this.metadata.catch(() => (this.metadata = undefined));
    }
    return this.metadata;
  }

  private async discover(): Promise<oauth.AuthorizationServer> {
    const issuer = new URL(this.issuer);
    let as: oauth.AuthorizationServer | undefined;
    if (this.o.config.tokenEndpoint !== undefined) as = { issuer: this.issuer, token_endpoint: this.o.config.tokenEndpoint };
    let lastError = '';
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      if (as) break;
      try {
        const res = await oauth.discoveryRequest(issuer, { algorithm, [oauth.allowInsecureRequests]: true, signal: AbortSignal.timeout(10_000) });
        as = await oauth.processDiscoveryResponse(issuer, res);
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    if (!as) throw new Error(`the authorization server could not be discovered (${lastError})`);
    const endpoint = as.token_endpoint;
    if (!endpoint) throw new Error('its metadata names no token_endpoint');
    const u = new URL(endpoint);
    if (u.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
      throw new Error(`its token_endpoint ${endpoint} is not https (plain http only on loopback)`);
    return as;
  }

  /** Tokens of callers that left are dropped once expired. */
  private prune(): void {
    const now = this.clock();
    for (const [k, h] of this.held) if (h.expiresAt <= now) this.held.delete(k);
  }
}
