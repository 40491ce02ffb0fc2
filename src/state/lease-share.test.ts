// A lease ahead never takes more than a sixteenth of what remains under the
// limit (README, state): checked through the public store API after every
// reservation, under several limits and call sizes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { T0, req } from '../../test/support/counter-store-contract.js';
import { SqliteCounterStore } from './sqlite.js';

const root = mkdtempSync(join(tmpdir(), 'toolgate-lease-share-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a lease never holds more than a sixteenth of what remains under its limit', async () => {
  let n = 0;
  for (const [limit, amount] of [
    [1000, 1],
    [10_000, 1],
    [5000, 3],
    [160, 1],
  ] as const) {
    const s = new SqliteCounterStore({ path: join(root, `state-${++n}.db`), leaseMax: 1024 });
    let tight = false;
    try {
      for (let i = 0; i * amount < limit + 10; i++) {
        const r = await s.reserve([req('k', amount, limit, 'day')], T0);
        if (r.ok) await s.commit(r.handle);
        // What the store reads excludes its own lease: the units spent.
        const spent = (await s.read([{ key: 'k', window: 'day' }], T0)).get('k')!;
        const leased = s.leased('k', 'day', T0);
        assert.ok(leased * 16 <= limit - spent, `limit ${limit}, amount ${amount}: ${leased} leased with ${limit - spent} remaining`);
        // Within one call of the bound: the sixteenth, not leaseMax, decided this grant.
        if (leased > 0 && (leased + amount) * 16 > limit - spent) tight = true;
      }
      assert.equal((await s.read([{ key: 'k', window: 'day' }], T0)).get('k'), limit - (limit % amount), 'exact at the limit');
      // Positive control: the bound was reached, not kept by leasing little.
      assert.ok(tight, `limit ${limit}, amount ${amount}: no lease came near the sixteenth`);
    } finally {
      await s.close();
    }
  }
});
