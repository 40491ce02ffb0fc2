import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { compilePolicy, convertConfig, parsePolicy } from './index.js';

const YAML = `version: "1"
default: allow
tools: {}
guards:
  detect:
    action: redact
    detectors: [credentials, pii]
    tools:
      "fs_*": { action: block, scan: [results] }
  taint:
    sources: [read_secret]
    scope: identity
    same_server: allow
`;

test('guards: the same meaning in YAML and JSON, through convert both ways', () => {
  const y = parsePolicy(YAML, 'intercept-yaml');
  assert.deepEqual(y.issues, []);
  const json = convertConfig(y.config!, 'json');
  assert.ok(json.ok, json.errors.join('\n'));
  const j = parsePolicy(json.text!, 'policylayer-json');
  assert.deepEqual(j.issues, []);
  assert.deepEqual(j.config!.guards, y.config!.guards);
  const back = convertConfig(j.config!, 'yaml');
  assert.deepEqual(parsePolicy(back.text!, 'intercept-yaml').config!.guards, y.config!.guards);
  const p = compilePolicy(YAML, 'p.yaml');
  assert.ok(p.ok);
  assert.deepEqual(p.policy.guards!.detectFor('fs_read'), {
    action: 'block',
    detectors: ['credentials', 'card_number', 'iban', 'email', 'phone', 'national_id'],
    scan: ['results'],
  });
  assert.equal(p.policy.guards!.detectFor('other')!.action, 'redact');
  assert.equal(p.policy.guards!.taint!.isSource('read_secret'), true);
  // Guards are part of the policy's meaning: its hash changes with them.
  const without = compilePolicy('version: "1"\ndefault: allow\ntools: {}\n', 'p.yaml');
  assert.ok(without.ok && without.policy.hash !== p.policy.hash);
});

test('guards: hostile and mistyped input is an error at its position, never ignored', () => {
  const cases: Array<[string, RegExp]> = [
    ['guards:\n  detect:\n    acton: block\n', /unknown key "acton" in guards\.detect \(did you mean "action"\?\)/],
    ['guards:\n  detect:\n    action: Block\n', /guards\.detect\.action must be one of/],
    ['guards:\n  detect:\n    detectors: credentials\n', /guards\.detect\.detectors must be an array/],
    ['guards:\n  taint:\n    min_length: 2\n', /min_length must be a whole number from 4 to 4096/],
    ['guards:\n  taint:\n    detected: "false"\n', /guards\.taint\.detected must be true or false/],
    ['guards:\n  taint: { detected: false }\n', /never taints anything/],
    ['guards: [detect]\n', /guards must be an object/],
  ];
  for (const [g, re] of cases) {
    const r = compilePolicy(`version: "1"\ndefault: allow\ntools: {}\n${g}`, 'p.yaml');
    assert.equal(r.ok, false, g);
    if (!r.ok) assert.match(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n'), re);
  }
});

test('guards: the published JSON Schemas accept the block and reject a bad detector', () => {
  const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
  const ajv = new (Ajv as unknown as new (o: object) => { compile: (s: unknown) => (v: unknown) => boolean })({ strict: false });
  const root = fileURLToPath(new URL('../../../schemas/', import.meta.url));
  const yamlSchema = ajv.compile(JSON.parse(readFileSync(`${root}intercept-v1.schema.json`, 'utf8')));
  const jsonSchema = ajv.compile(JSON.parse(readFileSync(`${root}policylayer-v1.schema.json`, 'utf8')));
  assert.equal(yamlSchema(parse(YAML)), true);
  assert.equal(jsonSchema({ version: '1', default: 'allow', tools: {}, guards: { detect: { detectors: ['creditcard'] } } }), false);
});

test('guards: taint action hold and its approval_timeout, through convert both ways and the schemas', () => {
  const text = 'version: "1"\ndefault: allow\ntools: {}\nguards:\n  taint:\n    sources: [read_secret]\n    action: hold\n    approval_timeout: 1h30m\n';
  const y = parsePolicy(text, 'intercept-yaml');
  assert.deepEqual(y.issues, []);
  const json = convertConfig(y.config!, 'json');
  assert.ok(json.ok, json.errors.join('\n'));
  assert.equal(JSON.parse(json.text!).guards.taint.approval_timeout, '1h30m');
  const j = parsePolicy(json.text!, 'policylayer-json');
  assert.deepEqual(j.config!.guards, y.config!.guards);
  const p = compilePolicy(text, 'p.yaml');
  assert.ok(p.ok);
  assert.equal(p.policy.guards!.taint!.action, 'hold');
  assert.equal(p.policy.guards!.taint!.approvalTimeoutMs, 90 * 60_000);
  // Without approval_timeout: the approval queue's default.
  const d = compilePolicy(text.replace('    approval_timeout: 1h30m\n', ''), 'p.yaml');
  assert.ok(d.ok && d.policy.guards!.taint!.approvalTimeoutMs === 5 * 60_000);
  const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
  const ajv = new (Ajv as unknown as new (o: object) => { compile: (s: unknown) => (v: unknown) => boolean })({ strict: false });
  const root = fileURLToPath(new URL('../../../schemas/', import.meta.url));
  const jsonSchema = ajv.compile(JSON.parse(readFileSync(`${root}policylayer-v1.schema.json`, 'utf8')));
  const yamlSchema = ajv.compile(JSON.parse(readFileSync(`${root}intercept-v1.schema.json`, 'utf8')));
  assert.equal(yamlSchema(parse(text)), true);
  assert.equal(jsonSchema(JSON.parse(json.text!)), true);
  assert.equal(jsonSchema({ version: '1', default: 'allow', tools: {}, guards: { taint: { action: 'hold', approval_timeout: 'soon' } } }), false);
});
