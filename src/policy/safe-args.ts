// Safe argument operators (toolgate extension): URL hosts and confined paths,
// decided on the value as a server would read it, not as it is spelled.
//   url_host_in / url_host_not_in  [hosts]  the URL's host, normalised, is (not) listed
//   url_public                     true     the URL's host is no loopback, private, link-local... address
//   path_under                     "/root"  the path, normalised, stays inside root
// A value these cannot read unambiguously (not a URL, a URL that parsers read
// differently, a path with a NUL byte) is a type mismatch: a must-hold rule
// fails and a deny_if rule holds (operators.ts), so a bypass attempt is denied.
// Pure: URL parsing is WHATWG's (node:url), ranges are node:net's BlockList; no
// DNS lookups (a name that resolves to a private address is not caught: see
// docs/attacks/ssrf-and-path-traversal.md).
import { BlockList, isIP } from 'node:net';
import { posix } from 'node:path';
import type { GoValue } from './govalue.js';
import type { Issue } from '../yamlpos/index.js';

export const SAFE_ARG_OPS = ['url_host_in', 'url_host_not_in', 'url_public', 'path_under'] as const;

/** Schemes whose authority toolgate reads (WHATWG "special" schemes with a host). */
const URL_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:']);

/**
 * The normalised host of a URL argument (lower case, IDN as punycode, IPv4 in
 * dotted decimal whatever its notation, IPv6 compressed and without brackets,
 * trailing dots removed), or undefined when the text is not a URL every parser
 * reads the same way.
 */
export function urlHost(text: string): string | undefined {
  // Backslashes, whitespace, control characters and several @ are read differently by different URL parsers.
  if (/[\\\s\x00-\x1f\x7f]/.test(text) || (text.match(/@/g) ?? []).length > 1) return undefined;
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(text)?.[1];
  // Percent-encoding in the authority: decoded by some parsers, not by others.
  if (authority === undefined || authority.includes('%')) return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (!URL_SCHEMES.has(u.protocol) || u.hostname === '') return undefined;
  return normaliseHost(u.hostname);
}

function normaliseHost(hostname: string): string | undefined {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  h = h.replace(/\.+$/, '');
  return h === '' ? undefined : h;
}

/** A policy's host pattern, normalised as a URL's host is: `example.com`, `*.example.com` (any subdomain), an IP. */
export function hostPattern(p: string): string | undefined {
  // A bare host: no scheme, userinfo, port, path (an IPv6 address may be bracketed or not).
  if (/[/@?#%\\\s]/.test(p) || (p.includes(':') && isIP(p.replace(/^\[|\]$/g, '')) !== 6)) return undefined;
  const wild = p.startsWith('*.');
  const bare = wild ? p.slice(2) : p;
  const host = urlHost(`http://${isIP(bare) === 6 ? `[${bare}]` : bare}/`);
  return host === undefined ? undefined : wild ? `*.${host}` : host;
}

export function hostMatches(host: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p));
}

// Addresses a request from the gateway's side must not reach when `url_public` is asked for.
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['100::', 64],
  ['2001::', 32],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6');

