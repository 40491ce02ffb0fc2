// The `hooks` block: the same keys in Intercept YAML and PolicyLayer JSON,
// errors with line:col and a fix, convert keeps it, the hash sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { compilePolicy, convertConfig, formatPolicyError, parsePolicy } from './index.js';

const YAML = `version: "1"
default: allow
tools: {}
hooks:
  - name: vet
    type: validation
    url: https://hooks.example.com/vet
    secret_env: HOOK_SECRET
    tools: ["fs_*"]
    timeout: 750ms
  - name: scrub
    type: mutation
    phases: both
    servers: [github]
    fail_open: true
    mode: audit
    max_concurrency: 2
    breaker: { failures: 3, reset: 1m }
    interceptor: { name: pii/redact, command: [node, interceptor.js] }
`;

function errors(text: string, file = 'p.yaml'): string[] {
  const r = compilePolicy(text, file);
  return r.ok ? [] : r.errors.map(formatPolicyError);
}

test('hooks: compiled with defaults, selected by tool glob, phase and server', () => {
  const r = compilePolicy(YAML, 'p.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatPolicyError).join('\n'));
  const h = r.policy.hooks!;
  assert.deepEqual(
    h.on('request', 'fs_read').map((x) => x.name),
    ['vet'],
  );
  assert.deepEqual(h.on('request', 'other'), []);
  assert.deepEqual(
    h.on('response', 'anything', 'github').map((x) => x.name),
    ['scrub'],
  );
  assert.deepEqual(h.on('response', 'anything', 'gitlab'), [], 'servers: only those servers');
  assert.deepEqual(h.on('response', 'anything'), [], 'servers: not the single-server gateway');
  const [vet, scrub] = h.list;
  assert.equal(vet!.timeoutMs, 750);
  assert.equal(vet!.failOpen, false, 'fail-closed by default');
  assert.equal(vet!.maxConcurrency, 8);
  assert.deepEqual(vet!.breaker, { failures: 5, resetMs: 30_000 });
  assert.deepEqual(vet!.target, { kind: 'webhook', url: 'https://hooks.example.com/vet', secretEnv: 'HOOK_SECRET' });
  assert.equal(scrub!.failOpen, true);
  assert.equal(scrub!.mode, 'audit');
  assert.deepEqual(scrub!.breaker, { failures: 3, resetMs: 60_000 });
  assert.deepEqual(scrub!.target, { kind: 'interceptor', name: 'pii/redact', command: ['node', 'interceptor.js'] });
});

test('hooks: convert YAML -> JSON -> YAML keeps them; the JSON form compiles to the same hash; the hash sees a change', () => {
  const { config } = parsePolicy(YAML, 'intercept-yaml');
  const json = convertConfig(config!, 'json');
  assert.ok(json.ok, json.errors.join('\n'));
  const fromJson = compilePolicy(json.text!, 'p.json');
  assert.ok(fromJson.ok, fromJson.ok ? '' : fromJson.errors.map(formatPolicyError).join('\n'));
  assert.deepEqual(fromJson.policy.hooks!.raw, (compilePolicy(YAML, 'p.yaml') as { policy: { hooks: { raw: unknown } } }).policy.hooks.raw);
  const back = convertConfig(parsePolicy(json.text!, 'policylayer-json').config!, 'yaml');
  assert.ok(back.ok);
  const again = compilePolicy(back.text!, 'q.yaml');
  assert.ok(again.ok);
  const a = compilePolicy(YAML, 'p.yaml');
  const b = compilePolicy(YAML.replace('750ms', '800ms'), 'p.yaml');
  assert.ok(a.ok && b.ok && again.ok);
  assert.equal(again.policy.hash, a.policy.hash);
  assert.notEqual(a.policy.hash, b.policy.hash);
  const none = compilePolicy('version: "1"\ndefault: allow\ntools: {}\n', 'p.yaml');
  assert.ok(none.ok && none.policy.hooks === undefined);
});

test('hooks: bad input is a clear error at its line:col (both formats)', () => {
  const base = 'version: "1"\ndefault: allow\ntools: {}\nhooks:\n';
  const cases: Array<[string, RegExp]> = [
    ['  - { name: a, type: validation }\n', /needs exactly one of url .* and interceptor/],
    ['  - { name: a, type: validation, url: "https://x", interceptor: { name: i, url: "http://y" } }\n', /needs exactly one of url/],
    ['  - { name: a, url: "https://x" }\n', /hooks\[0\]\.type is required/],
    ['  - { name: a, type: check, url: "https://x" }\n', /type must be one of validation, mutation/],
    ['  - { name: a, type: validation, url: "https://user:pw@x" }\n', /without credentials/],
    ['  - { name: a, type: validation, url: "ftp://x" }\n', /http:\/\/ or https:\/\//],
    ['  - { name: a, type: validation, url: "https://x", timout: 1s }\n', /unknown key "timout".*did you mean "timeout"/],
    ['  - { name: a, type: validation, url: "https://x", timeout: 5 minutes }\n', /timeout must be a duration/],
    ['  - { name: a, type: validation, url: "https://x", timeout: 2m }\n', /at most 60s/],
    ['  - { name: a, type: validation, url: "https://x", fail_open: "yes" }\n', /fail_open must be true or false/],
    ['  - { name: a, type: validation, url: "https://x", secret_env: "s3cr3t value!" }\n', /must name an environment variable/],
    ['  - { name: a, type: validation, interceptor: { name: i, url: "http://y", command: [x] } }\n', /exactly one of url \(Streamable HTTP\) and command/],
    ['  - { name: a, type: validation, interceptor: { url: "http://y" } }\n', /interceptor\.name is required/],
    ['  - { name: a, type: validation, url: "https://x" }\n  - { name: a, type: validation, url: "https://y" }\n', /the name "a" is used twice/],
    ['  - { name: a, type: validation, interceptor: { name: i, url: "http://y" }, secret_env: S }\n', /secret_env signs webhook requests/],
    ['  - { name: a, type: validation, url: "https://x", max_concurrency: 0 }\n', /max_concurrency must be a whole number from 1 to 1000/],
  ];
  for (const [text, want] of cases) {
    const errs = errors(base + text);
    assert.ok(
      errs.some((e) => want.test(e)),
      `${text}: ${errs.join(' | ')}`,
    );
    assert.match(errs[0]!, /^p\.yaml:\d+:\d+: /);
  }
  const json = errors('{"version":"1","default":"allow","tools":{},"hooks":[{"name":"a","type":"validation"}]}', 'p.json');
  assert.ok(
    json.some((e) => /^p\.json:1:\d+: hooks\[0\] needs exactly one of url/.test(e)),
    json.join(' | '),
  );
  assert.ok(errors('{"version":"1","default":"allow","tools":{},"hooks":{"name":"a"}}', 'p.json').some((e) => /hooks must be an array/.test(e)));
});

test('hooks: the published JSON Schemas accept the block in both formats and reject what the validator rejects', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
  const ajv = new (Ajv as unknown as new (o: object) => { compile: (s: unknown) => (v: unknown) => boolean })({ allErrors: true, strict: false });
  const schema = (f: string) => ajv.compile(JSON.parse(readFileSync(`${root}schemas/${f}`, 'utf8')));
  const yamlSchema = schema('intercept-v1.schema.json');
  const jsonSchema = schema('policylayer-v1.schema.json');
  const yamlDoc = parse(YAML) as Record<string, unknown>;
  assert.equal(yamlSchema(yamlDoc), true);
  const { config } = parsePolicy(YAML, 'intercept-yaml');
  const json = convertConfig(config!, 'json');
  assert.equal(jsonSchema(JSON.parse(json.text!)), true);
  const bad = (hook: Record<string, unknown>) => ({ ...yamlDoc, hooks: [hook] });
  assert.equal(yamlSchema(bad({ name: 'a', type: 'validation' })), false, 'neither url nor interceptor');
  assert.equal(yamlSchema(bad({ name: 'a', type: 'validation', url: 'https://x', interceptor: { name: 'i', url: 'http://y' } })), false, 'both');
  assert.equal(
    jsonSchema({ version: '1', default: 'allow', hooks: [{ name: 'a', type: 'validation', url: 'https://x', timout: '1s' }] }),
    false,
    'unknown key',
  );
  assert.equal(jsonSchema({ version: '1', default: 'allow', hooks: [{ name: 'a', type: 'check', url: 'https://x' }] }), false);
});
