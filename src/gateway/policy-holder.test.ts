import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, PolicyCache } from '../policy/index.js';
import { PolicyHolder } from './policy-holder.js';

const valid = (limit: number) => `version: "1"\ntools:\n  echo:\n    rules:\n      - name: "limit"\n        rate_limit: ${limit}/minute\n`;

test('reload: a valid edit swaps the policy, an unchanged file reports no change, a broken edit keeps the old policy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-holder-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, valid(5));
  const first = loadPolicyFile(file);
  assert.ok(first.ok);
  const holder = new PolicyHolder(file, first.policy);

  const same = holder.reload();
  assert.ok(same.ok && !same.changed);

  writeFileSync(file, valid(7));
  const edited = holder.reload();
  assert.ok(edited.ok && edited.changed);
  assert.notEqual(holder.current.hash, first.policy.hash);
  const afterEdit = holder.current;

  writeFileSync(file, 'version: "1"\ntools:\n  echo:\n    rules:\n      - action: deny\n');
  const broken = holder.reload();
  assert.ok(!broken.ok);
  assert.match(broken.errors[0]!.message, /rule must have a name/);
  assert.equal(broken.errors[0]!.line, 5);
  assert.equal(holder.current, afterEdit, 'the previous policy stays in force');

  writeFileSync(file, '');
  assert.ok(!holder.reload().ok, 'an emptied file (mid-save) is rejected too');
  assert.equal(holder.current, afterEdit);
});

test('reload: the text in force read again is not parsed again; a policy taken from the cache is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-holder-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, valid(5));
  const first = loadPolicyFile(file);
  assert.ok(first.ok);
  const holder = new PolicyHolder(file, first.policy);
  // The same object back: nothing was compiled (a parse makes a new policy object, same hash).
  const same = holder.reload();
  assert.ok(same.ok && !same.changed);
  assert.equal(same.policy, first.policy);
  assert.equal(holder.current, first.policy);

  // A cache hit was never parsed here: its first reload parses the file (the cache is not trusted).
  const cache = new PolicyCache(join(dir, 'cache'), 'build-1');
  assert.ok(loadPolicyFile(file, { cache }).ok);
  const hit = loadPolicyFile(file, { cache });
  assert.ok(hit.ok);
  const fromCache = new PolicyHolder(file, hit.policy);
  const parsed = fromCache.reload();
  assert.ok(parsed.ok && !parsed.changed);
  assert.notEqual(parsed.policy, hit.policy, 'parsed, not taken on the word of the cache');
  const again = fromCache.reload();
  assert.ok(again.ok);
  assert.equal(again.policy, parsed.policy, 'and once parsed, not again');

  // An edit back and forth is parsed each time it differs from the text in force.
  writeFileSync(file, valid(6));
  const edited = holder.reload();
  assert.ok(edited.ok && edited.changed);
  writeFileSync(file, valid(5));
  const back = holder.reload();
  assert.ok(back.ok && back.changed);
  assert.equal(back.policy.hash, first.policy.hash);
});

test('watch: an edit saved while the watch is starting is applied once the watch is in place (it raises no event)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-holder-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, valid(5));
  const first = loadPolicyFile(file);
  assert.ok(first.ok);
  const holder = new PolicyHolder(file, first.policy);
  const reports: boolean[] = [];
  holder.watch((r) => reports.push(r.ok));
  // Written before the watcher exists (chokidar loads and scans asynchronously).
  writeFileSync(file, valid(7));
  try {
    await holder.watching;
    assert.notEqual(holder.current.hash, first.policy.hash, 'the edit is in force');
    assert.deepEqual(reports, [true]);
  } finally {
    await holder.close();
  }
});
