// Cross-server exfiltration (session- or identity-scoped taint). Values a
// source tool returned are fingerprinted: every run of `k` characters of each
// value is kept as a 52-bit rolling hash (Rabin-Karp, seeded per process), never
// as text. A later call's argument strings, and what they decode to (URL
// percent-encoding, base64, base64url, hex), are hashed the same way: one
// shared run of k characters is a hit. So a value is caught whole, cut down to
// k characters, or wrapped in other text; an encoding toolgate does not undo
// (ROT13, encryption, a value spelled out) is not (docs/attacks say so).
import { randomInt } from 'node:crypto';

const P1 = 67_108_859; // primes below 2^26: products stay exact in a double
const P2 = 67_108_837;
const B1 = randomInt(256, P1 - 1);
const B2 = randomInt(256, P2 - 1);

/** Every k-gram hash of `s` (UTF-16 code units). */
function grams(s: string, k: number, each: (h: number) => boolean | void): boolean {
  if (s.length < k) return false;
  let h1 = 0;
  let h2 = 0;
  let pow1 = 1;
  let pow2 = 1;
  for (let i = 0; i < k - 1; i++) {
    pow1 = (pow1 * B1) % P1;
    pow2 = (pow2 * B2) % P2;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (i >= k) {
      const out = s.charCodeAt(i - k);
      h1 = (h1 - ((out * pow1) % P1) + P1) % P1;
      h2 = (h2 - ((out * pow2) % P2) + P2) % P2;
    }
    h1 = (h1 * B1 + c) % P1;
    h2 = (h2 * B2 + c) % P2;
    if (i >= k - 1 && each(h1 * P2 + h2) === true) return true;
  }
  return false;
}

/** Where values end inside a text: they are split on whitespace and common delimiters. */
const DELIMS = /[\s"'`=:,;<>()[\]{}|]+/;

/** The tokens of a source's text worth tainting (at least k characters). */
export function tokensOf(text: string, k: number): string[] {
  return text.split(DELIMS).filter((t) => t.length >= k);
}

/** What an argument string may hide a value in: itself and what it decodes to. */
export function decodings(s: string): string[] {
  const out = [s];
  // Percent-encoding, also applied twice.
  let cur = s;
  for (let i = 0; i < 2 && /%[0-9A-Fa-f]{2}/.test(cur); i++) {
    try {
      cur = decodeURIComponent(cur.replace(/\+/g, ' '));
    } catch {
      cur = cur.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
    out.push(cur);
  }
  for (const v of [...out]) {
    for (const m of v.matchAll(/[A-Za-z0-9+/_-]{12,}={0,2}/g)) {
      const run = m[0].replace(/-/g, '+').replace(/_/g, '/');
      // Each alignment: an encoded value may start inside the run.
      for (let skip = 0; skip < 4; skip++) {
        const part = run.slice(skip).replace(/=+$/, '');
        const usable = part.slice(0, part.length - (part.length % 4 === 1 ? 1 : 0));
        if (usable.length >= 8) out.push(Buffer.from(usable, 'base64').toString('latin1'));
      }
    }
    for (const m of v.matchAll(/(?:[0-9A-Fa-f]{2}){6,}/g)) {
      for (const skip of [0, 1]) out.push(Buffer.from(m[0].slice(skip), 'hex').toString('latin1'));
    }
  }
  return out;
}

interface Scope {
  /** Fingerprint -> the server the value came from ('' when unknown). */
  prints: Map<number, string>;
  used: number;
}

/** Fingerprints per scope (a session or an identity), bounded: the oldest scopes go first. */
export class TaintStore {
  private readonly scopes = new Map<string, Scope>();
  constructor(
    private readonly maxScopes = 10_000,
    private readonly maxPrintsPerScope = 200_000,
  ) {}

  /** Taint `values` in `scope`, from `server`. */
  add(scope: string, values: readonly string[], k: number, server = ''): number {
    let s = this.scopes.get(scope);
    if (!s) {
      if (this.scopes.size >= this.maxScopes) this.scopes.delete(this.scopes.keys().next().value as string);
      s = { prints: new Map(), used: 0 };
      this.scopes.set(scope, s);
    }
    let added = 0;
    for (const v of values) {
      grams(v, k, (h) => {
        if (s.prints.size >= this.maxPrintsPerScope) return true;
        if (!s.prints.has(h)) added++;
        s.prints.set(h, server);
      });
    }
    return added;
  }

  /**
   * Whether any string in `value` (a call's arguments) carries a tainted value
   * of `scope`; values whose origin is `sameServer` do not count (a secret
   * written back where it came from). Returns the origin of the first hit.
   */
  find(scope: string, value: unknown, k: number, sameServer?: string): { origin: string } | undefined {
    const s = this.scopes.get(scope);
    if (!s || s.prints.size === 0) return undefined;
    let origin: string | undefined;
    const check = (text: string): boolean =>
      decodings(text).some((d) =>
        grams(d, k, (h) => {
          const o = s.prints.get(h);
          if (o === undefined || (sameServer !== undefined && o === sameServer)) return false;
          origin = o;
          return true;
        }),
      );
    const walk = (v: unknown, depth: number): boolean => {
      if (depth > 128) {
        // Too deep to check is not clean: fail closed.
        origin = '(arguments too deeply nested to check)';
        return true;
      }
      if (typeof v === 'string') return check(v);
      if (typeof v === 'number' || typeof v === 'bigint') return check(String(v));
      if (Array.isArray(v)) return v.some((x) => walk(x, depth + 1));
      if (v !== null && typeof v === 'object') return Object.entries(v).some(([key, x]) => check(key) || walk(x, depth + 1));
      return false;
    };
    return walk(value, 0) ? { origin: origin ?? '' } : undefined;
  }

  clear(scope: string): void {
    this.scopes.delete(scope);
  }
}

/** The process's store: every gateway session in this process (serve's servers too) shares it. */
export const sharedTaint = new TaintStore();
