import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { ListenerSecurity, portOf } from './index.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('an Origin must name the port the request came to: another local program is another origin', () => {
  const s = new ListenerSecurity({ bind: '127.0.0.1', apiKeys: [] });
  assert.deepEqual(s.check(req({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })), { ok: true });
  // Loopback names stand for each other; the port must still match.
  assert.deepEqual(s.check(req({ host: '127.0.0.1:8080', origin: 'http://localhost:8080' })), { ok: true });
  for (const origin of ['http://localhost:3000', 'http://127.0.0.1', 'https://127.0.0.1:8443', 'http://127.0.0.1:08080x']) {
    const v = s.check(req({ host: '127.0.0.1:8080', origin }));
    assert.equal(v.ok, false, origin);
    if (!v.ok) assert.equal(v.status, 403);
  }
  // Default ports: an https page on 443 calling through a proxy that sends a bare Host.
  const proxied = new ListenerSecurity({ bind: '127.0.0.1', apiKeys: [], allowedHosts: ['gw.example.com'] });
  assert.deepEqual(proxied.check(req({ host: 'gw.example.com', origin: 'https://gw.example.com' })), { ok: true });
  assert.equal(proxied.check(req({ host: 'gw.example.com', origin: 'https://gw.example.com:444' })).ok, false);
  // Listed origins are taken as written.
  const listed = new ListenerSecurity({ bind: '127.0.0.1', apiKeys: [], allowedOrigins: ['http://localhost:3000'] });
  assert.deepEqual(listed.check(req({ host: '127.0.0.1:8080', origin: 'http://localhost:3000' })), { ok: true });
});

test('portOf reads the port of a Host header', () => {
  assert.equal(portOf('127.0.0.1:8080'), '8080');
  assert.equal(portOf('[::1]:9000'), '9000');
  assert.equal(portOf('[::1]'), undefined);
  assert.equal(portOf('example.com'), undefined);
});
