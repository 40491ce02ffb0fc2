// `node dist/bench/redis-store.js`: reserve + commit per second against the
// Redis at REDIS_URL (default redis://127.0.0.1:6379), one process,
// sequential and with N in flight, with and without auto-pipelining.
import { performance } from 'node:perf_hooks';
import { RedisCounterStore } from '../src/state/redis.js';
import { deletePrefix, uniquePrefix } from '../test/support/redis.js';
import type { ReserveRequest } from '../src/state/types.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_OPS ?? 20_000);

const one: ReserveRequest[] = [{ key: 'tool._rate_minute', window: 'minute', amount: 1, limit: Infinity }];
const three: ReserveRequest[] = [
  { key: 'tool._rate_minute', window: 'minute', amount: 1, limit: Infinity },
  { key: 'tool.daily_spend', window: 'day', amount: 12.5, limit: Infinity },
  { key: '_global._rate_minute', window: 'minute', amount: 1, limit: Infinity },
];

async function run(store: RedisCounterStore, reqs: ReserveRequest[], inFlight: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < N) {
      next++;
      const r = await store.reserve(reqs, Date.now());
      if (!r.ok) throw new Error('refused');
      await store.commit(r.handle);
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return N / ((performance.now() - t) / 1000);
}

const rows: string[] = [];
for (const pipelining of [true, false]) {
  const prefix = uniquePrefix('bench');
  const store = new RedisCounterStore({ url, prefix, autoPipelining: pipelining });
  await store.ping().catch(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await store.ping();
  });
  for (const [label, reqs] of [
    ['1 counter', one],
    ['3 counters', three],
  ] as const) {
    for (const inFlight of [1, 32]) {
      await run(store, reqs, inFlight); // warm-up
      const ops = await run(store, reqs, inFlight);
      rows.push(
        `| ${label} | ${inFlight === 1 ? 'sequential' : `${inFlight} in flight`} | ${pipelining ? 'on' : 'off'} | ${Math.round(ops).toLocaleString('en-US')} |`,
      );
      process.stderr.write(rows.at(-1)! + '\n');
    }
  }
  await store.close();
  await deletePrefix(url, prefix);
}
process.stdout.write(['| reservation | concurrency | auto-pipelining | reserve+commit/s |', '| --- | --- | --- | ---: |', ...rows].join('\n') + '\n');
