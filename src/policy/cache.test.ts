import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, confirmCachedPolicy, decide, PolicyCache, type CompiledPolicy, type ToolCall } from './index.js';
import { loadCachedPolicyFile } from './cached.js';

const POLICY = `version: "1"
description: "cache test"
default: allow
hide: [internal_tool]
tools:
  create_charge:
    rules:
      - name: "charge cap"
        conditions:
          - { path: "args.amount", op: "lte", value: 1.5e3 }
          - { path: "args.currency", op: "in", value: ["usd", "eur"] }
          - { path: "args.memo", op: "regex", value: "^[^%]*$" }
        on_deny: "too much"
      - name: "daily"
        conditions:
          - { path: "state.create_charge.daily", op: "lte", value: 10 }
        state: { counter: "daily", window: "day", increment_from: "args.amount" }
      - name: "approval"
        action: require_approval
        conditions:
          - { path: "args.amount", op: "gt", value: 100 }
        approval: { timeout: 5m, approvers: [alice] }
  "delete_*":
    rules:
      - name: "no deletes"
        action: deny
  "*":
    rules:
      - name: "global"
        rate_limit: 100/minute
`;

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'toolgate-policy-cache-'));
}

const CALLS: ToolCall[] = [
  { tool: 'create_charge', args: { amount: 50, currency: 'usd', memo: 'ok' } },
  { tool: 'create_charge', args: { amount: 5000, currency: 'usd', memo: 'ok' } },
  { tool: 'create_charge', args: { amount: 500, currency: 'usd', memo: '100%' } },
  { tool: 'create_charge', args: { amount: 500, currency: 'gbp', memo: 'x' } },
  { tool: 'create_charge', args: { amount: 150, currency: 'eur', memo: 'x' } },
  { tool: 'delete_repo', args: {} },
  { tool: 'internal_tool', args: {} },
  { tool: 'anything', args: {} },
];

function decisions(p: CompiledPolicy): unknown[] {
  return CALLS.map((c) => decide(p, c, new Map([['create_charge.daily', 3]])));
}

function ok(r: ReturnType<typeof compilePolicy>): CompiledPolicy {
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.policy;
}

test('a cached policy compiles to the same policy and decides the same as a fresh parse', () => {
  const cache = new PolicyCache(dir(), 'build-1');
  const fresh = ok(compilePolicy(POLICY, 'p.yaml'));
  const first = ok(compilePolicy(POLICY, 'p.yaml', 'intercept-yaml', cache));
  assert.ok(cache.get(POLICY), 'the parsed form was cached');
  const hit = ok(compilePolicy(POLICY, 'p.yaml', 'intercept-yaml', cache));
  assert.equal(first.hash, fresh.hash);
  assert.equal(hit.hash, fresh.hash);
  assert.deepEqual(decisions(hit), decisions(fresh));
  // The decisions are not all alike: the comparison means something.
  assert.equal(new Set(decisions(fresh).map((d) => JSON.stringify(d))).size > 4, true);
});

test('another build, another text, a foreign or writable entry: no hit', () => {
  const d = dir();
  const cache = new PolicyCache(d, 'build-1');
  ok(compilePolicy(POLICY, 'p.yaml', 'intercept-yaml', cache));
  assert.ok(cache.get(POLICY));
  assert.equal(new PolicyCache(d, 'build-2').get(POLICY), undefined);
  assert.equal(new PolicyCache(d, null).get(POLICY), undefined);
  assert.equal(cache.get(`${POLICY}\n`), undefined);
  const [file] = readdirSync(d).filter((n) => n.endsWith('.json'));
  chmodSync(join(d, file!), 0o666);
  assert.equal(cache.get(POLICY), undefined, 'an entry others may write is ignored');
  chmodSync(join(d, file!), 0o600);
  // An entry whose content names another key (copied over) is ignored.
  const entry = JSON.parse(readFileSync(join(d, file!), 'utf8')) as { key: string };
  writeFileSync(join(d, file!), JSON.stringify({ ...entry, key: 'x' }), { mode: 0o600 });
  assert.equal(cache.get(POLICY), undefined);
  // A garbled entry falls back to parsing.
  writeFileSync(join(d, file!), '{not json', { mode: 0o600 });
  assert.equal(cache.get(POLICY), undefined);
  assert.equal(ok(compilePolicy(POLICY, 'p.yaml', 'intercept-yaml', cache)).hash, ok(compilePolicy(POLICY, 'p.yaml')).hash);
});

