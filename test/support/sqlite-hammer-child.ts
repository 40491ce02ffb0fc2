// Child process for the multi-process tests in src/state/sqlite.test.ts and
// sqlite-lease.test.ts (not a test itself).
// argv: <db path> <shared limit> <attempts> <child index> <now> [leaseMax] [close|crash]
// Prints "ready", waits for a line on stdin, then tries <attempts> reservations
// of [shared counter (limit L), own counter (no practical limit)], committing
// each one that passes, and prints {"ok":n,"refused":m} as its last line.
// With "crash" it prints that line and kills itself (SIGKILL) without closing
// the store: its unspent leases are never given back.
import { writeSync } from 'node:fs';
import { SqliteCounterStore } from '../../src/state/sqlite.js';

const [path, limitArg, attemptsArg, indexArg, nowArg, leaseArg, mode] = process.argv.slice(2);
// `node --test dist/test` also runs every file under test/ on its own, without arguments: nothing to do then.
if (path === undefined) process.exit(0);
const limit = Number(limitArg);
const attempts = Number(attemptsArg);
const now = Number(nowArg);

const store = new SqliteCounterStore({ path: path!, busyTimeoutMs: 30_000, leaseMax: Number(leaseArg ?? 0) });
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  void run();
});

async function run(): Promise<void> {
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < attempts; i++) {
    const r = await store.reserve(
      [
        { key: 'shared', window: 'day', amount: 1, limit },
        { key: `child.${indexArg}`, window: 'day', amount: 1, limit: Number.MAX_SAFE_INTEGER },
      ],
      now,
    );
    if (r.ok) {
      await store.commit(r.handle);
      ok++;
    } else {
      refused++;
    }
  }
  if (mode === 'crash') {
    writeSync(1, `${JSON.stringify({ ok, refused })}\n`);
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ ok, refused })}\n`);
  process.stdin.destroy();
}
