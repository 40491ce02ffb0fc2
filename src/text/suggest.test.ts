import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestNames, didYouMean } from './suggest.js';

test('closestNames: the nearest names within a third of the word, ties in order, case ignored', () => {
  assert.deepEqual(closestNames('valdate', ['validate', 'explain', 'serve']), ['validate']);
  assert.deepEqual(closestNames('Create_Charge', ['create_charge']), ['create_charge'], 'case alone is a typo too');
  assert.deepEqual(closestNames('pin', ['pins', 'run']), ['pins'], 'one edit is allowed even for a short word');
  assert.deepEqual(closestNames('sev', ['serve', 'test']), [], 'two edits on a three-letter word is too far');
  assert.deepEqual(closestNames('read_fil', ['read_file', 'read_files', 'write_file']), ['read_file']);
  assert.deepEqual(closestNames('tst', ['test', 'test', 'tests']), ['test'], 'duplicates once');
  assert.deepEqual(closestNames('tset', ['test']), [], 'a swap is two edits: too far for four letters');
  assert.deepEqual(closestNames('validate', ['validate']), [], 'the word itself is no suggestion');
});

test('didYouMean: one, several, or nothing', () => {
  assert.equal(didYouMean('valdate', ['validate']), " (did you mean 'validate'?)");
  assert.equal(didYouMean('pin', ['pins', 'pig', 'pit']), " (did you mean 'pins', 'pig' or 'pit'?)");
  assert.equal(didYouMean('zzz', ['validate']), '');
});