/** The IPv4 address an IPv6 address carries (IPv4-mapped, -compatible, NAT64, 6to4), if any. */
function embeddedV4(v6: string): string | undefined {
  const full = expandV6(v6);
  if (!full) return undefined;
  const hex = (i: number) => parseInt(full[i]!, 16);
  const v4 = (a: number, b: number) => `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  const zeros = (from: number, to: number) => full.slice(from, to).every((g) => parseInt(g, 16) === 0);
  if (zeros(0, 5) && (hex(5) === 0xffff || hex(5) === 0)) return v4(hex(6), hex(7)); // ::ffff:a.b.c.d, ::a.b.c.d
  if (hex(0) === 0x64 && hex(1) === 0xff9b) return v4(hex(6), hex(7)); // NAT64 64:ff9b::/96
  if (hex(0) === 0x2002) return v4(hex(1), hex(2)); // 6to4
  return undefined;
}

function expandV6(a: string): string[] | undefined {
  let s = a;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, dotted.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined ? [] : tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(Math.max(0, fill)).fill('0'), ...t];
  return groups.length === 8 ? groups : undefined;
}

/** Whether a normalised host may be reached as a public address (names: unless they are local by definition). */
export function isPublicHost(host: string): boolean {
  const kind = isIP(host);
  if (kind === 4) return !NOT_PUBLIC.check(host, 'ipv4');
  if (kind === 6) {
    const v4 = embeddedV4(host);
    if (v4 !== undefined && NOT_PUBLIC.check(v4, 'ipv4')) return false;
    return !NOT_PUBLIC.check(host, 'ipv6');
  }
  // Names that are local whatever DNS says (RFC 6761 / 6762, and common internal suffixes).
  return !/(^|\.)(localhost|local|localdomain|internal|intranet|lan|home\.arpa|corp)$/.test(host) && host.includes('.');
}

/**
 * The path a server would open, normalised lexically (percent-decoding, `\`
 * as a separator, `.` and `..` resolved, relative paths against `root`), or
 * undefined when it cannot be read unambiguously.
 */
export function normalisePath(text: string, root: string): string | undefined {
  let p = text;
  if (/^file:/i.test(p)) {
    try {
      const u = new URL(p);
      if (u.host !== '' && u.host !== 'localhost') return undefined;
      p = u.pathname;
    } catch {
      return undefined;
    }
  }
  // Percent-encoded forms (also double-encoded): decoded until stable.
  for (let i = 0; i < 4 && /%[0-9A-Fa-f]{2}/.test(p); i++) {
    try {
      p = decodeURIComponent(p);
    } catch {
      return undefined;
    }
  }
  // A % left after decoding could be decoded once more by the server: unreadable.
  if (p.includes('\0') || p.includes('%')) return undefined;
  p = p.replace(/\\/g, '/');
  // A Windows drive or UNC path is outside any POSIX root.
  if (/^[A-Za-z]:/.test(p) || p.startsWith('//')) return undefined;
  return posix.resolve(root, p);
}

export function pathUnder(text: string, root: string): boolean | undefined {
  const r = posix.resolve(root);
  const p = normalisePath(text, r);
  if (p === undefined) return undefined;
  return p === r || p.startsWith(r.endsWith('/') ? r : `${r}/`);
}

// ---------------------------------------------------------------- as operators

type Test = (a: GoValue) => boolean;

/** The test and the type-mismatch test of a safe argument operator (see operators.ts). */
export function safeArgTests(op: string, expected: GoValue): { test: Test; mismatch: Test } | undefined {
  const strings = expected.t === 'list' ? expected.v.flatMap((x) => (x.t === 'string' ? [x.v] : [])) : [];
  switch (op) {
    case 'url_host_in':
    case 'url_host_not_in': {
      const patterns = strings.flatMap((s) => hostPattern(s) ?? []);
      const want = op === 'url_host_in';
      return {
        test: (a) => {
          const h = a.t === 'string' ? urlHost(a.v) : undefined;
          return h !== undefined && hostMatches(h, patterns) === want;
        },
        mismatch: (a) => a.t !== 'string' || urlHost(a.v) === undefined,
      };
    }
    case 'url_public': {
      const want = expected.t === 'bool' ? expected.v : true;
      return {
        test: (a) => {
          const h = a.t === 'string' ? urlHost(a.v) : undefined;
          return h !== undefined && isPublicHost(h) === want;
        },
        mismatch: (a) => a.t !== 'string' || urlHost(a.v) === undefined,
      };
    }
    case 'path_under': {
      const root = expected.t === 'string' ? expected.v : '/nonexistent-root';
      return {
        test: (a) => a.t === 'string' && pathUnder(a.v, root) === true,
        mismatch: (a) => a.t !== 'string' || pathUnder(a.v, root) === undefined,
      };
    }
  }
  return undefined;
}

/** Checks of a safe argument operator's value, at the value's offset. */
export function validateSafeArg(prefix: string, op: string, value: GoValue, at: number, issues: Issue[]): void {
  if (op === 'url_host_in' || op === 'url_host_not_in') {
    if (value.t !== 'list' || value.v.length === 0) {
      issues.push({
        offset: at,
        message: `${prefix}: operator "${op}" requires a non-empty list of hosts`,
        fix: 'use e.g. [api.example.com, "*.example.org"]',
      });
      return;
    }
    for (const x of value.v) {
      if (x.t !== 'string' || hostPattern(x.v) === undefined) {
        issues.push({
          offset: at,
          message: `${prefix}: ${x.t === 'string' ? JSON.stringify(x.v) : `a ${x.t}`} is not a host name, "*.domain" or IP address`,
          fix: 'list bare hosts, without scheme, port or path',
        });
      }
    }
  } else if (op === 'url_public') {
    if (value.t !== 'bool')
      issues.push({
        offset: at,
        message: `${prefix}: operator "url_public" requires true or false`,
        fix: 'use value: true (the URL must not reach a private, loopback or link-local address)',
      });
  } else if (op === 'path_under') {
    if (value.t !== 'string' || !value.v.startsWith('/'))
      issues.push({ offset: at, message: `${prefix}: operator "path_under" requires an absolute root path`, fix: 'use e.g. value: /srv/data' });
  }
}
