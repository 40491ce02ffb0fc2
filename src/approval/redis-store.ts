// Approval requests in Redis, shared by every gateway instance behind a load
// balancer and by every process that decides (`toolgate approvals ...
// --state-dsn`, the HTTP API, the dashboard). Keys and the request codec:
// redis-layout.ts; the scripts that change requests: redis-scripts.ts.
import { hostname } from 'node:os';
import { openRedisConnection, type RedisClient, type RedisConnection } from '../state/redis-client.js';
import { StateUnavailableError } from '../state/errors.js';
import { type ApprovalEvent, approvalKeys, type Immutable, immutableJson, ownerGoneReason, pairs, recordFromHash } from './redis-layout.js';
import { listenApprovalEvents } from './redis-events.js';
import { OwnerHeartbeat } from './redis-heartbeat.js';
import { type ApprovalCommands, defineApprovalCommands } from './redis-scripts.js';
import { bareApprovalId, draftApproval, matchIdPrefix, notPending, refuseDecider } from './rules.js';
import type { ApprovalDecider, ApprovalRecord, ApprovalStatus, DecideInput, DecideResult, NewApproval } from './types.js';

export type { ApprovalEvent } from './redis-layout.js';
export { recordFromHash } from './redis-layout.js';

export const DEFAULT_APPROVAL_RETENTION_MS = 7 * 24 * 3600_000;

export interface RedisApprovalStoreOptions {
  url: string;
  /** Key prefix shared by the instances (default `toolgate:`; hash-tagged in a cluster). */
  prefix?: string;
  /** This gateway instance (heartbeat owner of the requests it creates). Deciders need none. */
  owner?: string;
  /** How long a settled request stays readable after its expiry, ms (default 7 days). */
  retentionMs?: number;
  /** The owner heartbeat's time to live, ms (default 15000; renewed every third of it). */
  heartbeatTtlMs?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  clock?: () => number;
  host?: string;
  pid?: number;
  /** Told when the connection goes down or comes back (no secret in `detail`). */
  onStatus?: (status: 'up' | 'down', detail: string) => void;
}

export class RedisApprovalStore implements ApprovalDecider {
  readonly kind = 'redis';
  readonly prefix: string;
  readonly owner: string | undefined;
  readonly channel: string;
  private readonly keys: ReturnType<typeof approvalKeys>;
  /** The DSN with its password hidden. */
  readonly dsn: string;
  readonly #conn: RedisConnection;
  readonly #client: RedisClient & ApprovalCommands;
  private readonly clock: () => number;
  private readonly retentionMs: number;
  readonly heartbeatTtlMs: number;
  private readonly host: string;
  private readonly pid: number;
  private readonly heartbeat: OwnerHeartbeat | undefined;
  private closed = false;
  private readonly subscribers = new Set<RedisClient>();

