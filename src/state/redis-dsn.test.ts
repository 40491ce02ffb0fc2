import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { checkRedisDsn, parseRedisDsn, redactDsn, scrubSecrets, storeKeyPrefix } from './redis-dsn.js';
import { openCounterStore, parseStateBackend } from './index.js';
import { RedisCounterStore } from './redis.js';

describe('redactDsn', () => {
  it('hides the password and keeps what helps debugging', () => {
    assert.equal(redactDsn('redis://user:s3cret@cache.internal:6380/2'), 'redis://user:***@cache.internal:6380/2');
    assert.equal(redactDsn('rediss://:s3cret@cache:6379'), 'rediss://:***@cache:6379');
    assert.equal(redactDsn('redis://cache:6379/0'), 'redis://cache:6379/0');
  });
  it('hides a lone user-info part and password-like query parameters', () => {
    assert.equal(redactDsn('redis://s3cret@cache:6379'), 'redis://***@cache:6379');
    assert.equal(redactDsn('redis://cache:6379?password=s3cret&family=6'), 'redis://cache:6379?password=***&family=6');
  });
  it('never echoes a DSN it cannot parse', () => {
    assert.equal(redactDsn('redis://user:s3cret@[bad'), '<invalid Redis DSN>');
  });
  it('hides the password of cluster DSNs', () => {
    assert.equal(redactDsn('redis+cluster://user:s3cret@node1:7000'), 'redis+cluster://user:***@node1:7000');
    assert.equal(redactDsn('rediss+cluster://:s3cret@node1:7000/0'), 'rediss+cluster://:***@node1:7000/0');
    assert.equal(redactDsn('rediss+cluster://s3cret@node1:7000'), 'rediss+cluster://***@node1:7000');
  });
  it('hides percent-encoded passwords', () => {
    const shown = redactDsn('redis://u:p%40ss%3Aw0rd@h:1');
    assert.ok(!shown.includes('p%40ss') && !shown.includes('w0rd'), shown);
  });
});

describe('parseRedisDsn', () => {
  it('takes a DSN apart', () => {
    assert.deepEqual(parseRedisDsn('redis://u:p%40ss@h:6380/3'), { tls: false, cluster: false, host: 'h', port: 6380, db: 3, username: 'u', password: 'p@ss' });
    assert.deepEqual(parseRedisDsn('rediss://h'), { tls: true, cluster: false, host: 'h', port: 6379, db: 0 });
    assert.deepEqual(parseRedisDsn('redis://[::1]:7000'), { tls: false, cluster: false, host: '::1', port: 7000, db: 0 });
  });
  it('takes a cluster DSN apart: one seed node, no database', () => {
    assert.deepEqual(parseRedisDsn('redis+cluster://u:p%40ss@node1:7000'), {
      tls: false,
      cluster: true,
      host: 'node1',
      port: 7000,
      db: 0,
      username: 'u',
      password: 'p@ss',
    });
    assert.deepEqual(parseRedisDsn('REDISS+CLUSTER://node1:7000/0'), { tls: true, cluster: true, host: 'node1', port: 7000, db: 0 });
    assert.deepEqual(parseRedisDsn('redis+cluster://[::1]'), { tls: false, cluster: true, host: '::1', port: 6379, db: 0 });
  });
  it('refuses a database number on a cluster, naming the fix and hiding the password', () => {
    assert.throws(
      () => parseRedisDsn('redis+cluster://u:s3cret@node1:7000/2'),
      (e: Error) => /no numbered databases; remove \/2/.test(e.message) && /--state-prefix/.test(e.message) && !e.message.includes('s3cret'),
    );
  });
  it('refuses bad DSNs with messages that hide the password', () => {
    for (const bad of [
      'redis://u:s3cret@h:6379/x',
      'http://u:s3cret@h:6379',
      'redis://u:s3cret@h:6379/-1',
      'redis://u:s3cret@',
      'redis+sentinel://u:s3cret@h:1',
      'redis+cluster://u:s3cret@h:99999',
      'redis+cluster://u:s3cret@h:1/x',
    ]) {
      assert.throws(
        () => parseRedisDsn(bad),
        (e: Error) => /invalid Redis DSN/.test(e.message) && !e.message.includes('s3cret'),
        bad,
      );
    }
  });
  it('scrubs secrets out of driver messages', () => {
    assert.equal(scrubSecrets('WRONGPASS for s3cret at redis://u:s3cret@h:1', 'redis://u:s3cret@h:1'), 'WRONGPASS for *** at redis://u:***@h:1');
    assert.equal(
      scrubSecrets('WRONGPASS for s3cret at rediss+cluster://u:s3cret@h:1', 'rediss+cluster://u:s3cret@h:1'),
      'WRONGPASS for *** at rediss+cluster://u:***@h:1',
    );
  });
});

