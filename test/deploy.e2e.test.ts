// The container's gateway config (deploy/, used by compose.yaml) is valid as
// shipped, given its keys: the image itself is not built here (see README).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { bin, root } from './helpers.js';

test('deploy/toolgate.yaml validates with its keys set, and names them when they are not', () => {
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [bin, 'validate', join(root, 'deploy', 'toolgate.yaml')], { encoding: 'utf8', env: { ...process.env, ...env } });
  const ok = run({ TOOLGATE_API_KEYS: 'k'.repeat(48), TOOLGATE_ADMIN_KEY: 'a'.repeat(48) });
  assert.equal(ok.stdout, 'valid\n', ok.stdout + ok.stderr);
  const missing = run({ TOOLGATE_API_KEYS: '', TOOLGATE_ADMIN_KEY: '' });
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /TOOLGATE_API_KEYS/);
});
