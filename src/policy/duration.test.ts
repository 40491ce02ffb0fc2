import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration, parseTimeoutFlag } from './duration.js';

test('Go durations as time.ParseDuration reads them, in milliseconds', () => {
  assert.equal(parseGoDuration('30s'), 30_000);
  assert.equal(parseGoDuration('2m'), 120_000);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('300ms'), 300);
  assert.equal(parseGoDuration('-1m'), -60_000);
  assert.equal(parseGoDuration('0'), 0);
  for (const bad of ['', '30', '1 h', '5 minutes', 'h', '1d', '1.2.3s']) assert.equal(parseGoDuration(bad), undefined, bad);
});

test('a timeout flag: whole milliseconds or a positive Go duration', () => {
  assert.equal(parseTimeoutFlag('60000'), 60_000);
  assert.equal(parseTimeoutFlag('30s'), 30_000);
  assert.equal(parseTimeoutFlag('1500us'), 2, 'rounded up to whole milliseconds');
  for (const bad of ['0', '-1s', '0s', 'soon', '1.5']) assert.equal(parseTimeoutFlag(bad), undefined, bad);
});
