// The gateway's side of upstream OAuth: the access token of a logged-in
// server, refreshed before it expires, unattended. Several instances sharing
// the state store share the login: before refreshing, the stored record is
// read again, and a token another instance refreshed meanwhile is taken as is.
import type { Logger } from '../log/index.js';
import { refreshLogin } from './login.js';
import type { TokenVault, UpstreamLogin } from './vault.js';

export interface UpstreamTokensOptions {
  vault: TokenVault;
  server: string;
  log: Logger;
  clock?: () => number;
  /** Refresh this long before expiry at most (default 60 s; half the lifetime for short-lived tokens). */
  aheadMs?: number;
}

export class UpstreamTokens {
  private login: UpstreamLogin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly clock: () => number;

  constructor(private readonly o: UpstreamTokensOptions) {
    this.clock = o.clock ?? Date.now;
  }

  /** Load the login (fails with the command to run when there is none). */
  async start(): Promise<void> {
    this.login = await this.o.vault.get(this.o.server);
    if (!this.login)
      throw new Error(
        `server "${this.o.server}" needs an OAuth login: run toolgate auth login ${this.o.server} (with the same --state-dir / --state-dsn and TOOLGATE_TOKEN_KEY)`,
      );
    // A token that is expired (or about to be) is refreshed before the first request needs it.
    if (this.refreshDue() <= 0 && this.login.refreshToken) await this.refresh();
    else this.schedule();
  }

  /** The access token to send now. */
  bearer = (): string | undefined => this.login?.accessToken;

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(delayMs?: number): void {
    if (this.closed) return;
    const l = this.login!;
    if (delayMs === undefined) {
      if (l.expiresAt === undefined || !l.refreshToken) return;
      delayMs = Math.max(0, this.refreshDue());
    }
    this.timer = setTimeout(() => void this.refresh(), delayMs);
    this.timer.unref();
  }

  /** ms until the token should be refreshed (negative: overdue; Infinity: it does not expire). */
  private refreshDue(): number {
    const l = this.login!;
    if (l.expiresAt === undefined) return Infinity;
    const lifetime = Math.max(0, l.expiresAt - l.updatedAt);
    return l.expiresAt - Math.min(this.o.aheadMs ?? 60_000, lifetime / 2) - this.clock();
  }

  async refresh(): Promise<void> {
    const now = this.clock();
    try {
      const stored = await this.o.vault.get(this.o.server);
      if (stored && (stored.expiresAt ?? 0) > (this.login!.expiresAt ?? 0)) {
        this.login = stored; // another instance refreshed it already
      } else {
        this.login = await refreshLogin(stored ?? this.login!, now);
        await this.o.vault.put(this.login);
      }
      this.o.log.info(
        { server: this.o.server, expires_at: this.login.expiresAt ? new Date(this.login.expiresAt).toISOString() : undefined },
        'upstream OAuth token refreshed',
      );
      this.schedule();
    } catch (err) {
      // The message of a failed refresh names the server's error, never a token.
      this.o.log.warn({ server: this.o.server }, `upstream OAuth token refresh failed (retrying in 30 s): ${(err as Error).message}`);
      this.schedule(30_000);
    }
  }
}
