import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseRedisDsn, redactDsn, scrubSecrets } from './redis-dsn.js';
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
  it('hides percent-encoded passwords', () => {
    const shown = redactDsn('redis://u:p%40ss%3Aw0rd@h:1');
    assert.ok(!shown.includes('p%40ss') && !shown.includes('w0rd'), shown);
  });
});

describe('parseRedisDsn', () => {
  it('takes a DSN apart', () => {
    assert.deepEqual(parseRedisDsn('redis://u:p%40ss@h:6380/3'), { tls: false, host: 'h', port: 6380, db: 3, username: 'u', password: 'p@ss' });
    assert.deepEqual(parseRedisDsn('rediss://h'), { tls: true, host: 'h', port: 6379, db: 0 });
    assert.deepEqual(parseRedisDsn('redis://[::1]:7000'), { tls: false, host: '::1', port: 7000, db: 0 });
  });
  it('refuses bad DSNs with messages that hide the password', () => {
    for (const bad of ['redis://u:s3cret@h:6379/x', 'http://u:s3cret@h:6379', 'redis://u:s3cret@h:6379/-1', 'redis://u:s3cret@']) {
      assert.throws(() => parseRedisDsn(bad), (e: Error) => /invalid Redis DSN/.test(e.message) && !e.message.includes('s3cret'), bad);
    }
  });
  it('scrubs secrets out of driver messages', () => {
    assert.equal(scrubSecrets('WRONGPASS for s3cret at redis://u:s3cret@h:1', 'redis://u:s3cret@h:1'), 'WRONGPASS for *** at redis://u:***@h:1');
  });
});

describe('openCounterStore with a Redis DSN', () => {
  it('opens without waiting for Redis (start and deny, never crash)', async () => {
    const t = Date.now();
    // Port 1 on loopback: nothing listens there.
    const s = await openCounterStore({ kind: 'redis', url: 'redis://user:s3cret@127.0.0.1:1/0', prefix: 'x:' });
    assert.ok(Date.now() - t < 200, 'returned at once');
    assert.ok(s instanceof RedisCounterStore);
    if (!(s instanceof RedisCounterStore)) return;
    assert.equal(s.kind, 'redis');
    assert.equal(s.dsn, 'redis://user:***@127.0.0.1:1/0');
    assert.equal(s.prefix, 'x:');
    // Logging or serialising the store cannot reach the password (the client is an ES private field).
    assert.ok(!JSON.stringify(s).includes('s3cret'));
    assert.ok(!inspect(s, { depth: 10, showHidden: true }).includes('s3cret'));
    await assert.rejects(s.read([{ key: 'a', window: 'day' }], 0), (e: Error) => /state store unavailable/.test(e.message) && !e.message.includes('s3cret'));
    await s.close();
  });
  it('refuses an unknown backend without echoing its password', () => {
    assert.throws(() => parseStateBackend('postgres://u:s3cret@h/db'), (e: Error) => /unknown state backend/.test(e.message) && !e.message.includes('s3cret'));
  });
});
