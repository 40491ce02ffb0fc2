// The upstream connections of `toolgate serve`: a child process, a port on a
// shared pool of children (session_mode shared|pool:N: one pool per server,
// replaced when its command changes), or an HTTP session with toolgate's own
// login or an exchanged token; each behind the protocol bridge.
import { ChildServer } from '../mcp/child.js';
import { StdioPool } from '../mcp/shared-child.js';
import { urlUpstream, withBearer, type UpstreamHandle } from '../mcp/upstream.js';
import { bridgeUpstream } from '../bridge/index.js';
import type { Caller } from '../gateway/listener.js';
import type { UpstreamExchanges } from '../oauth/index.js';
import type { Logger } from '../log/index.js';
import type { ServerConfig } from './config.js';

export interface ServeUpstreamOptions {
  log: Logger;
  /** Servers with `oauth: true`: toolgate's own login. */
  logins: { bearer(name: string): () => string | undefined };
  /** Servers with `token_exchange`: the caller's token exchanged for one the server accepts. */
  exchanges?: Pick<UpstreamExchanges, 'bearer'>;
}

export class ServeUpstreams {
  private readonly pools = new Map<string, { specHash: string; pool: StdioPool }>();

  constructor(private readonly o: ServeUpstreamOptions) {}

  /** A new connection to the server `cfg` for one client session (of `caller`). */
  open(cfg: ServerConfig, caller?: Caller): UpstreamHandle {
    if (cfg.kind === 'command' && cfg.sessionMode.kind === 'pool') {
      let p = this.pools.get(cfg.name);
      if (p?.specHash !== cfg.specHash) {
        void p?.pool.close();
        const spawn = () =>
          new ChildServer({ command: cfg.command, args: cfg.args, env: { ...process.env, ...cfg.env }, ...(cfg.cwd ? { cwd: cfg.cwd } : {}) });
        p = { specHash: cfg.specHash, pool: new StdioPool({ spawn, size: cfg.sessionMode.size, log: this.o.log }) };
        this.pools.set(cfg.name, p);
      }
      const port = p.pool.open(cfg.name);
      return { ...port, channel: bridgeUpstream(port.channel, cfg.protocol, { log: this.o.log }) };
    }
    if (cfg.kind === 'command') {
      const child = new ChildServer({ command: cfg.command, args: cfg.args, env: { ...process.env, ...cfg.env }, ...(cfg.cwd ? { cwd: cfg.cwd } : {}) });
      return {
        channel: bridgeUpstream(child.channel, cfg.protocol, { log: this.o.log }),
        close: async () => void (await child.stop()),
        exited: child.exited,
        child,
      };
    }
    const headers = cfg.oauth
      ? withBearer(cfg.headers, this.o.logins.bearer(cfg.name))
      : cfg.tokenExchange && this.o.exchanges
        ? withBearer(cfg.headers, this.o.exchanges.bearer(cfg.name, caller))
        : cfg.headers;
    const channel = bridgeUpstream(urlUpstream({ url: cfg.url, transport: cfg.transport, headers, log: this.o.log }), cfg.protocol, { log: this.o.log });
    return { channel, close: () => channel.close() };
  }

  /** A server removed from the config: its pool goes. */
  forget(name: string): void {
    void this.pools.get(name)?.pool.close();
    this.pools.delete(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.pool.close()));
  }
}
