// Pins in Redis, shared by every gateway instance on one Redis.
//
// Layout: one hash per server, `<prefix>pins:<server>` (in a Redis Cluster the
// prefix is a hash tag, `{toolgate}:`, like every store's), field = tool name,
// value = JSON {hash, definition, pinned_at, pending?: {hash, definition, seen_at}}.
// - a first sight is HSETNX (the first instance to see a tool pins it);
// - a changed definition (markChanged) and an acceptance are compare-and-set
//   Lua scripts: the new value is written only if the field still holds the
//   value it was computed from (else the client re-reads and tries again);
// - every write that changes a field PUBLISHes {server, tool} on
//   `<prefix>pins:events` in the same script.
//
// The gateway checks pins synchronously on every tools/list and tools/call,
// so each instance keeps a mirror of the hashes of the servers it fronts
// (`track`): loaded with HGETALL, updated from the events channel (one
// subscriber connection), reloaded whenever the subscription is
// (re-)established and every `reloadMs` (30 s): an event lost while the
// subscriber was away (a cluster moving it to another node) cannot leave a
// mirror stale for longer, e.g. an accepted tool withheld from tools/list. An acceptance on any instance, or by `toolgate pins accept
// --state-dsn`, reaches every mirror at once, and PinChecker.refusal (which
// re-reads the store) releases the tool. While Redis is unreachable nobody can
// change a pin, so the mirror stays exact; what it cannot do is record a first
// sight: `pin` then throws StateUnavailableError and PinChecker applies the
// fail mode. Until a server's mirror is loaded, `get` throws the same error.
import { StateUnavailableError } from '../state/errors.js';
import { openRedisConnection, type RedisClient, type RedisConnection } from '../state/redis-client.js';
import type { Pin, PinnedDefinition, PinStore } from './index.js';

export interface RedisPinStoreOptions {
  url: string;
  prefix?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  /** Keep mirrors of tracked servers up to date through the events channel (gateways: yes; the CLI: no). */
  subscribe?: boolean;
  /** With `subscribe`: reload every tracked mirror this often (ms), for events that were lost. Default 30000. */
  reloadMs?: number;
  onError?: (message: string) => void;
}

interface Stored {
  hash: string;
  definition: PinnedDefinition;
  pinned_at: string;
  pending?: { hash: string; definition: PinnedDefinition; seen_at: string };
}

