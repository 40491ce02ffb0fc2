import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('runs the jobs asked for in one loop turn as one group, in order', async () => {
    const groups: number[][] = [];
    const g = new GroupCommit<number, number>((jobs) => {
      groups.push([...jobs]);
      return jobs.map((j) => j * 10);
    });
    const first = await Promise.all([g.ask(1), g.ask(2), g.ask(3)]);
    const second = await g.ask(4);
    assert.deepEqual(first, [10, 20, 30]);
    assert.equal(second, 40);
    assert.deepEqual(groups, [[1, 2, 3], [4]]);
  });

  it('rejects every job of a group whose run throws, and runs the next group', async () => {
    let fail = true;
    const g = new GroupCommit<number, number>((jobs) => {
      if (fail) throw new Error('busy');
      return [...jobs];
    });
    const results = await Promise.allSettled([g.ask(1), g.ask(2)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    assert.equal(await g.ask(3), 3);
  });

  it('flush decides what was asked for at once (close), and nothing runs twice', async () => {
    let runs = 0;
    const g = new GroupCommit<number, number>((jobs) => {
      runs++;
      return [...jobs];
    });
    const p = g.ask(7);
    g.flush();
    assert.equal(runs, 1);
    assert.equal(await p, 7);
    await new Promise((r) => setImmediate(r));
    assert.equal(runs, 1, 'the scheduled turn found the queue empty');
  });
});
