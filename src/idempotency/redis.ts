// Redis idempotency store: shared by every gateway on one Redis. An entry is
// one key with a TTL (Redis expires it: storage stays bounded); a claim is
// SET NX, so exactly one gateway owns a key; completing and releasing check
// the owner in one script, so a late owner never overwrites another's entry.
import { openRedisConnection, type RedisClient, type RedisConnection } from '../state/redis-client.js';
import { DEFAULT_REDIS_PREFIX } from '../state/redis.js';
import type { ClaimResult, IdempotencyStore } from './store.js';

// KEYS[1] entry; ARGV[1] the owner's pending value; ARGV[2] new value or '' (delete); ARGV[3] ttl ms.
const SWAP_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

interface SwapCommand {
  tgIdemSwap(numKeys: number, key: string, expected: string, next: string, ttlMs: string): Promise<number>;
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly kind = 'redis';
  readonly #conn: RedisConnection;
  readonly #client: RedisClient & SwapCommand;
  private readonly prefix: string;

  constructor(opts: { url: string; prefix?: string }) {
    this.#conn = openRedisConnection({ url: opts.url, connectionName: 'toolgate-idempotency' });
    try {
      this.prefix = this.#conn.keyPrefix(opts.prefix ?? DEFAULT_REDIS_PREFIX);
    } catch (err) {
      void this.#conn.close();
      throw err;
    }
    this.#client = this.#conn.client as RedisClient & SwapCommand;
    this.#client.defineCommand('tgIdemSwap', { lua: SWAP_LUA });
  }

  private key(key: string): string {
    return `${this.prefix}idem:${key}`;
  }

  async claim(key: string, owner: string, _now: number, leaseMs: number): Promise<ClaimResult> {
    const k = this.key(key);
    return this.#conn.run('idempotency claim', async () => {
      for (;;) {
        if ((await this.#client.set(k, pending(owner), 'PX', Math.max(1, Math.ceil(leaseMs)), 'NX')) === 'OK') return { kind: 'claimed' };
        const v = await this.#client.get(k);
        if (v === null) continue; // expired in between: claim again
        return v.startsWith('D') ? { kind: 'done', result: v.slice(1) } : { kind: 'pending' };
      }
    });
  }

  async renew(key: string, owner: string, _now: number, leaseMs: number): Promise<boolean> {
    const v = pending(owner);
    return this.#conn.run(
      'idempotency renew',
      async () => (await this.#client.tgIdemSwap(1, this.key(key), v, v, String(Math.max(1, Math.ceil(leaseMs))))) === 1,
    );
  }

  async complete(key: string, owner: string, result: string, _now: number, windowMs: number): Promise<void> {
    await this.#conn.run('idempotency complete', () =>
      this.#client.tgIdemSwap(1, this.key(key), pending(owner), `D${result}`, String(Math.max(1, Math.ceil(windowMs)))),
    );
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#conn.run('idempotency release', () => this.#client.tgIdemSwap(1, this.key(key), pending(owner), '', '0'));
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }
}

/** A pending entry's value: P and its owner (a done entry is D and the answer). */
function pending(owner: string): string {
  return `P${owner}`;
}
