// A real OAuth 2.1 / OpenID Connect authorization server for the tests:
// oidc-provider (OpenID certified) on 127.0.0.1, issuing JWT access tokens
// bound to the resource the client names (RFC 8707), with dynamic client
// registration, client credentials, introspection and refresh tokens. The
// human's login and consent are done by the test (login as `user`, consent to
// what was asked), and `browse()` follows the redirects a browser would.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';

export interface TestAuthServer {
  issuer: string;
  /** Who logs in at the next authorization (the human). */
  user: string;
  /** Groups put into the tokens of each user. */
  groups: Record<string, string[]>;
  /** Sign with a new key from now on (the old one stays published, as in a real rotation). */
  rotateKey(): Promise<string>;
  /** The kid new tokens are signed with. */
  currentKid(): string;
  /** A client_credentials token for a registered confidential client. */
  clientToken(clientId: string, resource: string, scope: string): Promise<string>;
  /** Register a confidential client (client_credentials + introspection; `exchange`: RFC 8693 token exchange too). */
  addClient(clientId: string, secret: string, o?: { exchange?: boolean }): void;
  /**
   * RFC 8693 token exchange (registered on oidc-provider as an extra grant): a client allowed it
   * sends a JWT access token of this server whose `aud` is one of these, and gets an access token
   * for the `resource` it names, same `sub`, `act: { sub: <client> }`. Empty: no exchange accepted.
   */
  exchangeAudiences: string[];
  /** Subjects whose tokens the server refuses to exchange (access_denied). */
  exchangeDenied: Set<string>;
  /** Follow an authorization URL as a browser: returns the redirect to the client's redirect_uri. */
  browse(authorizationUrl: string): Promise<URL>;
  /** Requests seen at the token endpoint (grant types), for refresh and exchange tests. */
  tokenRequests: string[];
  close(): Promise<void>;
}

export interface TestAuthServerOptions {
  /** Access token lifetime in seconds (default 300). */
  accessTokenTtl?: number;
  /** Scopes a resource server accepts. */
  scopes?: string;
  /** Turn opaque (not JWT) access tokens on for this resource. */
  opaqueFor?: string;
}

type Jwk = Record<string, unknown> & { kid: string };

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

async function newKey(): Promise<Jwk> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = (await exportJWK(privateKey)) as Jwk;
  jwk.kid = `k${Math.random().toString(36).slice(2, 10)}`;
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

