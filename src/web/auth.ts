// Who may use the dashboard: an admin key (full access: approve and deny) and
// viewer keys (read only). API clients send `Authorization: Bearer <key>`;
// browsers log in once with a form and then carry an opaque session cookie
// (HttpOnly, SameSite=Strict). State-changing requests also pass an Origin
// check, so another site cannot make a logged-in browser approve a call. The
// header checks themselves are the HTTP edge's validators (src/http).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { checkBearer, checkOrigin, hostOnly, keyDigest } from '../http/index.js';

export type Role = 'admin' | 'viewer';

export const MIN_KEY_LENGTH = 16;
export const SESSION_COOKIE = 'toolgate_dashboard';

export interface KeyRing {
  adminKey: string;
  viewerKeys?: readonly string[];
}

/** Check the keys a dashboard is started with; throws a message a person can act on. */
export function checkKeys(keys: KeyRing): void {
  if (!keys.adminKey) throw new Error('the dashboard needs an admin key (--admin-key or $TOOLGATE_ADMIN_KEY)');
  const all = [keys.adminKey, ...(keys.viewerKeys ?? [])];
  for (const k of all) {
    if (k.length < MIN_KEY_LENGTH) throw new Error(`dashboard keys must be at least ${MIN_KEY_LENGTH} characters (e.g. openssl rand -hex 24)`);
    if (/\s/.test(k)) throw new Error('dashboard keys cannot contain whitespace');
  }
  if ((keys.viewerKeys ?? []).some((k) => k === keys.adminKey)) throw new Error('a viewer key cannot be the admin key');
}

/** The keys as kept and compared: their SHA-256 digests, by role. */
export interface KeyDigests {
  admin: Buffer[];
  viewers: Buffer[];
}

export function keyDigests(keys: KeyRing): KeyDigests {
  return { admin: [keyDigest(keys.adminKey)], viewers: (keys.viewerKeys ?? []).map(keyDigest) };
}

/** The role an `Authorization: Bearer KEY` header grants. Both roles' keys are compared in constant time, whatever matches. */
export function roleOfAuthorization(digests: KeyDigests, authorization: string): Role | undefined {
  const admin = checkBearer(authorization, digests.admin).ok;
  const viewer = checkBearer(authorization, digests.viewers).ok;
  return admin ? 'admin' : viewer ? 'viewer' : undefined;
}

/** The role a presented key grants (the sign-in form's key). */
export function roleOfKey(keys: KeyRing, presented: string): Role | undefined {
  return roleOfAuthorization(keyDigests(keys), `Bearer ${presented}`);
}

export interface Session {
  role: Role;
  expiresAt: number;
}

/** Browser sessions, in memory: a restart of the dashboard logs everyone out. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number = 12 * 60 * 60 * 1000,
    private readonly clock: () => number = Date.now,
    private readonly max = 10_000,
  ) {}

  create(role: Role): { id: string; session: Session } {
    this.prune();
    if (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const session = { role, expiresAt: this.clock() + this.ttlMs };
    this.sessions.set(id, session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  get ttlSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }

  private prune(): void {
    const now = this.clock();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(value));
      } catch {
        out.set(name, value);
      }
    }
  }
  return out;
}

export function sessionCookie(id: string, opts: { path: string; maxAgeSeconds: number; secure: boolean }): string {
  return `${SESSION_COOKIE}=${id}; Path=${opts.path}; Max-Age=${opts.maxAgeSeconds}; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}`;
}

export function clearedCookie(opts: { path: string; secure: boolean }): string {
  return `${SESSION_COOKIE}=; Path=${opts.path}; Max-Age=0; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}`;
}

export type Caller = { ok: true; role: Role; via: 'bearer' | 'cookie'; sessionId?: string } | { ok: false; reason: 'missing' | 'wrong' };

/** Who is calling: a bearer key wins over a cookie; a wrong or malformed Authorization header is wrong even with a good cookie. */
export function identifyCaller(req: IncomingMessage, digests: KeyDigests, sessions: SessionStore): Caller {
  const authorization = req.headers.authorization;
  if (authorization !== undefined && authorization.trim() !== '') {
    const role = roleOfAuthorization(digests, authorization);
    return role ? { ok: true, role, via: 'bearer' } : { ok: false, reason: 'wrong' };
  }
  const sid = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  const s = sessions.get(sid);
  if (s && sid) return { ok: true, role: s.role, via: 'cookie', sessionId: sid };
  return { ok: false, reason: sid ? 'wrong' : 'missing' };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isStateChanging(method: string | undefined): boolean {
  return !SAFE_METHODS.has((method ?? 'GET').toUpperCase());
}

/**
 * CSRF defence for state-changing requests. A browser's Sec-Fetch-Site must not
 * say another site; the Origin (or, without one, the Referer's origin) must be
 * this very host and port (http's checkOrigin, with the Host header as the only
 * host) or one of `allowedOrigins`. A request with neither passes only when it
 * carries a bearer key: browsers cannot add one cross-site without a CORS
 * preflight, which this server never grants.
 */
export function originAllowed(req: IncomingMessage, opts: { bearer: boolean; allowedOrigins?: readonly string[] }): boolean {
  const site = headerOf(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headerOf(req, 'origin');
  const referer = headerOf(req, 'referer');
  const claimed = origin !== undefined && origin !== 'null' ? origin : referer;
  if (claimed === undefined || claimed === 'null') return opts.bearer && origin !== 'null';
  let url: URL;
  try {
    url = new URL(claimed);
  } catch {
    return false;
  }
  const host = req.headers.host;
  const hosts = new Set(host === undefined ? [] : [hostOnly(host)]);
  const allowed = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/$/, '')));
  return checkOrigin(url.origin, host ?? '', hosts, allowed).ok;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