describe('checkRedisDsn', () => {
  it('accepts every Redis form and returns it trimmed', () => {
    for (const ok of ['redis://h:1/2', 'rediss://h', 'redis+cluster://h:7000', 'rediss+cluster://u:p@h:7000/0']) assert.equal(checkRedisDsn(` ${ok} `), ok);
  });
  it('refuses anything else, listing the forms, without the password', () => {
    for (const bad of ['postgres://u:s3cret@h/db', 'cache:6379', 'redis+cluster://u:s3cret@h:7000/1']) {
      assert.throws(
        () => checkRedisDsn(bad),
        (e: Error) => /invalid Redis DSN/.test(e.message) && !e.message.includes('s3cret'),
        bad,
      );
    }
    assert.throws(() => checkRedisDsn('cache:6379'), /redis\+cluster:\/\//);
  });
});

describe('storeKeyPrefix', () => {
  it('leaves single-node prefixes exactly as they are (existing data stays found)', () => {
    for (const p of ['toolgate:', '', 'a{b}:', 'x']) assert.equal(storeKeyPrefix(p, false), p);
  });
  it('wraps the prefix in a hash tag on a cluster', () => {
    assert.equal(storeKeyPrefix('toolgate:', true), '{toolgate}:');
    assert.equal(storeKeyPrefix('team-a:toolgate:', true), '{team-a:toolgate}:');
    assert.equal(storeKeyPrefix('tg', true), '{tg}');
    assert.equal(storeKeyPrefix('{tg}:', true), '{tg}:', 'a hash tag of its own is kept');
  });
  it('refuses a prefix that cannot become a hash tag', () => {
    for (const bad of ['', ':', 'a{b:', 'a}b:', '{}:']) assert.throws(() => storeKeyPrefix(bad, true), /invalid state prefix .* Redis Cluster/, bad);
  });
});

describe('openCounterStore with a Redis DSN', () => {
  it('opens without waiting for Redis (start and deny, never crash)', async () => {
    // Port 1 on loopback: nothing listens there.
    const s = await openCounterStore({ kind: 'redis', url: 'redis://user:s3cret@127.0.0.1:1/0', prefix: 'x:' });
    assert.ok(s instanceof RedisCounterStore);
    if (!(s instanceof RedisCounterStore)) return;
    // Returned while its first connection attempt is still under way: open did not wait for Redis.
    assert.equal(s.status, 'connecting');
    assert.equal(s.kind, 'redis');
    assert.equal(s.dsn, 'redis://user:***@127.0.0.1:1/0');
    assert.equal(s.prefix, 'x:');
    // Logging or serialising the store cannot reach the password (the client is an ES private field).
    assert.ok(!JSON.stringify(s).includes('s3cret'));
    assert.ok(!inspect(s, { depth: 10, showHidden: true }).includes('s3cret'));
    await assert.rejects(s.read([{ key: 'a', window: 'day' }], 0), (e: Error) => /state store unavailable/.test(e.message) && !e.message.includes('s3cret'));
    await s.close();
  });
  it('accepts cluster DSNs as a Redis backend', () => {
    assert.deepEqual(parseStateBackend('redis+cluster://h:7000'), { kind: 'redis', url: 'redis+cluster://h:7000' });
    assert.deepEqual(parseStateBackend('rediss+cluster://h:7000'), { kind: 'redis', url: 'rediss+cluster://h:7000' });
  });
  it('refuses a cluster prefix that cannot be a hash tag before connecting', async () => {
    await assert.rejects(
      openCounterStore({ kind: 'redis', url: 'redis+cluster://u:s3cret@127.0.0.1:1', prefix: ':' }),
      (e: Error) => /invalid state prefix/.test(e.message) && !e.message.includes('s3cret'),
    );
  });
  it('opens a cluster store without waiting and refuses calls while no node answers', async () => {
    const s = await openCounterStore({ kind: 'redis', url: 'redis+cluster://user:s3cret@127.0.0.1:1', prefix: 'x:' });
    assert.ok(s instanceof RedisCounterStore);
    if (!(s instanceof RedisCounterStore)) return;
    assert.equal(s.prefix, '{x}:');
    assert.equal(s.cluster, true);
    assert.ok(!inspect(s, { depth: 10, showHidden: true }).includes('s3cret'));
    await assert.rejects(s.read([{ key: 'a', window: 'day' }], 0), (e: Error) => /state store unavailable/.test(e.message) && !e.message.includes('s3cret'));
    await s.close();
  });
  it('refuses an unknown backend without echoing its password', () => {
    assert.throws(
      () => parseStateBackend('postgres://u:s3cret@h/db'),
      (e: Error) => /unknown state backend/.test(e.message) && !e.message.includes('s3cret'),
    );
  });
});
