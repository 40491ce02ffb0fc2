// A listener's checks on every request, in order: Host (DNS rebinding),
// Origin, then the API key. What it accepts is fixed when the listener starts;
// each check is a pure validator (validators.ts).
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { checkBearer, checkHost, checkOrigin, hostOnly, keyDigest, type Verdict } from './validators.js';

export interface SecurityOptions {
  /** The address the listener is bound to. */
  bind: string;
  /** Accepted API keys; empty means no authentication. */
  apiKeys: string[];
  /** More host names the listener may be reached as (e.g. a DNS name in front of it). */
  allowedHosts?: string[];
  /** More browser origins allowed to call (exact `scheme://host[:port]`). */
  allowedOrigins?: string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

function isWildcard(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::' || addr === '[::]';
}

export class ListenerSecurity {
  private readonly hosts = new Set<string>(LOOPBACK_NAMES);
  private readonly origins: Set<string>;
  private readonly keyDigests: Buffer[];

  constructor(o: SecurityOptions) {
    if (isWildcard(o.bind)) {
      // Reachable on every interface: accept the machine's own addresses and name.
      for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) this.hosts.add(i.address.toLowerCase());
      this.hosts.add(hostname().toLowerCase());
    } else {
      this.hosts.add(hostOnly(o.bind));
    }
    for (const h of o.allowedHosts ?? []) this.hosts.add(hostOnly(h));
    this.origins = new Set((o.allowedOrigins ?? []).map((x) => x.toLowerCase().replace(/\/$/, '')));
    this.keyDigests = o.apiKeys.map(keyDigest);
  }

  get authRequired(): boolean {
    return this.keyDigests.length > 0;
  }

  /** Host, Origin, then (unless `auth` is false: a path with its own authentication) the API key. */
  check(req: IncomingMessage, opts: { auth?: boolean } = {}): Verdict {
    const host = req.headers.host;
    const hostVerdict = checkHost(host, this.hosts);
    if (!hostVerdict.ok) return hostVerdict;
    const origin = checkOrigin(req.headers.origin, host!, this.hosts, this.origins);
    if (!origin.ok) return origin;
    if (this.keyDigests.length > 0 && opts.auth !== false) return checkBearer(req.headers.authorization, this.keyDigests);
    return { ok: true };
  }
}
