// The oauth block: the JSON Schema (schemas/oauth.schema.json) and the parser know the same keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OAUTH_KEYS, parseOAuthConfig } from './config.js';

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