/** KEYS[1] server hash. ARGV[1] tool, ARGV[2] value, ARGV[3] channel, ARGV[4] event. */
const PIN_LUA = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/** KEYS[1] server hash. ARGV[1] tool, ARGV[2] expected value, ARGV[3] new value, ARGV[4] channel, ARGV[5] event. */
const CAS_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`;

interface PinCommands {
  tgPin(numKeys: number, ...args: string[]): Promise<number>;
  tgPinCas(numKeys: number, ...args: string[]): Promise<number>;
}

function toPin(server: string, tool: string, raw: string): Pin {
  const s = JSON.parse(raw) as Stored;
  const pin: Pin = { server, tool, hash: s.hash, definition: s.definition, pinnedAt: s.pinned_at };
  if (s.pending) pin.pending = { hash: s.pending.hash, definition: s.pending.definition, seenAt: s.pending.seen_at };
  return pin;
}

function toStored(p: Pin): Stored {
  const s: Stored = { hash: p.hash, definition: p.definition, pinned_at: p.pinnedAt };
  if (p.pending) s.pending = { hash: p.pending.hash, definition: p.pending.definition, seen_at: p.pending.seenAt };
  return s;
}

export class RedisPinStore implements PinStore {
  readonly kind = 'redis';
  readonly prefix: string;
  readonly channel: string;
  readonly dsn: string;
  readonly #conn: RedisConnection;
  readonly #client: RedisClient & PinCommands;
  #sub: RedisClient | undefined;
  #reload: NodeJS.Timeout | undefined;
  /** server -> tool -> raw stored value; present once loaded. */
  private readonly mirrors = new Map<string, Map<string, string>>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly tracked = new Set<string>();
  /** First sights written to the mirror whose HSETNX has not answered yet, per server. */
  private readonly unconfirmed = new Map<string, Set<string>>();
  private readonly onError: ((message: string) => void) | undefined;
  private closed = false;

  constructor(o: RedisPinStoreOptions) {
    this.#conn = openRedisConnection({
      url: o.url,
      connectionName: 'toolgate-pins',
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.commandTimeoutMs !== undefined ? { commandTimeoutMs: o.commandTimeoutMs } : {}),
    });
    this.dsn = this.#conn.dsn;
    try {
      this.prefix = this.#conn.keyPrefix(o.prefix ?? 'toolgate:');
    } catch (err) {
      void this.#conn.close();
      throw err;
    }
    this.channel = `${this.prefix}pins:events`;
    this.onError = o.onError;
    const c = this.#conn.client as RedisClient & PinCommands;
    c.defineCommand('tgPin', { lua: PIN_LUA });
    c.defineCommand('tgPinCas', { lua: CAS_LUA });
    this.#client = c;
    if (o.subscribe) {
      const sub = this.#conn.duplicate('toolgate-pins-sub');
      this.#sub = sub;
      sub.on('message', (channel: string, message: string) => {
        if (channel !== this.channel) return;
        try {
          const e = JSON.parse(message) as { server?: unknown; tool?: unknown };
          if (typeof e.server === 'string' && typeof e.tool === 'string') void this.refresh(e.server, e.tool);
        } catch {
          this.onError?.('pin events: unreadable message');
        }
      });
      // (Re-)subscribed: events sent meanwhile are lost, so reload every tracked server.
      sub.on('ready', () => {
        sub.subscribe(this.channel).then(
          () => {
            for (const s of this.tracked) void this.load(s);
          },
          (err: unknown) => this.onError?.(`pin events: subscribe failed: ${this.#conn.scrub(String(err))}`),
        );
      });
      sub.connect().catch(() => undefined);
      // One HGETALL per tracked server per interval; nothing while Redis is down (the mirror stays exact then).
      this.#reload = setInterval(() => {
        if (this.#client.status !== 'ready') return;
        for (const s of this.tracked) void this.load(s).catch(() => undefined);
      }, o.reloadMs ?? 30_000);
      this.#reload.unref();
    }
  }

  key(server: string): string {
    return `${this.prefix}pins:${server}`;
  }

  /** Keep a mirror of `server`'s pins (loading now). Resolves when loaded, rejects when Redis is unreachable. */
  track(server: string): Promise<void> {
    this.tracked.add(server);
    if (this.mirrors.has(server)) return Promise.resolve();
    return this.load(server);
  }

  /** Undefined when the mirror of `server` is loaded; else its loading (rejects when Redis is unreachable). */
  whenLoaded(server: string): Promise<void> | undefined {
    return this.mirrors.has(server) ? undefined : this.track(server);
  }

  /** Whether the mirror of `server` is loaded (checks can be answered). */
  loaded(server: string): boolean {
    return this.mirrors.has(server);
  }

  private load(server: string): Promise<void> {
    const running = this.loading.get(server);
    if (running) return running;
    const p = (async () => {
      await this.#conn.firstAttempt;
      const all = await this.run('read pins', () => this.#client.hgetall(this.key(server)));
      const next = new Map(Object.entries(all));
      // A first sight pinned while this read was in flight is not in it yet: a snapshot
      // without it would let the next listing take a changed definition as new.
      const old = this.mirrors.get(server);
      for (const tool of this.unconfirmed.get(server) ?? []) {
        const raw = old?.get(tool);
        if (!next.has(tool) && raw !== undefined) next.set(tool, raw);
      }
      this.mirrors.set(server, next);
    })().finally(() => this.loading.delete(server));
    this.loading.set(server, p);
    p.catch((err: unknown) => this.onError?.(`loading pins of ${server} failed: ${String(err)}`));
    return p;
  }

  private async refresh(server: string, tool: string): Promise<void> {
    const m = this.mirrors.get(server);
    if (!m) return;
    try {
      const v = await this.run('read pin', () => this.#client.hget(this.key(server), tool));
      if (v === null) m.delete(tool);
      else m.set(tool, v);
    } catch (err) {
      this.onError?.(`reading pin ${server}/${tool} failed: ${String(err)}`);
    }
  }

  // ---- the synchronous interface the gateway uses (mirror) ----------------

  get(server: string, tool: string): Pin | undefined {
    const m = this.mirrors.get(server);
    if (!m) {
      if (!this.tracked.has(server)) void this.track(server).catch(() => undefined);
      else if (!this.loading.has(server)) void this.load(server).catch(() => undefined);
      throw new StateUnavailableError(`state store unavailable: the pins of ${server} are not loaded from Redis ${this.dsn} (yet)`);
    }
    const raw = m.get(tool);
    return raw === undefined ? undefined : toPin(server, tool, raw);
  }

  pin(server: string, definition: PinnedDefinition, hash: string, now: Date): void {
    this.#conn.assertReady(`pinning ${definition.name}`);
    const raw = JSON.stringify({ hash, definition, pinned_at: now.toISOString() } satisfies Stored);
    const m = this.mirrors.get(server);
    if (m && !m.has(definition.name)) m.set(definition.name, raw);
    let waiting = this.unconfirmed.get(server);
    if (!waiting) this.unconfirmed.set(server, (waiting = new Set()));
    waiting.add(definition.name);
    void this.pinAsync(server, definition, hash, now, raw)
      .catch((err: unknown) => {
        this.onError?.(`pinning ${server}/${definition.name} failed: ${String(err)}`);
        void this.refresh(server, definition.name);
      })
      .finally(() => waiting.delete(definition.name));
  }

  markChanged(server: string, definition: PinnedDefinition, hash: string, now: Date): void {
    const m = this.mirrors.get(server);
    const raw = m?.get(definition.name);
    if (m && raw !== undefined) {
      const s = JSON.parse(raw) as Stored;
      if (s.hash !== hash) m.set(definition.name, JSON.stringify({ ...s, pending: { hash, definition, seen_at: now.toISOString() } } satisfies Stored));
    }
    void this.markChangedAsync(server, definition, hash, now).catch((err: unknown) =>
      this.onError?.(`recording the change of ${server}/${definition.name} failed: ${String(err)}`),
    );
  }

  upgrade(server: string, definition: PinnedDefinition, hash: string, fromHash: string): void {
    const m = this.mirrors.get(server);
    const raw = m?.get(definition.name);
    if (m && raw !== undefined) {
      const s = JSON.parse(raw) as Stored;
      if (s.hash === fromHash) m.set(definition.name, JSON.stringify({ ...s, hash, definition } satisfies Stored));
    }
    void this.upgradeAsync(server, definition, hash, fromHash).catch((err: unknown) =>
      this.onError?.(`upgrading the pin of ${server}/${definition.name} failed: ${String(err)}`),
    );
  }

  // ---- the authoritative operations (Redis) --------------------------------

  /** Replace a version-1 pin still at `fromHash` by the whole definition (compare-and-set). */
  async upgradeAsync(server: string, definition: PinnedDefinition, hash: string, fromHash: string): Promise<boolean> {
    return this.update(server, definition.name, (s) => (s.hash === fromHash ? { ...s, hash, definition } : undefined));
  }

  /** First sight: HSETNX. Returns false when another instance pinned the tool first. */
  async pinAsync(server: string, definition: PinnedDefinition, hash: string, now: Date, raw?: string): Promise<boolean> {
    const value = raw ?? JSON.stringify({ hash, definition, pinned_at: now.toISOString() } satisfies Stored);
    const n = await this.run('pin', () => this.#client.tgPin(1, this.key(server), definition.name, value, this.channel, this.event(server, definition.name)));
    if (n !== 1) await this.refresh(server, definition.name);
    return n === 1;
  }

  /** Record a changed definition waiting for acceptance (compare-and-set; nothing when the pin already has that hash). */
  async markChangedAsync(server: string, definition: PinnedDefinition, hash: string, now: Date): Promise<boolean> {
    return this.update(server, definition.name, (s) =>
      s.hash === hash || s.pending?.hash === hash ? undefined : { ...s, pending: { hash, definition, seen_at: now.toISOString() } },
    );
  }

  /** Accept the pending definition (compare-and-set, published): false when nothing was pending. */
  async acceptAsync(server: string, tool: string, now: Date): Promise<boolean> {
    return this.update(server, tool, (s) => (s.pending ? { hash: s.pending.hash, definition: s.pending.definition, pinned_at: now.toISOString() } : undefined));
  }

  async getAsync(server: string, tool: string): Promise<Pin | undefined> {
    const raw = await this.run('read pin', () => this.#client.hget(this.key(server), tool));
    return raw === null ? undefined : toPin(server, tool, raw);
  }

  /** Every pin (of one server, or of all: SCAN over `<prefix>pins:*`). */
  async listAsync(server?: string): Promise<Pin[]> {
    const servers = server !== undefined ? [server] : await this.servers();
    const out: Pin[] = [];
    for (const s of servers.sort()) {
      const all = await this.run('read pins', () => this.#client.hgetall(this.key(s)));
      for (const tool of Object.keys(all).sort()) out.push(toPin(s, tool, all[tool]!));
    }
    return out;
  }

  private async servers(): Promise<string[]> {
    const base = `${this.prefix}pins:`;
    const pattern = `${base.replace(/[*?[\]\\]/g, '\\$&')}*`;
    if (this.closed) throw new Error('RedisPinStore is closed');
    return (await this.#conn.scanKeys(pattern, 'list pins')).map((k) => k.slice(base.length));
  }

  /** Wait for the first connection attempt; throws StateUnavailableError when Redis cannot be reached. */
  async ready(): Promise<void> {
    await this.#conn.firstAttempt;
    this.#conn.assertReady('connecting');
  }

  /** PinStore's synchronous accept cannot wait for Redis: use acceptAsync. */
  accept(server: string, tool: string, now: Date): Promise<boolean> {
    return this.acceptAsync(server, tool, now);
  }

  list(server?: string): Promise<Pin[]> {
    return this.listAsync(server);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.#reload) clearInterval(this.#reload);
    this.#sub?.disconnect();
    void this.#conn.close();
  }

  private event(server: string, tool: string): string {
    return JSON.stringify({ server, tool });
  }

  private async update(server: string, tool: string, change: (s: Stored) => Stored | undefined): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await this.run('read pin', () => this.#client.hget(this.key(server), tool));
      if (raw === null) return false;
      const next = change(toStored(toPin(server, tool, raw)));
      if (next === undefined) return false;
      const value = JSON.stringify(next);
      const n = await this.run('update pin', () => this.#client.tgPinCas(1, this.key(server), tool, raw, value, this.channel, this.event(server, tool)));
      if (n === 1) {
        this.mirrors.get(server)?.set(tool, value);
        return true;
      }
    }
    throw new StateUnavailableError(`updating pin ${server}/${tool} lost 10 races in a row`);
  }

  private run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('RedisPinStore is closed'));
    return this.#conn.run(what, fn);
  }
}