export async function startAuthServer(o: TestAuthServerOptions = {}): Promise<TestAuthServer> {
  let keys: Jwk[] = [await newKey()];
  const clients: Array<Record<string, unknown>> = [];
  let provider: Provider;
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scopes = o.scopes ?? 'tools:read tools:write';
  const tokenRequests: string[] = [];

  const actors = new WeakMap<object, string>();
  const as: TestAuthServer = {
    issuer,
    user: 'alice',
    groups: {},
    tokenRequests,
    exchangeAudiences: [],
    exchangeDenied: new Set(),
    async rotateKey() {
      keys = [await newKey(), ...keys];
      provider = build();
      return keys[0]!.kid;
    },
    currentKid: () => keys[0]!.kid,
    addClient(clientId, secret, co = {}) {
      clients.push({
        client_id: clientId,
        client_secret: secret,
        grant_types: co.exchange ? ['client_credentials', TOKEN_EXCHANGE] : ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      });
      provider = build();
    },
    async clientToken(clientId, resource, scope) {
      const c = clients.find((x) => x.client_id === clientId)!;
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${clientId}:${String(c.client_secret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString(),
      });
      const body = (await res.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`client_credentials failed: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async browse(authorizationUrl) {
      const cookies = new Map<string, string>();
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 20; hop++) {
        if (url.origin !== issuer) return url; // left the authorization server: the redirect to the client
        const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const i = pair!.indexOf('=');
          cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
        }
        const location = res.headers.get('location');
        if (!location) throw new Error(`the authorization server answered ${res.status} without a redirect: ${(await res.text()).slice(0, 500)}`);
        url = new URL(location, url);
      }
      throw new Error('too many redirects');
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };

  function build(): Provider {
    const p = new Provider(issuer, {
      clients: clients as never,
      jwks: { keys: keys as never },
      scopes: ['openid', 'offline_access', ...scopes.split(' ')],
      pkce: { required: () => true },
      features: {
        devInteractions: { enabled: false },
        registration: { enabled: true },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string | string[]) => oneOf,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx: unknown, resource: string) => ({
            scope: scopes,
            audience: resource,
            accessTokenTTL: o.accessTokenTtl ?? 300,
            accessTokenFormat: o.opaqueFor === resource ? 'opaque' : 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
      extraTokenClaims: async (_ctx: unknown, token: { accountId?: string }) => {
        const act = actors.get(token);
        const groups = token.accountId ? as.groups[token.accountId] : undefined;
        return act || groups ? { ...(groups ? { groups } : {}), ...(act ? { act: { sub: act } } : {}) } : undefined;
      },
      // Refresh tokens for every client allowed the grant, whatever the scope.
      issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) => client.grantTypeAllowed('refresh_token'),
      ttl: { AccessToken: o.accessTokenTtl ?? 300, ClientCredentials: o.accessTokenTtl ?? 300 } as never,
      interactions: { url: async (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    } as never);
    p.registerGrantType(TOKEN_EXCHANGE, (ctx) => exchange(p, ctx as never), [
      'subject_token',
      'subject_token_type',
      'requested_token_type',
      'resource',
      'audience',
      'scope',
    ]);
    p.on('grant.success', (ctx: { oidc: { params?: { grant_type?: unknown } } }) => tokenRequests.push(String(ctx.oidc.params?.grant_type ?? '?')));
    return p;
  }
  provider = build();

  /** RFC 8693 §2: validate the subject token (our own JWT, for an allowed audience), issue a token for the resource. */
  async function exchange(p: Provider, ctx: { oidc: { params: Record<string, string | undefined>; client: { clientId: string } }; body?: unknown }) {
    const { params, client } = ctx.oidc;
    if (params.subject_token_type !== ACCESS_TOKEN) throw new errors.InvalidRequest('subject_token_type must be an access token');
    if (!params.subject_token) throw new errors.InvalidRequest('subject_token is missing');
    if (!params.resource) throw new errors.InvalidTarget('name the resource of the token you want');
    const publicKeys = keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use }));
    let claims: { sub?: string; scope?: string };
    try {
      ({ payload: claims } = await jwtVerify(params.subject_token, createLocalJWKSet({ keys: publicKeys as never }), {
        issuer,
        audience: as.exchangeAudiences,
      }));
    } catch (err) {
      throw new errors.InvalidGrant(`the subject token is not valid here: ${(err as Error).message}`);
    }
    if (!claims.sub) throw new errors.InvalidGrant('the subject token names no subject');
    if (as.exchangeDenied.has(claims.sub)) throw new errors.AccessDenied(`no exchange for ${claims.sub}`);
    const wanted = (params.scope ?? '').split(' ').filter(Boolean);
    const allowed = new Set(scopes.split(' '));
    const scope = wanted.filter((x) => allowed.has(x)).join(' ') || undefined;
    const resourceServer = new p.ResourceServer(params.resource, {
      scope: scopes,
      audience: params.resource,
      accessTokenTTL: o.accessTokenTtl ?? 300,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    } as never);
    const token = new p.AccessToken({ accountId: claims.sub, client: client as never, scope, resourceServer, gty: 'token-exchange' } as never);
    actors.set(token, client.clientId);
    const value = await token.save();
    ctx.body = { access_token: value, issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', expires_in: token.expiration, ...(scope ? { scope } : {}) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.url?.startsWith('/interaction/')) return await interact(req, res);
      provider.callback()(req, res);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  }

  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: as.user } }, { mergeWithLastSubmission: false });
      return;
    }
    const params = details.params as { client_id: string };
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session!.accountId, clientId: params.client_id });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant!.addOIDCScope(missing.missingOIDCScope.join(' '));
    for (const [indicator, s] of Object.entries(missing.missingResourceScopes ?? {})) grant!.addResourceScope(indicator, s.join(' '));
    const grantId = await grant!.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return as;
}
