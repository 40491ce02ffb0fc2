// The one place that turns a Redis DSN into a fail-fast ioredis client, for
// every Redis-backed store (counters, approvals, pins): a single node
// (redis://, rediss://) or a Redis Cluster (redis+cluster://,
// rediss+cluster://: ioredis `Cluster` discovers the nodes from the seed and
// follows MOVED/ASK). Either way: no offline queue, short connect and command
// timeouts, no resend of commands in flight, reconnects in the background, and
// in a cluster the key prefix becomes a hash tag (storeKeyPrefix) so a store's
// multi-key scripts stay on one slot. The DSN's secrets never leave this file:
// the caller gets the redacted DSN and a scrubber for driver messages.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { StateUnavailableError } from './errors.js';
import { parseRedisDsn, redactDsn, scrubSecrets, storeKeyPrefix, type ParsedRedisDsn } from './redis-dsn.js';

/** A single-node client or a cluster client: both speak the same commands. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** Any DSN parseRedisDsn accepts. */
  url: string;
  /** Shown in CLIENT LIST. */
  connectionName?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxReconnectDelayMs?: number;
  /** Group commands issued in the same tick into one round trip. Default false. */
  autoPipelining?: boolean;
  /** Told when the connection goes down or comes back (no secret in `detail`); transitions only. */
  onStatus?: (status: 'up' | 'down', detail: string) => void;
}

export interface RedisConnection {
  readonly client: RedisClient;
  /** The DSN with its password hidden. */
  readonly dsn: string;
  /** Whether the DSN names a Redis Cluster. */
  readonly cluster: boolean;
  /** The prefix to put before every key: `prefix` as it is on one node, hash-tagged in a cluster (throws on a prefix that cannot be tagged). */
  keyPrefix(prefix: string): string;
  /** Replace the DSN's secrets in a message. */
  scrub(message: string): string;
  /** A second connection with the same options (a subscriber); connect it yourself. */
  duplicate(name: string): RedisClient;
  /** Resolves when the first connection attempt is over (connected or not); never rejects. */
  readonly firstAttempt: Promise<void>;
  /** Throws StateUnavailableError unless commands can be sent now. */
  assertReady(what: string): void;
  /** Run a command; any failure becomes a StateUnavailableError naming the redacted DSN only. */
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /** Every key matching a SCAN pattern (on every master of a cluster). */
  scanKeys(pattern: string, what: string): Promise<string[]>;
  /** QUIT (bounded by 500 ms) and disconnect; no status is reported afterwards. */
  close(): Promise<void>;
}

function buildClient(parsed: ParsedRedisDsn, o: RedisConnectionOptions, connectionName: string): RedisClient {
  const reconnectDelay = (times: number) => Math.min(50 * times, o.maxReconnectDelayMs ?? 500);
  const common: RedisOptions = {
    ...(parsed.username !== undefined ? { username: parsed.username } : {}),
    ...(parsed.password !== undefined ? { password: parsed.password } : {}),
    connectionName,
    connectTimeout: o.connectTimeoutMs ?? 1000,
    commandTimeout: o.commandTimeoutMs ?? 1000,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
  };
  if (!parsed.cluster) {
    return new Redis({
      ...common,
      host: parsed.host,
      port: parsed.port,
      db: parsed.db,
      ...(parsed.tls ? { tls: { servername: parsed.host } } : {}),
      enableOfflineQueue: false,
      enableAutoPipelining: o.autoPipelining ?? false,
      retryStrategy: reconnectDelay,
      lazyConnect: true,
    });
  }
  const options: ClusterOptions = {
    // Every node connection gets the credentials, timeouts and TLS; each node
    // is verified against its own host name (no fixed servername).
    redisOptions: { ...common, ...(parsed.tls ? { tls: {} } : {}) },
    // With TLS keep host names as they are: certificates name hosts, not the IPs they resolve to.
    ...(parsed.tls ? { dnsLookup: (address: string, done: (err: Error | null, family: string) => void) => done(null, address) } : {}),
    enableOfflineQueue: false,
    enableAutoPipelining: o.autoPipelining ?? false,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: o.connectTimeoutMs ?? 1000,
    scaleReads: 'master',
    lazyConnect: true,
  };
  return new Cluster([{ host: parsed.host, port: parsed.port }], options);
}

export function openRedisConnection(o: RedisConnectionOptions): RedisConnection {
  const parsed = parseRedisDsn(o.url);
  const url = o.url;
  const dsn = redactDsn(url);
  const scrub = (m: string) => scrubSecrets(m, url);
  const create = (name: string) => {
    const c = buildClient(parsed, o, name);
    c.on('error', () => undefined); // reported through status transitions
    return c;
  };
  const client = create(o.connectionName ?? 'toolgate');
  let closed = false;
  let up: boolean | undefined;
  const setUp = (now: boolean, detail: string) => {
    if (closed || up === now) return;
    up = now;
    o.onStatus?.(now ? 'up' : 'down', detail);
  };
  client.on('ready', () => setUp(true, `connected to ${dsn}`));
  client.on('error', (err: Error) => setUp(false, scrub(err.message)));
  client.on('close', () => setUp(false, 'connection closed'));

  // Connect in the background: start-up never blocks on Redis. The first
  // commands wait for this first attempt only (at most the connect timeout).
  const attempt = client.connect().catch(() => undefined);
  const bound = new Promise<void>((r) => setTimeout(r, (o.connectTimeoutMs ?? 1000) + 100).unref());
  let started = false;
  const firstAttempt = Promise.race([attempt, bound]).then(() => {
    started = true;
  });
  const assertReady = (what: string) => {
    if (client.status !== 'ready') throw new StateUnavailableError(`state store unavailable: Redis ${dsn} is not connected (${client.status}); ${what} failed`);
  };
  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (!started) await firstAttempt;
    assertReady(what);
    try {
      return await fn();
    } catch (err) {
      // No `cause`: driver errors may carry command arguments (AUTH carries the password).
      const msg = err instanceof Error ? err.message : String(err);
      throw new StateUnavailableError(`state store unavailable: Redis ${dsn}: ${what} failed: ${scrub(msg)}`);
    }
  };
  return {
    client,
    dsn,
    cluster: parsed.cluster,
    keyPrefix: (prefix) => storeKeyPrefix(prefix, parsed.cluster),
    scrub,
    firstAttempt,
    duplicate: create,
    assertReady,
    run,
    scanKeys: (pattern, what) =>
      run(what, async () => {
        // SCAN walks one node; a cluster's keys are spread over its masters.
        const nodes = client instanceof Cluster ? client.nodes('master') : [client];
        const found = new Set<string>();
        for (const node of nodes) {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
            cursor = next;
            for (const k of keys) found.add(k);
          } while (cursor !== '0');
        }
        return [...found];
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      if (client.status === 'ready') {
        await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
      }
      client.disconnect();
    },
  };
}