  constructor(o: RedisApprovalStoreOptions) {
    this.#conn = openRedisConnection({
      url: o.url,
      connectionName: 'toolgate-approvals',
      ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
      ...(o.commandTimeoutMs !== undefined ? { commandTimeoutMs: o.commandTimeoutMs } : {}),
      ...(o.onStatus !== undefined ? { onStatus: o.onStatus } : {}),
    });
    this.dsn = this.#conn.dsn;
    try {
      this.prefix = this.#conn.keyPrefix(o.prefix ?? 'toolgate:');
    } catch (err) {
      void this.#conn.close();
      throw err;
    }
    this.owner = o.owner;
    this.keys = approvalKeys(this.prefix);
    this.channel = this.keys.events;
    this.clock = o.clock ?? Date.now;
    this.retentionMs = o.retentionMs ?? DEFAULT_APPROVAL_RETENTION_MS;
    this.heartbeatTtlMs = o.heartbeatTtlMs ?? 15_000;
    this.host = o.host ?? hostname();
    this.pid = o.pid ?? process.pid;
    const c = defineApprovalCommands(this.#conn.client);
    this.#client = c;
    if (this.owner !== undefined) this.heartbeat = new OwnerHeartbeat(c, `${this.keys.ownerPrefix}${this.owner}`, this.heartbeatTtlMs, this.clock);
  }

  /** 'ready' when commands can be sent. */
  get status(): string {
    return this.#client.status;
  }

  /** Wait for the first connection attempt; throws StateUnavailableError when Redis cannot be reached. */
  async ready(): Promise<void> {
    await this.#conn.firstAttempt;
    this.#conn.assertReady('connecting');
  }

  /** Throws StateUnavailableError unless commands can be sent now (no waiting). */
  assertReady(what: string): void {
    this.#conn.assertReady(what);
  }

  key(id: string): string {
    return this.keys.request(id);
  }

  /**
   * The record a `create` will store, made here so the waiting side can hold it
   * at once (the id is random: nobody else can know or decide it before it is stored).
   */
  draft(input: NewApproval): ApprovalRecord {
    return draftApproval(input, { now: this.clock(), host: this.host, pid: this.pid, instance: this.owner });
  }

  /** Store a drafted record (pending). Needs an owner: its heartbeat keeps the request alive. */
  async store(r: ApprovalRecord): Promise<void> {
    if (this.owner === undefined) throw new Error('RedisApprovalStore: creating requests needs an owner');
    const ttl = Math.max(1000, r.expiresAt - this.clock() + this.retentionMs);
    await this.run('create approval', async () => {
      await this.heartbeat?.beat();
      const n = await this.#client.tgApprCreate(
        2,
        this.key(r.id),
        this.keys.index,
        r.id,
        immutableJson(r),
        String(r.expiresAt),
        this.owner!,
        String(ttl),
        String(this.clock() - this.retentionMs),
      );
      if (n !== 1) throw new Error(`approval ${r.id} exists already`);
      if (r.fingerprint !== undefined) {
        // Hold-model requests are found by fingerprint too (a held call whose client gave up converges on the retry).
        await this.#client.zadd(this.keys.fingerprint(r.fingerprint), r.createdAt, r.id);
        await this.#client.pexpire(this.keys.fingerprint(r.fingerprint), ttl);
      }
    });
  }

  // ---- the retry model: one request per fingerprint, consumed once (each step one script) ----

  async request(input: NewApproval & { fingerprint: string }, dedupeWindowMs?: number): Promise<{ record: ApprovalRecord; reused: boolean }> {
    if (this.owner === undefined) throw new Error('RedisApprovalStore: creating requests needs an owner');
    const r = this.draft(input);
    const now = this.clock();
    const ttl = Math.max(1000, r.expiresAt - now + this.retentionMs);
    const since = dedupeWindowMs === undefined ? '-inf' : String(now - dedupeWindowMs);
    const [code, id] = await this.run('request approval', () =>
      this.#client.tgApprRequest(
        3,
        this.keys.fingerprint(input.fingerprint),
        this.key(r.id),
        this.keys.index,
        String(now),
        since,
        this.keys.hashPrefix,
        r.id,
        immutableJson(r),
        String(r.expiresAt),
        this.owner!,
        String(ttl),
        String(now - this.retentionMs),
        input.model ?? 'hold',
      ),
    );
    if (code === 'created') return { record: r, reused: false };
    const found = await this.byId(id);
    if (!found) throw new StateUnavailableError(`state store unavailable: Redis ${this.dsn}: approval ${id} vanished`);
    return { record: found, reused: true };
  }

  async pending(fingerprint: string, dedupeWindowMs?: number): Promise<ApprovalRecord | undefined> {
    const now = this.clock();
    const since = dedupeWindowMs === undefined ? '-inf' : String(now - dedupeWindowMs);
    const ids = await this.run('read approvals', () => this.#client.zrevrangebyscore(this.keys.fingerprint(fingerprint), '+inf', since));
    return (await this.getMany(ids)).find((r) => r.status === 'pending' && r.expiresAt > now);
  }

  async consume(fingerprint: string): Promise<ApprovalRecord | undefined> {
    const id = await this.run('consume approval', () =>
      this.#client.tgApprConsume(1, this.keys.fingerprint(fingerprint), String(this.clock()), this.keys.hashPrefix),
    );
    return id ? this.byId(id) : undefined;
  }

  async consumeById(id: string): Promise<boolean> {
    return (await this.run('consume approval', () => this.#client.tgApprConsumeId(1, this.key(id), String(this.clock())))) === 1;
  }

  async rollback(id: string): Promise<boolean> {
    return (await this.run('roll back approval', () => this.#client.tgApprRollback(1, this.key(id)))) === 1;
  }

  async latest(fingerprint: string): Promise<ApprovalRecord | undefined> {
    const ids = await this.run('read approvals', () => this.#client.zrevrange(this.keys.fingerprint(fingerprint), 0, 0));
    return ids[0] === undefined ? undefined : this.byId(ids[0]);
  }

  /** The waiting call's client gave up: the request stays pending, free of this gateway's heartbeat. */
  async detach(id: string): Promise<ApprovalRecord | undefined> {
    await this.run('detach approval', () => this.#client.tgApprDetach(1, this.key(id)));
    return this.byId(id);
  }

  /** Expire a request now (`approvals expire`): a pending one, or an approved one not consumed yet. */
  async expireNow(idOrPrefix: string, by: string, reason: string): Promise<DecideResult> {
    const res = await this.resolve(idOrPrefix);
    if (!res.ok) return res;
    const rec = await this.byId(res.id);
    if (!rec) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    if (rec.status === 'pending') {
      const d = await this.transition('expire approval', 'tgApprDecide', rec, ['expired', by, reason, 'cli']);
      return d.code === 'ok' && d.record ? { ok: true, record: d.record } : notPending(d.record ?? rec);
    }
    const n = await this.run('expire approval', () => this.#client.tgApprExpireApproved(1, this.key(rec.id), String(this.clock()), by, reason));
    const after = (await this.byId(rec.id)) ?? rec;
    return n === 1 ? { ok: true, record: after } : notPending(after);
  }

  async create(input: NewApproval): Promise<ApprovalRecord> {
    const r = this.draft(input);
    await this.store(r);
    return r;
  }

  async get(idOrPrefix: string): Promise<ApprovalRecord | undefined> {
    const r = await this.resolve(idOrPrefix);
    return r.ok ? this.byId(r.id) : undefined;
  }

  async byId(id: string): Promise<ApprovalRecord | undefined> {
    const h = await this.run('read approval', () => this.#client.hgetall(this.key(id)));
    return recordFromHash(h);
  }

  async getMany(ids: readonly string[]): Promise<ApprovalRecord[]> {
    if (ids.length === 0) return [];
    const replies = await this.run('read approvals', async () => {
      const p = this.#client.pipeline();
      for (const id of ids) p.hgetall(this.key(id));
      return (await p.exec()) ?? [];
    });
    const out: ApprovalRecord[] = [];
    for (const [err, h] of replies) {
      if (err) throw new StateUnavailableError(`state store unavailable: Redis ${this.dsn}: read approvals failed`);
      const r = recordFromHash(h as Record<string, string>);
      if (r) out.push(r);
    }
    return out;
  }

  private async allIds(): Promise<string[]> {
    return this.run('list approvals', () => this.#client.zrange(this.keys.index, 0, -1));
  }

  async list(filter: { status?: ApprovalStatus; limit?: number } = {}): Promise<ApprovalRecord[]> {
    const limit = filter.limit ?? 1000;
    const all = await this.getMany(await this.allIds());
    return all
      .filter((r) => filter.status === undefined || r.status === filter.status)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      .slice(0, limit);
  }

  async decide(idOrPrefix: string, input: DecideInput): Promise<DecideResult> {
    const res = await this.resolve(idOrPrefix);
    if (!res.ok) return res;
    const rec = await this.byId(res.id);
    if (!rec) return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
    if (rec.status !== 'pending') return notPending(rec);
    // Who may decide depends only on fields that never change: checked here; the
    // script then changes the request only if it is still pending.
    if (rec.expiresAt > this.clock()) {
      const refused = refuseDecider(rec, input);
      if (refused) return refused;
    }
    const reply = await this.transition('decide approval', 'tgApprDecide', rec, [
      input.approve ? 'approved' : 'denied',
      input.by,
      input.reason ?? '',
      input.channel,
    ]);
    const after = reply.record ?? rec;
    switch (reply.code) {
      case 'ok':
        return { ok: true, record: after };
      case 'expired':
        return { ok: false, code: 'expired', message: `approval ${rec.id} has expired`, record: after };
      case 'abandoned':
        return { ok: false, code: 'not_pending', message: `approval ${rec.id} is abandoned: ${after.reason ?? ownerGoneReason(rec)}`, record: after };
      case 'not_found':
        return { ok: false, code: 'not_found', message: `no approval request ${idOrPrefix}` };
      default:
        return notPending(after);
    }
  }

  /** Expire a pending request whose deadline has passed. Returns the record as it now is. */
  async expire(id: string): Promise<ApprovalRecord | undefined> {
    return (await this.transition('expire approval', 'tgApprExpire', { id, instance: undefined, host: this.host, pid: this.pid }, [])).record;
  }

  /** Abandon a pending request: its call will never be executed. Returns the record as it now is. */
  async abandon(id: string, reason: string): Promise<ApprovalRecord | undefined> {
    return (await this.transition('abandon approval', 'tgApprAbandon', { id, instance: undefined, host: this.host, pid: this.pid }, [reason])).record;
  }

  /**
   * Settle what nobody will settle: pending requests whose gateway's heartbeat
   * is gone are abandoned, pending requests past their deadline expire.
   * Returns how many changed.
   */
  async sweep(): Promise<number> {
    const ids = await this.allIds();
    if (ids.length === 0) return 0;
    const now = this.clock();
    const rows = await this.run('sweep approvals', async () => {
      const p = this.#client.pipeline();
      for (const id of ids) p.hmget(this.key(id), 'status', 'owner', 'expires_at', 'rec', 'model');
      return (await p.exec()) ?? [];
    });
    const owners = new Set<string>();
    const pending: Array<{ id: string; owner: string; expires: number; rec: string; held: boolean }> = [];
    rows.forEach(([err, v], i) => {
      const [status, owner, expires, rec, model] = (err ? [] : v) as Array<string | null>;
      if (status === 'pending' && owner && rec) {
        pending.push({ id: ids[i]!, owner, expires: Number(expires), rec, held: model !== 'retry' });
        owners.add(owner);
      }
    });
    if (pending.length === 0) return 0;
    const ownerList = [...owners];
    const alive = await this.run('sweep approvals', () => this.#client.mget(...ownerList.map((o) => `${this.keys.ownerPrefix}${o}`)));
    const dead = new Set(ownerList.filter((_, i) => alive[i] === null));
    let changed = 0;
    for (const p of pending) {
      if ((!p.held || !dead.has(p.owner)) && p.expires > now) continue;
      const base = JSON.parse(p.rec) as Immutable;
      // One request the script refuses (its stored owner no longer matches its record) stays
      // pending, never run, and does not keep the others from being settled.
      const r = await this.transition('sweep approvals', 'tgApprSweep', base, []).catch(() => undefined);
      if (r?.code === 'ok') changed++;
    }
    return changed;
  }

  /**
   * A subscriber connection to the events channel. `onEvent` gets every status
   * change; `onSync` runs each time the subscription is (re-)established, so
   * the caller can re-read what it waits for (events sent while it was
   * disconnected are lost). Returns a function that closes the subscriber.
   */
  subscribe(onEvent: (e: ApprovalEvent) => void, onSync: () => void, onError?: (err: unknown) => void): () => void {
    const sub = this.#conn.duplicate('toolgate-approvals-sub');
    this.subscribers.add(sub);
    listenApprovalEvents(sub, this.channel, onEvent, onSync, onError);
    return () => {
      this.subscribers.delete(sub);
      sub.disconnect();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.heartbeat?.stop();
    this.closed = true;
    for (const s of this.subscribers) s.disconnect();
    this.subscribers.clear();
    await this.#conn.close();
  }

  private async transition(
    what: string,
    cmd: 'tgApprDecide' | 'tgApprExpire' | 'tgApprAbandon' | 'tgApprSweep',
    rec: Pick<ApprovalRecord, 'id' | 'instance' | 'host' | 'pid'>,
    extra: string[],
  ): Promise<{ code: string; record?: ApprovalRecord }> {
    // The owner's heartbeat key is declared too (the scripts that read it refuse to run otherwise): see LUA_COMMON.
    const keys = rec.instance === undefined ? [this.key(rec.id)] : [this.key(rec.id), `${this.keys.ownerPrefix}${rec.instance}`];
    const args = [...keys, String(this.clock()), this.keys.ownerPrefix, this.channel, ownerGoneReason(rec), ...extra];
    const reply = await this.run(what, () => this.#client[cmd](keys.length, ...args));
    const record = reply.length > 1 ? recordFromHash(pairs(reply, 1)) : undefined;
    return { code: reply[0], ...(record ? { record } : {}) };
  }

  private async resolve(idOrPrefix: string): Promise<{ ok: true; id: string } | { ok: false; code: 'not_found' | 'ambiguous'; message: string }> {
    if (/^apr?_[0-9a-f]+$/.test(idOrPrefix) && (await this.run('read approval', () => this.#client.exists(this.key(idOrPrefix)))) === 1)
      return { ok: true, id: idOrPrefix };
    // Not an id prefix at all: no need to ask Redis for the ids.
    if (!/^[0-9a-f]{4,}$/.test(bareApprovalId(idOrPrefix))) return matchIdPrefix(idOrPrefix, []);
    return matchIdPrefix(idOrPrefix, await this.allIds());
  }

  private run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('RedisApprovalStore is closed'));
    return this.#conn.run(what, fn);
  }
}
