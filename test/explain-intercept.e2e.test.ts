// `toolgate explain` names what a policy applies beside its rules: Intercept's
// idempotency_window and spend budgets (text and --json), through the built binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bin, root, writePolicy } from './helpers.js';

const explain = (...args: string[]) => spawnSync(process.execPath, [bin, 'explain', ...args], { encoding: 'utf8' });

test('explain shows idempotency_window and the spend budgets of a policy (text and --json)', () => {
  const policy = join(root, 'examples', 'policies', 'paid-search.yaml');
  const text = explain('-c', policy, '--tool', 'search', '--args', '{"q":"mcp"}');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /idempotency: an identical call within 5m after a success gets the first answer/);
  assert.match(text.stdout, /spend: +at most 0\.5 per call, at most 20 a day \(UTC\) per identity/);
  const json = explain('-c', policy, '--tool', 'search', '--args', '{"q":"mcp"}', '--json');
  assert.equal(json.status, 0, json.stderr);
  const out = JSON.parse(json.stdout) as { idempotencyWindow?: string; spend?: { perCall?: string; daily?: string } };
  assert.equal(out.idempotencyWindow, '5m');
  assert.deepEqual(out.spend, { perCall: '0.5', daily: '20' });
});

test('explain says nothing of idempotency or spend when the policy has neither', () => {
  const { policy } = writePolicy('version: "1"\ndefault: allow\ntools: {}\n');
  const text = explain('-c', policy, '--tool', 'search', '--args', '{}');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^allowed: search/);
  assert.doesNotMatch(text.stdout, /idempotency|spend/);
  const out = JSON.parse(explain('-c', policy, '--tool', 'search', '--args', '{}', '--json').stdout) as Record<string, unknown>;
  assert.equal('idempotencyWindow' in out || 'spend' in out, false);
});
