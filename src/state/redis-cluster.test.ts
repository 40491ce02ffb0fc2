// RedisCounterStore on a real Redis Cluster (3 masters started by this file):
// the shared contract, every key of a deployment on one slot (hash tag),
// limits held across two instances, scripts re-sent after NOSCRIPT, ACL
// passwords never shown, and failing fast when the shard holding the keys dies.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { T0, counterStoreContract, req } from '../../test/support/counter-store-contract.js';
import { isStateUnavailable } from './errors.js';
import { RedisCounterStore, type RedisReservationHandle } from './redis.js';
import { OwnRedisCluster, redisClusterToolsMissing } from '../../test/support/redis-cluster.js';
import { skipUnless, uniquePrefix } from '../../test/support/redis.js';
import type { ReserveResult } from './types.js';

const skip = skipUnless('Redis Cluster', redisClusterToolsMissing(), 'install redis-server and redis-cli');
let cluster: OwnRedisCluster | undefined;
const opened: RedisCounterStore[] = [];

if (skip === false) {
  before(async () => {
    cluster = await OwnRedisCluster.start();
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await cluster?.stop();
  });
}

let n = 0;
function open(opts: { prefix?: string; url?: string } = {}): RedisCounterStore {
  const s = new RedisCounterStore({ url: opts.url ?? cluster!.url(), prefix: opts.prefix ?? `tg-cluster-${++n}:` });
  opened.push(s);
  return s;
}

