// The published JSON Schemas accept the examples and reject what the validator rejects.
// Uses ajv (present through the MCP SDK's dependencies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import AjvModule from 'ajv';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
const ajv = new (Ajv as unknown as new (o: object) => { compile: (s: unknown) => ((v: unknown) => boolean) & { errors?: unknown } })({
  allErrors: true,
  strict: false,
});
const load = (f: string) => JSON.parse(readFileSync(`${ROOT}schemas/${f}`, 'utf8')) as unknown;
const yamlSchema = ajv.compile(load('intercept-v1.schema.json'));
const jsonSchema = ajv.compile(load('policylayer-v1.schema.json'));

function check(validate: typeof yamlSchema, value: unknown, file: string): void {
  assert.ok(validate(value), `${file}: ${JSON.stringify(validate.errors)}`);
}

test('every example policy validates against its schema', () => {
  const files = readdirSync(`${ROOT}examples/policies`).filter((f) => !f.includes('.test.'));
  files.push('../policy.yaml');
  let n = 0;
  for (const f of files) {
    const text = readFileSync(`${ROOT}examples/policies/${f}`, 'utf8');
    if (f.endsWith('.json')) check(jsonSchema, JSON.parse(text), f);
    else check(yamlSchema, parse(text, { merge: true }), f);
    n++;
  }
  assert.ok(n >= 4);
});

test('the schemas reject what the validator rejects', () => {
  const base = { version: '1', default: 'deny' };
  assert.equal(jsonSchema({ ...base, tools: { t: { limits: [{ counter: 'n', window: 'day', max: 5 }] } } }), false, 'scope is required');
  assert.equal(jsonSchema({ ...base, tools: { t: { limits: [{ counter: 'n', window: 'week', max: 5, scope: 'grant' }] } } }), false);
  assert.equal(jsonSchema({ ...base, tools: { t: { rules: [] } } }), false);
  assert.equal(jsonSchema({ ...base, tools: { '*': {} } }), false);
  assert.equal(jsonSchema({ version: '1' }), false, 'default is required');
  assert.equal(jsonSchema({ ...base, tools: { t: { require: [{ conditions: [{ path: 'args.a', op: 'lt', value: '5' }] }] } } }), false);
  assert.equal(jsonSchema({ ...base, tools: { t: { require_approval: { timeout: '5 minutes' } } } }), false);
  assert.equal(jsonSchema({ ...base, tools: { t: { require_approval: { timeout: '5m', approvers: ['a'] }, deny_if: [{ conditions: [] }] } } }), true);
  assert.equal(yamlSchema({ version: '1', tools: { t: { rules: [{ name: 'r', action: 'block' }] } } }), false);
  assert.equal(yamlSchema({ version: '1', tools: { t: { rules: [{ name: 'r', condtions: [] }] } } }), false);
  assert.equal(yamlSchema({ version: '1', tools: { t: { rules: [{ name: 'r', state: { counter: 'c', window: 'day', scope: 'team' } }] } } }), false);
  assert.equal(
    yamlSchema({ version: '1', tools: { t: { rules: [{ name: 'r', action: 'require_approval', identities: ['a'], approval: { timeout: '1h' } }] } } }),
    true,
  );
});
