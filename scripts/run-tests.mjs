#!/usr/bin/env node
// Runs the compiled test files (*.test.js) under dist/src and dist/test with
// node's test runner. Listing them explicitly matters: given a directory,
// Node 20 also runs every other .js file under a `test/` folder (fixture
// servers, helpers) as a test file, and a fixture that waits for input hangs
// the run. Extra arguments go to `node --test` (e.g. --test-concurrency=1).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
}

const roots = ['dist/src', 'dist/test'];
const files = roots.flatMap(testFiles);
if (files.length === 0) {
  console.error('run-tests: no compiled test files under dist/ (run npm run build first)');
  process.exit(1);
}
const args = process.argv.slice(2);
const r = spawnSync(process.execPath, ['--test', ...args, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