test('policies with errors, and values JSON cannot carry exactly, are never cached', () => {
  const d = dir();
  const cache = new PolicyCache(d, 'build-1');
  const broken = 'version: "1"\ntools:\n  t:\n    rules:\n      - name: x\n        conditions:\n          - { path: "args.a", op: "nope", value: 1 }\n';
  const r = compilePolicy(broken, 'p.yaml', 'intercept-yaml', cache);
  assert.equal(r.ok, false);
  assert.equal(cache.get(broken), undefined);
  const infinite = 'version: "1"\ntools:\n  t:\n    rules:\n      - name: x\n        conditions:\n          - { path: "args.a", op: "lt", value: .inf }\n';
  ok(compilePolicy(infinite, 'p.yaml', 'intercept-yaml', cache));
  assert.equal(cache.get(infinite), undefined, 'Infinity does not survive JSON');
  assert.deepEqual(
    readdirSync(d).filter((n) => n.endsWith('.json')),
    [],
  );
});

test('the cache keeps at most 32 entries', () => {
  const d = dir();
  const cache = new PolicyCache(d, 'build-1');
  for (let i = 0; i < 40; i++) ok(compilePolicy(`${POLICY}# ${i}\n`, 'p.yaml', 'intercept-yaml', cache));
  assert.equal(readdirSync(d).filter((n) => n.endsWith('.json')).length, 32);
});

test('start-up reads a cached policy without the parser, and leaves everything else to it', () => {
  const d = dir();
  const cache = new PolicyCache(join(d, 'cache'), 'build-1');
  const file = join(d, 'p.yaml');
  writeFileSync(file, POLICY);
  assert.equal(loadCachedPolicyFile(file, cache), undefined, 'nothing cached yet: parse');
  const fresh = ok(compilePolicy(POLICY, file, 'intercept-yaml', cache));
  const cached = loadCachedPolicyFile(file, cache);
  assert.ok(cached);
  assert.equal(cached.text, POLICY);
  const hit = cached.policy;
  assert.equal(hit.hash, fresh.hash);
  assert.deepEqual(decisions(hit), decisions(fresh));
  // A lone surrogate is beyond the native regex: re2js, compiled on demand, answers.
  const memo = { tool: 'create_charge', args: { amount: 50, currency: 'usd', memo: 'a\ud800' } };
  assert.deepEqual(decide(hit, memo, new Map()), decide(fresh, memo, new Map()));
  // The same text in a .json file is PolicyLayer JSON, never read from the YAML cache.
  const asJson = join(d, 'p.json');
  writeFileSync(asJson, POLICY);
  assert.equal(loadCachedPolicyFile(asJson, cache), undefined);
  assert.equal(loadCachedPolicyFile(join(d, 'missing.yaml'), cache), undefined);
});

test('a poisoned entry (the right key, another policy) never outranks the file: confirming replaces it', () => {
  const d = dir();
  const cache = new PolicyCache(d, 'build-1');
  const file = join(d, 'p.yaml');
  writeFileSync(file, POLICY);
  const fresh = ok(compilePolicy(POLICY, file, 'intercept-yaml', cache));
  const [entryFile] = readdirSync(d).filter((n) => n.endsWith('.json'));
  const entry = JSON.parse(readFileSync(join(d, entryFile!), 'utf8')) as { key: string; config: { default: string; hide: unknown[]; tools: unknown[] } };
  // What someone with write access to the state directory can do: keep the key, allow everything.
  writeFileSync(join(d, entryFile!), JSON.stringify({ key: entry.key, config: { ...entry.config, hide: [], tools: [] } }), { mode: 0o600 });
  const poisoned = loadCachedPolicyFile(file, cache);
  assert.ok(poisoned, 'the entry is read (its key is right)');
  assert.notEqual(poisoned.policy.hash, fresh.hash);
  const confirmed = confirmCachedPolicy(poisoned.text, file, poisoned.policy, cache);
  assert.ok(confirmed.ok);
  assert.equal(confirmed.replaced, true);
  assert.equal(confirmed.policy.hash, fresh.hash);
  assert.equal(decide(confirmed.policy, { tool: 'delete_repo', args: {} }, new Map()).allowed, false);
  // The entry was rewritten from the file: the next start-up reads the true policy.
  assert.equal(loadCachedPolicyFile(file, cache)?.policy.hash, fresh.hash);
  const again = confirmCachedPolicy(POLICY, file, fresh, cache);
  assert.ok(again.ok && !again.replaced, 'a genuine entry is confirmed as it is');
});

test('a poisoned entry for a text that does not parse is an error, not a policy', () => {
  const d = dir();
  const cache = new PolicyCache(d, 'build-1');
  const good = ok(compilePolicy(POLICY, 'p.yaml', 'intercept-yaml', cache));
  const broken = 'version: "1"\ntools: [\n';
  const confirmed = confirmCachedPolicy(broken, 'p.yaml', good, cache);
  assert.equal(confirmed.ok, false);
});
