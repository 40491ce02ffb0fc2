// The one place that turns a Redis DSN into a fail-fast ioredis client, for
// every Redis-backed store (counters, approvals, pins): a single node
// (redis://, rediss://) or a Redis Cluster (redis+cluster://,
// rediss+cluster://: ioredis `Cluster` discovers the nodes from the seed and
// follows MOVED/ASK, but never re-sends a command already answered, and
// reconnects through every node it has seen, not the seed alone). Either way:
// no offline queue, short connect and command timeouts, no resend of commands
// in flight, reconnects in the background, and in a cluster the key prefix
// becomes a hash tag (storeKeyPrefix) so a store's multi-key scripts stay on
// one slot. The DSN's secrets never leave this file: the caller gets the
// redacted DSN and a scrubber for driver messages.
import { Cluster, Redis, type ClusterOptions, type Command, type RedisOptions } from 'ioredis';
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

// The first connection (TLS, a cluster's slot map) gets ten seconds, ioredis's own default:
// with 1 s, then 5 s, a busy host failed start-up and one-shot CLI commands against a TLS
// cluster (seen at load average 25). A refused port or a failed certificate still fails at
// once; only a host that accepts and never answers waits this long before denials.
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function buildClient(parsed: ParsedRedisDsn, o: RedisConnectionOptions, connectionName: string): RedisClient {
  const reconnectDelay = (times: number) => Math.min(50 * times, o.maxReconnectDelayMs ?? 500);
  const common: RedisOptions = {
    ...(parsed.username !== undefined ? { username: parsed.username } : {}),
    ...(parsed.password !== undefined ? { password: parsed.password } : {}),
    connectionName,
    connectTimeout: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
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
    slotsRefreshTimeout: o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    scaleReads: 'master',
    lazyConnect: true,
  };
  // ioredis rediscovers a cluster from its startup nodes alone whenever it has
  // lost every node connection (a network outage, idle connections dropped),
  // and never learns new ones itself. With only the DSN's seed, a client whose
  // seed node has died (its replica took over) would then stay `reconnecting`
  // for good although the cluster is healthy. So after each topology refresh
  // the startup list becomes the seed plus every node the cluster named: ioredis
  // reads this same array again on each reconnect (resolveStartupNodeHostnames).
  const seed = { host: parsed.host, port: parsed.port };
  const startupNodes = [seed];
  const cluster = new Cluster(startupNodes, options);
  cluster.on('refresh', () => {
    const others = cluster
      .nodes('all')
      .map((n) => ({ host: n.options.host ?? '', port: n.options.port ?? 0 }))
      .filter((n) => n.host !== '' && (n.host !== seed.host || n.port !== seed.port));
    if (others.length > 0) startupNodes.splice(1, startupNodes.length - 1, ...others);
  });
  dropSettledCommands(cluster);
  return cluster;
}

/**
 * ioredis Cluster retries a command after TRYAGAIN (a reshard), CLUSTERDOWN or
 * a closed connection (a failover) from a timer, and follows MOVED and ASK
 * replies, without looking whether the command is still wanted: one that has
 * already failed with "Command timed out" may run a moment later. A reservation
 * reported as failed (the call denied) would then count all the same. So once
 * a command is answered, nothing sends it to a node again.
 */
function dropSettledCommands(cluster: Cluster): void {
  type Stream = Parameters<Redis['sendCommand']>[1];
  const settled = new WeakSet<Command>();
  const sendToCluster = cluster.sendCommand.bind(cluster);
  cluster.sendCommand = (command: Command, stream?: Stream, node?: unknown) => {
    // A pipeline (sent with its node) handles its redirections itself, re-sending the same commands.
    if (node !== undefined) return sendToCluster(command, stream, node);
    // Wrapped before the cluster puts its redirection handler around reject:
    // these run once, with the command's final answer.
    const { resolve, reject } = command;
    command.resolve = (result) => {
      settled.add(command);
      resolve.call(command, result);
    };
    command.reject = (err) => {
      settled.add(command);
      reject.call(command, err);
    };
    const sent = sendToCluster(command, stream);
    // Wrapped after: a late error reply (MOVED, ASK, TRYAGAIN) to an answered command is not followed.
    const redirect = command.reject;
    command.reject = (err) => {
      if (!settled.has(command)) redirect.call(command, err);
    };
    return sent;
  };
  // And a retry already waiting on its timer is not sent.
  cluster.on('+node', (redis: Redis) => {
    const sendToNode = redis.sendCommand.bind(redis);
    redis.sendCommand = (command: Command, stream?: Stream) => (settled.has(command) ? command.promise : sendToNode(command, stream));
  });
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
  const bound = new Promise<void>((r) => setTimeout(r, (o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS) + 100).unref());
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
