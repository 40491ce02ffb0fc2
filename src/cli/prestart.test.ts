import { test } from 'node:test';
import assert from 'node:assert/strict';
import { earlyCommand } from './prestart.js';

const argv = (...a: string[]) => ['node', 'toolgate', ...a];

test('only a plain stdio gateway command line starts its server early', () => {
  assert.deepEqual(earlyCommand(argv('-c', 'p.yaml', '--', 'node', 's.js', '--', 'x'), {}), ['node', 's.js', '--', 'x']);
  assert.deepEqual(earlyCommand(argv('run', '--config=p.yaml', '--pin', 'enforce', '--', 'srv'), {}), ['srv']);
  assert.deepEqual(earlyCommand(argv('-c', 'p.yaml', '--insecure-no-auth', '--state-dir', 's', '--', 'srv'), {}), ['srv']);
  for (const a of [
    argv('-c', 'p.yaml'), // no server
    argv('-c', 'p.yaml', '--'), // an empty one
    argv('--', 'srv'), // no policy
    argv('validate', '-c', 'p.yaml', '--', 'srv'), // a subcommand
    argv('-c', 'p.yaml', '--help', '--', 'srv'),
    argv('-c', 'p.yaml', '-V', '--', 'srv'),
    argv('-c', 'p.yaml', '--upstream', 'http://x', '--', 'srv'),
    argv('-c', 'p.yaml', '--transport=http', '--', 'srv'),
    argv('-c', 'p.yaml', '--identity', 'bob', '--', 'srv'), // a grant may refuse to start
    argv('-c', 'p.yaml', 'valdate', '--', 'srv'), // a stray word: a usage error, nothing to start
    argv('run', '-c', 'p.yaml', '--pin', 'warn', 'extra', '--', 'srv'),
  ]) {
    assert.equal(earlyCommand(a, {}), undefined, a.join(' '));
  }
  assert.equal(earlyCommand(argv('-c', 'p.yaml', '--', 'srv'), { TOOLGATE_IDENTITY: 'bob' }), undefined);
  assert.deepEqual(earlyCommand(argv('-c', 'p.yaml', '--', 'srv'), { TOOLGATE_IDENTITY: ' ' }), ['srv']);
});