/** A store on the cluster that has connected (cluster discovery included). */
async function ready(s: RedisCounterStore): Promise<RedisCounterStore> {
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      await s.ping();
      return s;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function ok(r: ReserveResult): RedisReservationHandle {
  assert.equal(r.ok, true, JSON.stringify(r));
  if (!r.ok) throw new Error('unreachable');
  return r.handle;
}

if (skip === false) {
  counterStoreContract('RedisCounterStore on a Redis Cluster', { open: async () => ready(open()) });
}

describe('RedisCounterStore on a Redis Cluster', { skip }, () => {
  it('puts every key of one prefix on one slot: the prefix is a hash tag', async () => {
    const s = await ready(open({ prefix: 'deploy-a:' }));
    assert.equal(s.prefix, '{deploy-a}:');
    assert.equal(s.cluster, true);
    // Several counters and windows, and a reservation left open (its record stays).
    ok(await s.reserve([req('tool.calls', 1, 10, 'minute'), req('tool.spend', 2.5, 100, 'day'), req('other.calls', 1, 5, 'hour')], T0));
    const h = ok(await s.reserve([req('a', 1, 5, 'minute'), req('b', 1, 5, 'minute'), req('c', 1, 5, 'minute')], T0));
    await s.commit(h);
    ok(await s.reserve([req('z', 1, 5, 'minute')], T0));
    const keys = await cluster!.keys('*deploy-a*');
    assert.ok(keys.length >= 7, `keys written: ${keys.map((k) => k.key).join(' ')}`);
    assert.ok(
      keys.every((k) => k.key.startsWith('{deploy-a}:ctr:') || k.key.startsWith('{deploy-a}:res:')),
      keys.map((k) => k.key).join(' '),
    );
    assert.equal(new Set(keys.map((k) => k.slot)).size, 1, 'one slot');
    assert.equal(new Set(keys.map((k) => k.port)).size, 1, 'one node');
    // Without the tag the same keys would spread over the cluster (the test can fail).
    const untagged = await Promise.all(keys.map(async (k) => slotOf(k.key.replace('{deploy-a}', 'deploy-a'))));
    assert.ok(new Set(untagged).size > 1, 'untagged keys land on several slots');
    assert.equal((await s.read([{ key: 'tool.spend', window: 'day' }], T0)).get('tool.spend'), 2.5);
  });

  it('two instances (two gateways) let exactly the limit through in total, all-or-nothing', async () => {
    const prefix = uniquePrefix('race');
    const a = await ready(open({ prefix }));
    const b = await ready(open({ prefix }));
    const limit = 17;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).reserve([req('calls', 1, limit, 'hour'), req('spend', 1, 1000, 'day')], T0)),
    );
    assert.equal(results.filter((r) => r.ok).length, limit);
    assert.equal((await a.read([{ key: 'calls', window: 'hour' }], T0)).get('calls'), limit);
    assert.equal((await b.read([{ key: 'spend', window: 'day' }], T0)).get('spend'), limit, 'refused reservations wrote nothing');
    // A handle settles once across instances: B's rollback after A's commit gives nothing back.
    const h = ok(await a.reserve([req('once', 3, 10, 'hour')], T0));
    await a.commit(h);
    await b.rollback({ ...h });
    assert.equal((await b.read([{ key: 'once', window: 'hour' }], T0)).get('once'), 3);
  });

  it('re-sends its scripts after NOSCRIPT (script cache flushed on every node)', async () => {
    const s = await ready(open());
    ok(await s.reserve([req('k', 1, 3, 'hour')], T0));
    await cluster!.onEveryNode('SCRIPT', 'FLUSH');
    ok(await s.reserve([req('k', 1, 3, 'hour')], T0));
    const h = ok(await s.reserve([req('k', 1, 3, 'hour')], T0));
    assert.equal((await s.reserve([req('k', 1, 3, 'hour')], T0)).ok, false);
    await cluster!.onEveryNode('SCRIPT', 'FLUSH');
    await s.rollback(h);
    assert.equal((await s.read([{ key: 'k', window: 'hour' }], T0)).get('k'), 2);
  });

  it('authenticates every node with the DSN user and password and never shows it, right or wrong', async () => {
    await cluster!.onEveryNode('ACL', 'SETUSER', 'tg-user', 'on', '>c0rrect-horse', '~*', '&*', '+@all');
    const statuses: string[] = [];
    const wrong = new RedisCounterStore({ url: cluster!.url('tg-user:wr0ng-battery@'), onStatus: (st, d) => statuses.push(`${st}: ${d}`) });
    opened.push(wrong);
    const err = await wrong.read([{ key: 'a', window: 'day' }], T0).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err && isStateUnavailable(err), String(err));
    assert.ok(!err.message.includes('wr0ng-battery'), err.message);
    assert.ok(!statuses.join('\n').includes('wr0ng-battery'), statuses.join(' | '));
    assert.equal(wrong.dsn, `redis+cluster://tg-user:***@127.0.0.1:${cluster!.ports[0]}`);
    const right = await ready(new RedisCounterStore({ url: cluster!.url('tg-user:c0rrect-horse@'), prefix: 'auth:' }));
    opened.push(right);
    ok(await right.reserve([req('a', 1, 5, 'day')], T0));
  });

  // Last: it kills a node. Without replicas nothing takes over; the point is failing fast.
  it('fails fast with StateUnavailableError when the shard holding the keys dies', async () => {
    const s = await ready(open({ prefix: 'doomed:' }));
    ok(await s.reserve([req('a', 1, 5, 'day')], T0));
    const port = await cluster!.ownerOf(await slotOf('{doomed}:ctr:a'));
    await cluster!.killNode(port);
    // Refused, never left hanging on the dead shard: by one of the bounds the client
    // has (the command timeout, the redirection limit, a closed or absent connection), which the message names.
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        s.reserve([req('a', 1, 5, 'day')], T0),
        (e: Error) =>
          isStateUnavailable(e) &&
          /state store unavailable: .*(Command timed out|Too many Cluster redirections|Connection is closed|not connected)/.test(e.message),
      );
    }
  });
});

async function slotOf(key: string): Promise<number> {
  const r = cluster!.node(cluster!.ports[0]!);
  try {
    await r.connect();
    return Number(await r.cluster('KEYSLOT', key));
  } finally {
    r.disconnect();
  }
}
