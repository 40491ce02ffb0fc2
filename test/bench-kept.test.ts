import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEPT_END, KEPT_START, keptBlock } from '../bench/kept.js';

test('bench: the kept block of BENCHMARKS.md is copied whole, markers included', () => {
  const block = `${KEPT_START}\n\n## Many sessions\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n${KEPT_END}`;
  const file = `# Benchmarks\n\n## Goals\n\nrows\n\n${block}\n\n## 1. stdio\n\ngenerated\n`;
  assert.equal(keptBlock(file), block);
});

test('bench: no kept block, or a start marker without its end, keeps nothing', () => {
  assert.equal(keptBlock('# Benchmarks\n\n## 1. stdio\n'), '');
  assert.equal(keptBlock(`# Benchmarks\n\n${KEPT_START}\n\n## Many sessions\n\n## 1. stdio\n`), '');
});
