// scripts/check-tests.mjs (run by `npm run lint`) fails CI on a wall-clock upper
// bound used as a pass condition in a test: what it flags, what it lets pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './helpers.js';

type Finding = { line: number; text: string };
const { findUpperBounds } = (await import(pathToFileURL(join(root, 'scripts', 'check-tests.mjs')).href)) as {
  findUpperBounds: (source: string) => Finding[];
};
const lines = (source: string) => findUpperBounds(source).map((f) => f.line);

test('check-tests flags an elapsed time bounded from above in an assertion, in every spelling', () => {
  const source = [
    'const t0 = Date.now();',
    'const took = Date.now() - t0;',
    "assert.ok(took < 500, 'fast');",
    'assert(1000 > performance.now() - t0);',
    'assert.ok(Date.now() - start <= 2000);',
    'const ms = Math.round(performance.now() - t0);',
    'assert.equal(ms < 10 && ok, true);',
    'const ns = process.hrtime.bigint() - t1;',
    't.assert.ok(ns <= 5n);',
  ].join('\n');
  assert.deepEqual(lines(source), [3, 4, 5, 7, 9]);
});

test('check-tests lets lower bounds, deadlines of positive waits and allowed bounds pass', () => {
  const source = [
    'const t0 = Date.now();',
    'const took = Date.now() - t0;',
    'assert.ok(took >= 400, `ended by the timeout after ${took} ms`);',
    'assert.ok(2000 <= Date.now() - t0);',
    "if (Date.now() - t0 > 30_000) assert.fail('no failover within 30 s');",
    'while (Date.now() < end) await sleep(10);',
    'assert.ok(count < 500);',
    '// check-tests: allow upper-bound (the protocol itself promises this bound)',
    'assert.ok(took < 9000);',
  ].join('\n');
  assert.deepEqual(lines(source), []);
});
