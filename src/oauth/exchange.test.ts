// TokenExchanger against a scripted token endpoint on 127.0.0.1: the request
// it sends (RFC 8693 parameters, client authentication), what each refusal
// becomes (401/403/502 and a reason), caching per caller and subject, renewal
// before expiry on a controllable clock, and no token in any message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, TokenExchanger } from './exchange.js';
import { parseTokenExchangeConfig, TOKEN_EXCHANGE_KEYS } from './exchange-config.js';

type Answer = { status: number; body: unknown };

async function tokenEndpoint(answer: (form: URLSearchParams, req: IncomingMessage) => Answer) {
  const forms: URLSearchParams[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString());
    forms.push(form);
    const a = answer(form, req);
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, forms, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const SUBJECT = 'subject.token.of-the-caller';

function exchanger(url: string, clock: () => number, extra: Record<string, unknown> = {}) {
  const r = parseTokenExchangeConfig(
    { client_id: 'gw', client_secret_env: 'S', token_endpoint: `${url}/token`, scopes: ['files:read'], audience: 'files', ...extra },
    'token_exchange',
    '/',
    { S: 'gw-secret' },
  );
  assert.ok(r.ok);
  return new TokenExchanger({ server: 'files', config: r.config, defaultIssuer: url, defaultResource: 'https://files.example/mcp', clock });
}

test('sends an RFC 8693 request with client authentication, caches per caller and subject, renews before expiry', async () => {
  let n = 0;
  const as = await tokenEndpoint(() => ({
    status: 200,
    body: { access_token: `exchanged-${++n}`, token_type: 'Bearer', issued_token_type: ACCESS_TOKEN_TYPE, expires_in: 120 },
  }));
  let now = 1_000_000;
  const x = exchanger(as.url, () => now);
  try {
    assert.deepEqual(await x.ensure('alice', SUBJECT), { ok: true });
    const f = as.forms[0]!;
    assert.equal(f.get('grant_type'), TOKEN_EXCHANGE_GRANT);
    assert.equal(f.get('subject_token'), SUBJECT);
    assert.equal(f.get('subject_token_type'), ACCESS_TOKEN_TYPE);
    assert.equal(f.get('resource'), 'https://files.example/mcp');
    assert.equal(f.get('audience'), 'files');
    assert.equal(f.get('scope'), 'files:read');
    assert.equal(f.get('client_secret'), null, 'the secret goes in the Basic header, not the body');
    assert.equal(x.current('alice'), 'exchanged-1');
    assert.equal(x.current('bob'), undefined, 'another caller has no token');
    // Concurrent requests of one caller: one exchange.
    await Promise.all([x.ensure('bob', 'bob-token'), x.ensure('bob', 'bob-token'), x.ensure('bob', 'bob-token')]);
    assert.equal(as.forms.length, 2);
    assert.equal(x.current('bob'), 'exchanged-2');
    // Cached while fresh; a new subject token of the same caller is exchanged again.
    now += 60_000;
    await x.ensure('alice', SUBJECT);
    assert.equal(as.forms.length, 2);
    await x.ensure('alice', 'alice-new-token');
    assert.equal(x.current('alice'), 'exchanged-3');
    // 30 s before expiry the next request renews; past expiry nothing is sent.
    now += 91_000;
    await x.ensure('alice', 'alice-new-token');
    assert.equal(x.current('alice'), 'exchanged-4');
    assert.equal(x.current('bob'), undefined, "bob's token expired: nothing is sent for him");
  } finally {
    await as.close();
  }
});

test('each refusal is its own status and reason; messages carry the server error, never a token', async () => {
  const cases: Array<[Answer, number, string]> = [
    [{ status: 400, body: { error: 'invalid_grant', error_description: `bad ${SUBJECT}` } }, 401, 'exchange_subject_rejected'],
    [{ status: 400, body: { error: 'access_denied' } }, 403, 'exchange_refused'],
    [{ status: 400, body: { error: 'invalid_target' } }, 403, 'exchange_refused'],
    [{ status: 401, body: { error: 'invalid_client' } }, 502, 'exchange_misconfigured'],
    [{ status: 500, body: 'oops' }, 502, 'exchange_unavailable'],
    [{ status: 200, body: { access_token: 'x', token_type: 'N_A', issued_token_type: ACCESS_TOKEN_TYPE } }, 502, 'exchange_unavailable'],
    [
      { status: 200, body: { access_token: 'x', token_type: 'Bearer', issued_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' } },
      502,
      'exchange_misconfigured',
    ],
    [{ status: 200, body: { access_token: SUBJECT, token_type: 'Bearer' } }, 502, 'exchange_misconfigured'],
  ];
  let i = 0;
  const as = await tokenEndpoint(() => cases[i]![0]);
  try {
    for (; i < cases.length; i++) {
      const r = await exchanger(as.url, Date.now).ensure('alice', SUBJECT);
      assert.equal(r.ok, false, JSON.stringify(cases[i]));
      if (r.ok) continue;
      assert.equal(r.status, cases[i]![1], JSON.stringify(cases[i]));
      assert.equal(r.reason, cases[i]![2], JSON.stringify(cases[i]));
      assert.ok(!r.message.includes(SUBJECT), r.message);
    }
  } finally {
    await as.close();
  }
});

test('an unreachable or undiscoverable authorization server fails closed (502), and is tried again at the next request', async () => {
  const as = await tokenEndpoint(() => ({ status: 404, body: {} }));
  const x = new TokenExchanger({
    server: 'files',
    config: { clientId: 'gw', clientSecret: 's', clientAuth: 'client_secret_post', scopes: [] },
    defaultIssuer: as.url,
    defaultResource: 'https://files.example/mcp',
  });
  try {
    const r = await x.ensure('alice', SUBJECT);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, 502);
    assert.equal(!r.ok && r.reason, 'exchange_unavailable');
    assert.match(!r.ok ? r.message : '', /could not be discovered/);
    const before = as.forms.length;
    await x.ensure('alice', SUBJECT);
    assert.ok(as.forms.length > before, 'discovery is tried again');
  } finally {
    await as.close();
  }
});

test('the token_exchange block: unknown keys, a missing secret, plain http off loopback are refused with the key named', () => {
  const bad = (raw: unknown, env: NodeJS.ProcessEnv = {}) => {
    const r = parseTokenExchangeConfig(raw, 'servers.x.token_exchange', '/', env);
    assert.equal(r.ok, false, JSON.stringify(raw));
    return r.ok ? '' : r.errors.join('\n');
  };
  assert.match(bad({ client_id: 'gw', client_secret_env: 'S', scope: 'a' }), /servers\.x\.token_exchange: Unrecognized key/);
  assert.match(bad({ client_id: 'gw', client_secret_env: 'S' }), /client_secret_env: the environment variable S is not set/);
  assert.match(bad({ client_id: 'gw' }), /exactly one of client_secret_env or client_secret_file/);
  assert.match(bad({ client_id: 'gw', client_secret_env: 'S', token_endpoint: 'http://as.example/token' }, { S: 'x' }), /token_endpoint: must use https/);
  assert.match(bad({ client_id: 'gw', client_secret_env: 'S', scopes: ['a b'] }, { S: 'x' }), /scopes\.0/);
});

test('schemas/token-exchange.schema.json lists exactly the keys the parser reads, and they agree on examples', () => {
  const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/token-exchange.schema.json', import.meta.url)), 'utf8')) as {
    properties: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(schema.properties).sort(), [...TOKEN_EXCHANGE_KEYS].sort());
  const validate = new Ajv2020({ strict: false }).compile(schema);
  const env = { S: 'x' };
  const good = { client_id: 'gw', client_secret_env: 'S', scopes: ['files:read'], audience: 'files', client_auth: 'client_secret_post' };
  assert.equal(validate(good), true, JSON.stringify(validate.errors));
  assert.equal(parseTokenExchangeConfig(good, 'x', '/', env).ok, true);
  for (const bad of [
    {},
    { client_id: 'gw' },
    { client_id: 'gw', client_secret_env: 'S', client_secret_file: 'f' },
    { client_id: 'gw', client_secret_env: 'S', typo: 1 },
    { client_id: 'gw', client_secret_env: 'S', client_auth: 'private_key_jwt' },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
    assert.equal(parseTokenExchangeConfig(bad, 'x', '/', env).ok, false, JSON.stringify(bad));
  }
});
