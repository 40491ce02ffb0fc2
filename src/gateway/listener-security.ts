// Listener security checks, run on every HTTP request before anything else:
// Host (DNS-rebinding protection), Origin, then the API key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { isLoopback } from '../http/index.js';

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

export type Verdict = { ok: true } | { ok: false; status: number; message: string; headers?: Record<string, string> };

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export { isLoopback };

function isWildcard(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::' || addr === '[::]';
}

/** The host part of a Host header or URL host (no port, no brackets, lower case). */
export function hostOnly(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(1, end);
  }
  const colon = h.lastIndexOf(':');
  return colon === -1 || h.indexOf(':') !== colon ? h : h.slice(0, colon);
}

/** The port of a Host header or URL host, when it names one. */
export function portOf(host: string): string | undefined {
  const h = host.trim();
  const m = h.startsWith('[') ? /^\[[^\]]*\]:(\d+)$/.exec(h) : /^[^:]*:(\d+)$/.exec(h);
  return m ? String(Number(m[1])) : undefined;
}

export class ListenerSecurity {
  private readonly hosts = new Set<string>();
  private readonly origins: Set<string>;
  private readonly keyDigests: Buffer[];

  constructor(private readonly o: SecurityOptions) {
    for (const n of LOOPBACK_NAMES) this.hosts.add(n);
    const bind = hostOnly(o.bind);
    if (isWildcard(o.bind)) {
      // Reachable on every interface: accept the machine's own addresses and name.
      for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) this.hosts.add(i.address.toLowerCase());
      this.hosts.add(hostname().toLowerCase());
    } else {
      this.hosts.add(bind);
    }
    for (const h of o.allowedHosts ?? []) this.hosts.add(hostOnly(h));
    this.origins = new Set((o.allowedOrigins ?? []).map((x) => x.toLowerCase().replace(/\/$/, '')));
    this.keyDigests = o.apiKeys.map((k) => digest(k));
  }

  get authRequired(): boolean {
    return this.keyDigests.length > 0;
  }

  /** Host, Origin, then (unless `auth` is false: a path with its own authentication) the API key. */
  check(req: IncomingMessage, opts: { auth?: boolean } = {}): Verdict {
    const host = req.headers.host;
    if (!host || !this.hosts.has(hostOnly(host))) {
      return { ok: false, status: 403, message: `Forbidden: Host ${JSON.stringify(host ?? '')} is not allowed` };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, host)) {
      return { ok: false, status: 403, message: `Forbidden: Origin ${JSON.stringify(origin)} is not allowed` };
    }
    if (this.keyDigests.length > 0 && opts.auth !== false) {
      const auth = req.headers.authorization;
      const m = auth === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
      if (!m) {
        return {
          ok: false,
          status: 401,
          message: 'Unauthorized: an API key is required (Authorization: Bearer KEY)',
          headers: { 'www-authenticate': 'Bearer realm="toolgate"' },
        };
      }
      if (!this.keyMatches(m[1]!)) {
        return {
          ok: false,
          status: 401,
          message: 'Unauthorized: invalid API key',
          headers: { 'www-authenticate': 'Bearer realm="toolgate", error="invalid_token"' },
        };
      }
    }
    return { ok: true };
  }

  /**
   * An Origin listed with --allowed-origin, or the listener's own: a host it
   * may be reached as, on the port the request came to (a page served by
   * another program on the same machine is another origin).
   */
  private originAllowed(origin: string, host: string): boolean {
    const o = origin.toLowerCase().replace(/\/$/, '');
    if (this.origins.has(o)) return true;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return false; // includes the opaque origin "null"
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const defaultPort = url.protocol === 'https:' ? '443' : '80';
    return this.hosts.has(hostOnly(url.host)) && (url.port || defaultPort) === (portOf(host) ?? defaultPort);
  }

  /** Constant time: every key is compared, whatever matches. */
  private keyMatches(key: string): boolean {
    const d = digest(key);
    let ok = false;
    for (const k of this.keyDigests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
