import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition, sampleValue } from './exposition.js';

test('parseExposition reads samples, labels, special values, HELP and TYPE', () => {
  const m = parseExposition(
    [
      '# HELP a_total Some help.',
      '# TYPE a_total counter',
      'a_total{x="1",y="q\\"uote"} 3',
      'a_total{x="2"} 4 1700000000000',
      'b NaN',
      'c_bucket{le="+Inf"} 7',
      'd -Inf',
      'e 1e-3',
      '',
    ].join('\n'),
  );
  assert.equal(m.types.get('a_total'), 'counter');
  assert.equal(m.help.get('a_total'), 'Some help.');
  assert.equal(sampleValue(m, 'a_total', { x: '1', y: 'q"uote' }), 3);
  assert.equal(sampleValue(m, 'a_total'), 7);
  assert.ok(Number.isNaN(sampleValue(m, 'b')));
  assert.equal(sampleValue(m, 'c_bucket', { le: '+Inf' }), 7);
  assert.equal(sampleValue(m, 'd'), -Infinity);
  assert.equal(sampleValue(m, 'e'), 0.001);
  assert.equal(sampleValue(m, 'missing'), undefined);
});

test('parseExposition names a malformed line', () => {
  assert.throws(() => parseExposition('ok 1\nbad{x="1" 2\n'), /line 2/);
  assert.throws(() => parseExposition('x abc\n'), /not a sample value/);
});
