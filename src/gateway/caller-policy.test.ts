import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compilePolicy, type CompiledPolicy } from '../policy/index.js';
import type { AnyEventFields } from '../events/types.js';
import { silentLogger } from '../log/index.js';
import { CallerPolicies } from './caller-policy.js';

const denyTool = (tool: string) => `version: "1"\ntools:\n  ${tool}:\n    rules:\n      - name: "no ${tool}"\n        action: deny\n`;
const BROKEN = 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: x\n        action: nope\n';

function local(): CompiledPolicy {
  const r = compilePolicy('version: "1"\ntools: {}\n', 'server.yaml');
  assert.ok(r.ok);
  return r.policy;
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-caller-policy-'));
  const events: AnyEventFields[] = [];
  let changed = 0;
  const policies = new CallerPolicies({ log: silentLogger(), emit: (e) => events.push(e), onChanged: () => changed++ });
  return { dir, events, policies, changed: () => changed };
}

test('no caller, an API key or a grant without a file: the local policy decides; a grant without a policy keeps its denial', async () => {
  const { policies } = setup();
  const server = local();
  assert.deepEqual(policies.of(undefined, () => server).policy(), server);
  const alice = policies.of({ name: 'alice' }, () => server);
  assert.equal(alice.policy(), server);
  assert.equal(alice.denial, undefined);
  const none = policies.of({ name: 'n', denial: 'Grant "n" has no policy' }, () => server);
  assert.equal(none.denial, 'Grant "n" has no policy');
  await policies.close();
});

test("a grant's file replaces the local policy, one holder per file shared by every session", async () => {
  const { dir, policies } = setup();
  const file = join(dir, 'alice.yaml');
  writeFileSync(file, denyTool('echo'));
  const a = policies.of({ name: 'alice', policyFile: file }, local);
  const b = policies.of({ name: 'bob', policyFile: file }, local);
  assert.equal(a.denial, undefined);
  assert.equal(a.policy().file, file);
  assert.equal(a.policy(), b.policy(), 'the same compiled policy: one holder');
  assert.ok(a.policy().tools.has('echo'));
  await policies.close();
});

test('a file that does not load denies with the file and its positions; the next session loads the fixed file', async () => {
  const { dir, policies } = setup();
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, BROKEN);
  const first = policies.of({ name: 'alice', policyFile: file }, local);
  assert.match(first.denial ?? '', new RegExp(`the grant's policy ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} has errors`));
  assert.match(first.denial ?? '', /broken\.yaml:6:17: tools\.echo\.rules\[0\]: action must be/);
  assert.equal(first.policy().file, 'server.yaml', 'never the broken file');
  writeFileSync(file, denyTool('echo'));
  const next = policies.of({ name: 'alice', policyFile: file }, local);
  assert.equal(next.denial, undefined);
  assert.equal(next.policy().file, file);
  await policies.close();
});

test('hot reload: a valid edit applies to open sessions and is recorded; a broken edit keeps the previous policy and is recorded as failed', async () => {
  const { dir, events, policies, changed } = setup();
  const file = join(dir, 'alice.yaml');
  writeFileSync(file, denyTool('echo'));
  const s = policies.of({ name: 'alice', policyFile: file }, local);
  const before = s.policy();
  // Written until the watcher (started in the background) sees it.
  for (const end = Date.now() + 60_000; Date.now() < end && !events.some((e) => e.status === 'success'); ) {
    writeFileSync(file, denyTool('get_weather'));
    await new Promise((r) => setTimeout(r, 100));
  }
  const ok = events.find((e) => e.status === 'success');
  assert.equal(ok?.type, 'config_reload');
  assert.equal(ok?.config, file);
  assert.ok(s.policy().tools.has('get_weather'), 'the open session decides with the edit');
  assert.notEqual(s.policy().hash, before.hash);
  assert.ok(changed() >= 1);

  const good = s.policy();
  writeFileSync(file, BROKEN);
  for (const end = Date.now() + 60_000; Date.now() < end && !events.some((e) => e.status === 'failure'); ) await new Promise((r) => setTimeout(r, 100));
  const failed = events.find((e) => e.status === 'failure');
  assert.equal(failed?.config, file);
  assert.match(String(failed?.message), /alice\.yaml:6:17: tools\.echo\.rules\[0\]: action must be/);
  assert.equal(s.policy(), good, 'the previous policy stays');
  await policies.close();
});
