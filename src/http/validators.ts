// The checks every HTTP listener runs on a request before anything else, as
// small pure functions: each takes header values and what is allowed, and
// answers `{ ok: true }` or the refusal (status, message, headers). Host guards
// against DNS rebinding, Origin against other pages in a browser, the bearer
// key against everyone else.
import { createHash, timingSafeEqual } from 'node:crypto';

export type Verdict = { ok: true } | { ok: false; status: number; message: string; headers?: Record<string, string> };

const OK: Verdict = { ok: true };

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

/** The Host header names a host the listener may be reached as (`hosts`: host parts, lower case). */
export function checkHost(host: string | undefined, hosts: ReadonlySet<string>): Verdict {
  if (host && hosts.has(hostOnly(host))) return OK;
  return { ok: false, status: 403, message: `Forbidden: Host ${JSON.stringify(host ?? '')} is not allowed` };
}

/**
 * No Origin (not a browser), an Origin listed as allowed (`origins`: lower case, no trailing
 * slash), or the listener's own: a host it may be reached as, on the port the request came to
 * (a page served by another program on the same machine is another origin).
 */
export function checkOrigin(origin: string | undefined, host: string, hosts: ReadonlySet<string>, origins: ReadonlySet<string>): Verdict {
  if (origin === undefined || originAllowed(origin, host, hosts, origins)) return OK;
  return { ok: false, status: 403, message: `Forbidden: Origin ${JSON.stringify(origin)} is not allowed` };
}

function originAllowed(origin: string, host: string, hosts: ReadonlySet<string>, origins: ReadonlySet<string>): boolean {
  const o = origin.toLowerCase().replace(/\/$/, '');
  if (origins.has(o)) return true;
  let url: URL;
  try {
    url = new URL(o);
  } catch {
    return false; // includes the opaque origin "null"
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  return hosts.has(hostOnly(url.host)) && (url.port || defaultPort) === (portOf(host) ?? defaultPort);
}

/** SHA-256 of a key: what a listener keeps, and compares in constant time. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** `Authorization: Bearer KEY` with one of the keys (`digests`: keyDigest of each). Every key is compared, whatever matches. */
export function checkBearer(authorization: string | undefined, digests: readonly Buffer[]): Verdict {
  const m = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m) {
    return {
      ok: false,
      status: 401,
      message: 'Unauthorized: an API key is required (Authorization: Bearer KEY)',
      headers: { 'www-authenticate': 'Bearer realm="toolgate"' },
    };
  }
  const d = keyDigest(m[1]!);
  let ok = false;
  for (const k of digests) ok = timingSafeEqual(d, k) || ok;
  if (ok) return OK;
  return {
    ok: false,
    status: 401,
    message: 'Unauthorized: invalid API key',
    headers: { 'www-authenticate': 'Bearer realm="toolgate", error="invalid_token"' },
  };
}
