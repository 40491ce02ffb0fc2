import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeaderValue, encodeHeaderValue, isModernVersion, modernRequestHeaders, paramHeadersOf, paramHeaderValues } from './http-modern.js';
import { unwrapRequestState, wrapRequestState } from '../gateway/session.js';
import { modernErrorStatus } from '../http/stateless.js';

test('modern versions: 2026-07-28 and later dates', () => {
  assert.equal(isModernVersion('2026-07-28'), true);
  assert.equal(isModernVersion('2027-01-01'), true);
  assert.equal(isModernVersion('2025-11-25'), false);
  assert.equal(isModernVersion('latest'), false);
  assert.equal(isModernVersion(undefined), false);
});

test('header values: plain when safe, Base64 sentinel otherwise, and back', () => {
  assert.equal(encodeHeaderValue('us-west1'), 'us-west1');
  assert.equal(encodeHeaderValue('Hello, 世界'), '=?base64?SGVsbG8sIOS4lueVjA==?=');
  assert.equal(encodeHeaderValue(' padded '), '=?base64?IHBhZGRlZCA=?=');
  assert.equal(encodeHeaderValue('line1\nline2'), '=?base64?bGluZTEKbGluZTI=?=');
  assert.equal(encodeHeaderValue('=?base64?literal?='), '=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
  for (const v of ['us-west1', 'Hello, 世界', ' padded ', 'line1\nline2', '=?base64?literal?=']) assert.equal(decodeHeaderValue(encodeHeaderValue(v)), v);
  assert.equal(decodeHeaderValue('=?base64?not base64!?='), undefined);
});

test('x-mcp-header annotations: only through properties chains; values by type', () => {
  const schema = {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      nested: { type: 'object', properties: { tenant: { type: 'integer', 'x-mcp-header': 'Tenant' } } },
      list: { type: 'array', items: { type: 'object', properties: { bad: { type: 'string', 'x-mcp-header': 'Bad' } } } },
      flag: { type: 'boolean', 'x-mcp-header': 'Flag' },
    },
  };
  const a = paramHeadersOf(schema);
  assert.deepEqual(a.map((x) => x.name).sort(), ['Flag', 'Region', 'Tenant']);
  assert.deepEqual(paramHeaderValues(a, { region: 'eu', nested: { tenant: 42 }, flag: false }), {
    'mcp-param-region': 'eu',
    'mcp-param-tenant': '42',
    'mcp-param-flag': 'false',
  });
  assert.deepEqual(paramHeaderValues(a, { region: null }), {});
});

test('standard request headers mirror method and name', () => {
  assert.deepEqual(modernRequestHeaders({ method: 'tools/call', params: { name: 'get_weather' } }, '2026-07-28'), {
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': 'get_weather',
  });
  assert.deepEqual(modernRequestHeaders({ method: 'resources/read', params: { uri: 'file:///ä' } }, '2026-07-28')['mcp-name'], encodeHeaderValue('file:///ä'));
  assert.equal(modernRequestHeaders({ method: 'tools/list' }, '2026-07-28')['mcp-name'], undefined);
});

test('input-round tokens carry the server requestState (or its absence) exactly', () => {
  for (const original of [undefined, '', 'AEAD-protected blob', 'ünïcode.with.dots']) {
    const token = wrapRequestState('abc123', original);
    assert.deepEqual(unwrapRequestState(token), { nonce: 'abc123', original });
  }
  assert.equal(unwrapRequestState('server-state'), undefined);
});

test('input-round tokens are authenticated: an altered, made-up or foreign token is forged', () => {
  const token = wrapRequestState('abc123', 'srv:40');
  const [prefix, version, nonce, body, mac] = token.split('.') as [string, string, string, string, string];
  const tampered = `b${Buffer.from('srv:4000', 'utf8').toString('base64url')}`;
  assert.equal(unwrapRequestState([prefix, version, nonce, tampered, mac].join('.')), 'forged', 'the server state rewritten');
  assert.equal(unwrapRequestState([prefix, version, 'other', body, mac].join('.')), 'forged', 'another nonce');
  assert.equal(unwrapRequestState([prefix, version, nonce, '-', mac].join('.')), 'forged', 'the state removed');
  assert.equal(unwrapRequestState(wrapRequestState('abc123', 'srv:40', Buffer.alloc(32, 7))), 'forged', 'another key (another process)');
  assert.equal(unwrapRequestState(`toolgate.1.${nonce}.${body}`), 'forged', 'the unauthenticated version-1 form');
  assert.equal(unwrapRequestState('toolgate.2.nonce.!!!'), 'forged');
  assert.deepEqual(
    unwrapRequestState(wrapRequestState('n', 'x', Buffer.alloc(32, 7)), Buffer.alloc(32, 7)),
    { nonce: 'n', original: 'x' },
    'a configured key verifies its own tokens',
  );
});

test('stateless lane HTTP statuses for errors', () => {
  assert.equal(modernErrorStatus(-32601), 404);
  assert.equal(modernErrorStatus(-32020), 400);
  assert.equal(modernErrorStatus(-32022), 400);
  assert.equal(modernErrorStatus(-32603), 200);
});
