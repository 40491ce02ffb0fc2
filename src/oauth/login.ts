// `toolgate auth login <server>`: toolgate becomes an OAuth client of a remote
// MCP server once, with a human at the browser. The MCP SDK's client auth
// does the protocol (RFC 9728 -> RFC 8414 discovery, Client ID Metadata
// Documents or dynamic client registration, PKCE, RFC 8707 resource); this
// file gives it a loopback callback on 127.0.0.1, checks `state` and the
// RFC 9207 `iss` of the answer, and seals what it got into the vault.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  auth,
  extractWWWAuthenticateParams,
  refreshAuthorization,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { TokenVault, UpstreamLogin } from './vault.js';

export interface LoginOptions {
  server: string;
  url: string;
  vault: TokenVault;
  /** Show the authorization URL to the human (print it; a test follows it). */
  open: (url: string) => void;
  /** An https URL of this client's metadata document (CIMD), used where the authorization server supports it. */
  clientMetadataUrl?: string;
  scope?: string;
  /** Give up waiting for the browser after this long (ms; default 5 minutes). */
  timeoutMs?: number;
  clock?: () => number;
}

/** The login's client, tokens and discovery, in memory until they are sealed. */
class LoginClient implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  discovery: OAuthDiscoveryState | undefined;
  verifier = '';
  readonly expectedState = randomBytes(24).toString('base64url');
  constructor(
    readonly redirectUrl: string,
    private readonly openUrl: (url: string) => void,
    readonly clientMetadataUrl?: string,
  ) {}
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'toolgate',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    return this.expectedState;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(c: OAuthClientInformationMixed) {
    this.client = c;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(t: OAuthTokens) {
    this.saved = t;
  }
  redirectToAuthorization(url: URL) {
    this.openUrl(url.href);
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(s: OAuthDiscoveryState) {
    this.discovery = s;
  }
  discoveryState() {
    return this.discovery;
  }
}

/** The resource_metadata URL of the server's 401 (RFC 9728 §5.1), when it sends one. */
async function challengeOf(url: string): Promise<URL | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'toolgate', version: '0' } },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    if (res.status !== 401) return undefined;
    return extractWWWAuthenticateParams(res).resourceMetadataUrl;
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Run the authorization-code flow with PKCE; resolves with the sealed login (never printed). */
export async function login(o: LoginOptions): Promise<UpstreamLogin> {
  const clock = o.clock ?? Date.now;
  let server: Server | undefined;
  try {
    let deliver!: (q: URLSearchParams) => void;
    const callback = new Promise<URLSearchParams>((r) => (deliver = r));
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (u.pathname !== '/callback') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('toolgate: you can close this window and return to the terminal.\n');
      deliver(u.searchParams);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const redirect = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const client = new LoginClient(redirect, o.open, o.clientMetadataUrl);
    const resourceMetadataUrl = await challengeOf(o.url);
    const first = await auth(client, { serverUrl: o.url, ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}), ...(o.scope ? { scope: o.scope } : {}) });
    if (first !== 'REDIRECT') throw new Error('the server gave tokens without an authorization step');
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no answer from the browser in time; run toolgate auth login again')), o.timeoutMs ?? 300_000).unref(),
    );
    const q = await Promise.race([callback, timeout]);
    if (q.get('error'))
      throw new Error(`the authorization server refused: ${q.get('error')}${q.get('error_description') ? ` (${q.get('error_description')})` : ''}`);
    const state = q.get('state') ?? '';
    if (!sameText(state, client.expectedState)) throw new Error('the answer to the login carries another state: not the login toolgate started (refused)');
    const meta = client.discovery?.authorizationServerMetadata as Record<string, unknown> | undefined;
    const issuer = typeof meta?.issuer === 'string' ? meta.issuer : String(client.discovery?.authorizationServerUrl ?? '');
    // RFC 9207: when the server says it sends `iss`, it must name the issuer we talked to (mix-up defence).
    const iss = q.get('iss');
    if (iss !== null ? iss !== issuer : meta?.authorization_response_iss_parameter_supported === true) {
      throw new Error(`the answer names issuer ${JSON.stringify(iss)}, not ${issuer} (RFC 9207 mix-up defence; refused)`);
    }
    const code = q.get('code');
    if (!code) throw new Error('the answer to the login has no code');
    const done = await auth(client, { serverUrl: o.url, authorizationCode: code, ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}) });
    if (done !== 'AUTHORIZED' || !client.saved) throw new Error('the authorization server gave no tokens');
    const result = toLogin(o.server, o.url, client, issuer, clock());
    await o.vault.put(result);
    return result;
  } finally {
    server?.closeAllConnections();
    server?.close();
  }
}

function toLogin(serverName: string, url: string, c: LoginClient, issuer: string, now: number): UpstreamLogin {
  const t = c.saved!;
  const login: UpstreamLogin = {
    server: serverName,
    url,
    issuer,
    authorizationServer: { ...(c.discovery?.authorizationServerMetadata ?? {}), url: String(c.discovery?.authorizationServerUrl ?? issuer) },
    client: c.client as UpstreamLogin['client'],
    accessToken: t.access_token,
    updatedAt: now,
  };
  const resource = c.discovery?.resourceMetadata?.resource;
  if (typeof resource === 'string') login.resource = resource;
  if (t.refresh_token) login.refreshToken = t.refresh_token;
  if (typeof t.expires_in === 'number') login.expiresAt = now + t.expires_in * 1000;
  if (t.scope) login.scope = t.scope;
  return login;
}

/** Trade the refresh token for new tokens (the refresh token too, when the server rotates it). */
export async function refreshLogin(l: UpstreamLogin, now: number): Promise<UpstreamLogin> {
  if (!l.refreshToken) throw new Error(`the tokens of ${l.server} have no refresh token: log in again with toolgate auth login ${l.server}`);
  const { url: asUrl, ...metadata } = l.authorizationServer as { url: string } & Record<string, unknown>;
  const t = await refreshAuthorization(asUrl, {
    metadata: metadata as never,
    clientInformation: l.client,
    refreshToken: l.refreshToken,
    ...(l.resource ? { resource: new URL(l.resource) } : {}),
  });
  const next: UpstreamLogin = { ...l, accessToken: t.access_token, updatedAt: now };
  if (t.refresh_token) next.refreshToken = t.refresh_token;
  if (typeof t.expires_in === 'number') next.expiresAt = now + t.expires_in * 1000;
  else delete next.expiresAt;
  if (t.scope) next.scope = t.scope;
  return next;
}
