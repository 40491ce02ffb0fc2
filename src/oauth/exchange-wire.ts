// Token exchange wired into a gateway: which upstreams a request reaches
// (serve: /mcp/<server> one, /mcp all of them; single-server: the one), the
// listener's hook that exchanges the caller's token for each before the
// request goes on, and each session's upstream reading its caller's token.
import { oauthConfigFromFlags } from './config.js';
import { loadTokenExchangeFile, type TokenExchangeConfig } from './exchange-config.js';
import { exchangeKeyOf, TokenExchanger, type ExchangeReason } from './exchange.js';

export interface ExchangeUpstream {
  name: string;
  url: string;
  config: TokenExchangeConfig;
}

export class UpstreamExchanges {
  private readonly byName = new Map<string, { spec: string; exchanger: TokenExchanger }>();

  /**
   * `upstreams(path)`: the upstreams with token exchange a request to this
   * listener path reaches (read at each request: a reload may change them).
   */
  constructor(
    private readonly issuer: string,
    private readonly upstreams: (path: string) => ExchangeUpstream[],
  ) {}

  private exchangerOf(u: ExchangeUpstream): TokenExchanger {
    // A reconfigured upstream (new client, resource or scopes) starts with an empty cache.
    const spec = JSON.stringify([u.url, u.config]);
    const had = this.byName.get(u.name);
    if (had?.spec === spec) return had.exchanger;
    const exchanger = new TokenExchanger({ server: u.name, config: u.config, defaultIssuer: this.issuer, defaultResource: u.url });
    this.byName.set(u.name, { spec, exchanger });
    return exchanger;
  }

  /** For openListenerAuth: every upstream the request reaches gets the caller's exchanged token first, or the request is refused. */
  hook = async (
    token: string | undefined,
    caller: { name: string; binding?: string } | undefined,
    target: { path: string },
  ): Promise<{ status: number; reason: ExchangeReason; message: string } | undefined> => {
    const upstreams = this.upstreams(target.path);
    if (upstreams.length === 0) return undefined;
    const key = exchangeKeyOf(caller);
    if (token === undefined || key === undefined)
      return {
        status: 403,
        reason: 'exchange_no_subject',
        message: `server "${upstreams[0]!.name}" is called with the caller's exchanged OAuth token: authenticate with an OAuth access token, not an API key or grant token`,
      };
    const results = await Promise.all(upstreams.map((u) => this.exchangerOf(u).ensure(key, token)));
    for (const r of results) if (!r.ok) return { status: r.status, reason: r.reason, message: r.message };
    return undefined;
  };

  /** The bearer of one session's upstream: its caller's exchanged token at each request (none without an OAuth caller). */
  bearer(server: string, caller: { name: string; binding?: string } | undefined): () => string | undefined {
    const key = exchangeKeyOf(caller);
    return () => this.byName.get(server)?.exchanger.current(key);
  }

  close(): void {
    for (const { exchanger } of this.byName.values()) exchanger.clear();
  }
}

/** The single-server gateway's `--upstream-token-exchange FILE`: checked before anything starts. */
export function exchangeFromFlags(
  opts: { upstreamTokenExchange?: string; upstreamOauth?: boolean; oauth?: string; oauthIssuer?: string },
  spec: { kind: 'url' | 'command'; url?: string; headers?: Record<string, string> },
): UpstreamExchanges | undefined {
  if (opts.upstreamTokenExchange === undefined) return undefined;
  if (spec.kind !== 'url' || spec.url === undefined) throw new Error('--upstream-token-exchange needs --upstream URL');
  if (opts.upstreamOauth) throw new Error("--upstream-token-exchange and --upstream-oauth both set the upstream's token: choose one");
  if (spec.headers?.authorization !== undefined)
    throw new Error('--upstream-token-exchange and --header Authorization both set the upstream token: remove the header');
  const issuer = oauthConfigFromFlags(opts)?.issuer;
  if (issuer === undefined) throw new Error("--upstream-token-exchange exchanges the callers' OAuth tokens: give --oauth FILE or --oauth-issuer URL too");
  const config = loadTokenExchangeFile(opts.upstreamTokenExchange);
  const url = spec.url;
  return new UpstreamExchanges(issuer, () => [{ name: url, url, config }]);
}
