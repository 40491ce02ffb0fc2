// A fail-fast ioredis connection from a DSN, for the Redis-backed approval and
// pin stores (the counter store builds the same options itself): no offline
// queue, short connect and command timeouts, no resend of commands in flight,
// reconnects in the background. The DSN's secrets never leave this file: the
// caller gets the redacted DSN and a scrubber for driver messages.
import { Redis, type RedisOptions } from 'ioredis';
import { StateUnavailableError } from './errors.js';
import { parseRedisDsn, redactDsn, scrubSecrets } from './redis-dsn.js';

export interface RedisConnectionOptions {
  /** redis://[user:pass@]host:port[/db] or rediss://... */
  url: string;
  /** Shown in CLIENT LIST. */
  connectionName?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxReconnectDelayMs?: number;
}

export interface RedisConnection {
  readonly client: Redis;
  /** The DSN with its password hidden. */
  readonly dsn: string;
  /** Replace the DSN's secrets in a message. */
  scrub(message: string): string;
  /** A second connection with the same options (a subscriber). */
  duplicate(name: string): Redis;
  /** Resolves when the first connection attempt is over (connected or not); never rejects. */
  readonly firstAttempt: Promise<void>;
  /** Throws StateUnavailableError unless commands can be sent now. */
  assertReady(what: string): void;
  /** Run a command; any failure becomes a StateUnavailableError naming the redacted DSN only. */
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

export function openRedisConnection(o: RedisConnectionOptions): RedisConnection {
  const parsed = parseRedisDsn(o.url);
  const url = o.url;
  const dsn = redactDsn(url);
  const scrub = (m: string) => scrubSecrets(m, url);
  const maxDelay = o.maxReconnectDelayMs ?? 500;
  const options: RedisOptions = {
    host: parsed.host,
    port: parsed.port,
    db: parsed.db,
    ...(parsed.username !== undefined ? { username: parsed.username } : {}),
    ...(parsed.password !== undefined ? { password: parsed.password } : {}),
    ...(parsed.tls ? { tls: { servername: parsed.host } } : {}),
    connectionName: o.connectionName ?? 'toolgate',
    connectTimeout: o.connectTimeoutMs ?? 1000,
    commandTimeout: o.commandTimeoutMs ?? 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (times) => Math.min(50 * times, maxDelay),
    lazyConnect: true,
  };
  const client = new Redis(options);
  client.on('error', () => undefined); // reported through status transitions by the owner
  const attempt = client.connect().catch(() => undefined);
  const bound = new Promise<void>((r) => setTimeout(r, (o.connectTimeoutMs ?? 1000) + 100).unref());
  let started = false;
  const firstAttempt = Promise.race([attempt, bound]).then(() => {
    started = true;
  });
  const assertReady = (what: string) => {
    if (client.status !== 'ready') throw new StateUnavailableError(`state store unavailable: Redis ${dsn} is not connected (${client.status}); ${what} failed`);
  };
  return {
    client,
    dsn,
    scrub,
    firstAttempt,
    duplicate: (name) => {
      const sub = client.duplicate({ connectionName: name, lazyConnect: true });
      sub.on('error', () => undefined);
      return sub;
    },
    assertReady,
    run: async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      // The first commands wait for the first connection attempt only (at most the connect timeout).
      if (!started) await firstAttempt;
      assertReady(what);
      try {
        return await fn();
      } catch (err) {
        // No `cause`: driver errors may carry command arguments (AUTH carries the password).
        const msg = err instanceof Error ? err.message : String(err);
        throw new StateUnavailableError(`state store unavailable: Redis ${dsn}: ${what} failed: ${scrub(msg)}`);
      }
    },
  };
}
