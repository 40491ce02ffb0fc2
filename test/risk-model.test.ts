// The shipped risk model (models/risk-model.json) is what scripts/train-risk-model.mjs makes from
// the committed labels of the sets it names: nobody tuned its weights by hand, and a change to the
// labels or to the features it reads (src/risk/model.ts) shows here until the model is trained again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './helpers.js';

const check = (file?: string) =>
  spawnSync(process.execPath, [join(root, 'scripts/train-risk-model.mjs'), '--check', ...(file ? [file] : [])], { cwd: root, encoding: 'utf8' });

test('the committed risk model is what its labelled sets train', () => {
  const r = check();
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /is what the labels give/);
});

test('a model whose weights were edited by hand fails the check', () => {
  const model = JSON.parse(readFileSync(join(root, 'models/risk-model.json'), 'utf8'));
  const [feature] = Object.keys(model.weights).filter((f) => f.startsWith('n:'));
  model.weights[feature!][2] += 0.5;
  const file = join(mkdtempSync(join(tmpdir(), 'toolgate-model-')), 'risk-model.json');
  writeFileSync(file, JSON.stringify(model));
  const r = check(file);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /differs from what the labels give/);
});
