// The token vault: sealed records are bound to their server and their key, and
// both stores (SQLite, Redis) keep only sealed text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { probeRedis, REDIS_URL, skipUnless } from '../../test/support/redis.js';
import { loadTokenKey, RedisSealedStore, seal, SqliteSealedStore, TokenVault, unseal, type UpstreamLogin } from './vault.js';

const login = (server: string): UpstreamLogin => ({
  server,
  url: 'https://mcp.example.com/mcp',
  issuer: 'https://auth.example.com',
  authorizationServer: { url: 'https://auth.example.com', token_endpoint: 'https://auth.example.com/token' },
  client: { client_id: 'c1' },
  accessToken: `at-${randomBytes(16).toString('hex')}`,
  refreshToken: `rt-${randomBytes(16).toString('hex')}`,
  expiresAt: 1_800_000_000_000,
  updatedAt: 1_799_999_000_000,
});

const skip = skipUnless('Redis', await probeRedis(REDIS_URL));

describe('token vault', () => {
  const key = randomBytes(32);

  test('seal and unseal; another server, another key or a changed byte is refused', () => {
    const l = login('github');
    const sealed = seal(key, 'github', l);
    assert.ok(!sealed.includes(l.accessToken) && !sealed.includes(l.refreshToken!));
    assert.deepEqual(unseal(key, 'github', sealed), l);
    assert.throws(() => unseal(key, 'gitlab', sealed), /cannot be decrypted/);
    assert.throws(() => unseal(randomBytes(32), 'github', sealed), /cannot be decrypted/);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2]!, 'base64url');
    body[0]! ^= 1;
    parts[2] = body.toString('base64url');
    assert.throws(() => unseal(key, 'github', parts.join('.')), /cannot be decrypted/);
    assert.throws(() => unseal(key, 'github', 'v0.x.y.z'), /not in a format/);
  });

  test('the key: 64 hex digits or base64 of 32 bytes, from the environment or a file; anything else is refused', () => {
    assert.equal(loadTokenKey({ env: { TOOLGATE_TOKEN_KEY: key.toString('hex') } }).equals(key), true);
    assert.equal(loadTokenKey({ env: { TOOLGATE_TOKEN_KEY: key.toString('base64') } }).equals(key), true);
    assert.throws(() => loadTokenKey({ env: {} }), /set TOOLGATE_TOKEN_KEY/);
    assert.throws(() => loadTokenKey({ env: { TOOLGATE_TOKEN_KEY: 'short' } }), /32 bytes/);
  });

  test('SQLite: put, get, list, delete; the file holds no token in the clear', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oauth-vault-'));
    const vault = new TokenVault(new SqliteSealedStore(dir), key);
    const l = login('github');
    await vault.put(l);
    assert.deepEqual(await vault.get('github'), l);
    assert.deepEqual(await vault.list(), ['github']);
    assert.ok(!readFileSync(join(dir, 'oauth-tokens.db')).toString('latin1').includes(l.accessToken));
    await vault.delete('github');
    assert.equal(await vault.get('github'), undefined);
    await vault.close();
  });

  test('Redis: put, get, list, delete under the prefix; the stored value is sealed', { skip }, async () => {
    const prefix = `tg-oauth-test-${randomBytes(4).toString('hex')}:`;
    const vault = new TokenVault(new RedisSealedStore(REDIS_URL, prefix), key);
    const raw = new Redis(REDIS_URL);
    try {
      const l = login('github');
      await vault.put(l);
      assert.deepEqual(await vault.get('github'), l);
      assert.deepEqual(await vault.list(), ['github']);
      const stored = await raw.hget(`${prefix}oauth:tokens`, 'github');
      assert.ok(stored && stored.startsWith('v1.') && !stored.includes(l.accessToken));
      await vault.delete('github');
      assert.equal(await vault.get('github'), undefined);
    } finally {
      await raw.del(`${prefix}oauth:tokens`);
      raw.disconnect();
      await vault.close();
    }
  });
});
