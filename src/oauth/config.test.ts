// The oauth block: the JSON Schema (schemas/oauth.schema.json) and the parser know the same keys;
// a file of its own names each mistake's line:col and its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadOAuthConfigFile, OAUTH_KEYS, parseOAuthConfig } from './config.js';
import { loadTokenExchangeFile } from './exchange-config.js';

const schema = JSON.parse(readFileSync(fileURLToPath(new URL('../../../schemas/oauth.schema.json', import.meta.url)), 'utf8')) as {
  properties: Record<string, unknown>;
};

test('schemas/oauth.schema.json lists exactly the keys the parser reads, and they agree on examples', () => {
  assert.deepEqual(Object.keys(schema.properties).sort(), [...OAUTH_KEYS].sort());
  const validate = new Ajv2020({ strict: false }).compile(schema);
  const good = {
    issuer: 'https://auth.example.com',
    scope_tools: { 'tools:read': ['get_*'] },
    clock_skew: '45s',
    introspection: { client_id: 'gw', client_secret_env: 'S' },
  };
  assert.equal(validate(good), true, JSON.stringify(validate.errors));
  assert.equal(parseOAuthConfig(good, 'oauth', '/', { S: 'x' }).ok, true);
  for (const bad of [
    {},
    { issuer: 'https://a.example', typo: 1 },
    { issuer: 'https://a.example', clock_skew: 'soon' },
    { issuer: 'https://a.example', introspection: { client_id: 'gw' } },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
    assert.equal(parseOAuthConfig(bad, 'oauth', '/', {}).ok, false, JSON.stringify(bad));
  }
});

test('an --oauth or --upstream-token-exchange file with mistakes: each names file:line:col, the key and a fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-oauth-file-'));
  try {
    const errorOf = (load: (file: string) => unknown, text: string): string => {
      const file = join(dir, 'settings.yaml');
      writeFileSync(file, text);
      assert.throws(() => load(file), /has errors/);
      try {
        load(file);
      } catch (e) {
        return (e as Error).message.replaceAll(file, 'F');
      }
      return '';
    };
    const oauth = (text: string) => errorOf((f) => loadOAuthConfigFile(f, {}), text);
    assert.match(oauth('issuer: https://auth.example.com\nclock_skw: 30s\n'), /F:2:1: Unrecognized key: "clock_skw" \(fix: did you mean clock_skew\?\)/);
    assert.match(
      oauth('issuer: https://auth.example.com\nclock_skew: soon\n'),
      /F:2:13: clock_skew: "soon" is not a duration \(e\.g\. 30s\) \(fix: write a duration/,
    );
    assert.match(
      oauth('issuer: http://auth.example.com\n'),
      /F:1:9: issuer: must use https \(plain http only on loopback\): http:\/\/auth\.example\.com \(fix: write https:\/\/auth\.example\.com\)/,
    );
    assert.match(
      oauth('issuer: https://auth.example.com\nintrospection:\n  client_id: gw\n  client_secret_env: NOPE\n'),
      /F:4:22: introspection\.client_secret_env: the environment variable NOPE is not set \(fix: set NOPE/,
    );
    assert.match(
      oauth('issuer: https://a.example\nscope_tools:\n  read:\n    - get_*\n    - 7\n'),
      /F:5:7: scope_tools\.read\.1: .*expected string.* \(fix: write scope_tools\.read\.1 as a string\)/,
    );
    assert.match(oauth('issuer: https://a.example\nissuer: https://b.example\n'), /F:2:1: YAML syntax error: Map keys must be unique/);
    assert.match(oauth('jwks_uri: https://a.example/jwks\n'), /F:1:1: issuer: .* \(fix: add issuer\)/);
    writeFileSync(join(dir, 'empty-secret'), '\n');
    assert.match(
      oauth('issuer: https://a.example\nintrospection:\n  client_id: gw\n  client_secret_file: empty-secret\n'),
      /F:4:23: introspection\.client_secret_file: empty-secret is empty/,
      'an empty secret file is refused, not taken as no introspection',
    );
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [n, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
    ])
      laughs.push(`${n}: &${n} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    const file = join(dir, 'laughs.yaml');
    writeFileSync(file, `issuer: https://a.example\n${laughs.join('\n')}\n`);
    assert.throws(
      () => loadOAuthConfigFile(file, {}),
      (e: Error) => e.message.startsWith(`--oauth ${file}: `) && /alias/i.test(e.message),
      'an alias bomb is an error, not a hang',
    );
    const exchange = (text: string) => errorOf((f) => loadTokenExchangeFile(f, { S: 'x' }), text);
    assert.match(
      exchange('client_id: gw\nclient_secret_env: S\nclient_auth: private_key_jwt\n'),
      /F:3:14: client_auth: .* \(fix: use one of client_secret_basic, client_secret_post\)/,
    );
    assert.match(exchange('client_id: gw\n'), /F:1:1: .*exactly one of client_secret_env or client_secret_file \(fix: keep client_secret_env/);
    assert.match(
      exchange('client_id: gw\nclient_secret_env: S\ntoken_endpoint: ftp://as.example/token\n'),
      /F:3:17: token_endpoint: must be an http\(s\) URL \(fix: write a full URL/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
