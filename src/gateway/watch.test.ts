import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { until } from '../../test/support/until.js';
import { type DebounceClock, watchFile } from './watch.js';

const root = mkdtempSync(join(tmpdir(), 'toolgate-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh directory with policy.yaml in it, and a watcher counting callbacks. */
async function setup(opts: { onChange?: () => void; onError?: (e: Error) => void; clock?: DebounceClock } = {}) {
  const dir = join(root, `d${++n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, 'version: "1"\n');
  const state = { calls: 0 };
  const w = watchFile(
    file,
    () => {
      state.calls++;
      opts.onChange?.();
    },
    { debounceMs: 100, ...(opts.onError ? { onError: opts.onError } : {}), ...(opts.clock ? { clock: opts.clock } : {}) },
  );
  await w.ready;
  await sleep(50); // let the native watch settle
  return { dir, file, state, w };
}

async function waitForCalls(state: { calls: number }, want: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (state.calls < want && Date.now() < end) await sleep(10);
  assert.equal(state.calls, want, `expected ${want} callbacks within ${timeoutMs} ms, got ${state.calls}`);
}

/**
 * A positive control for "no callback": a second watcher with the same
 * debounce, registered after the one under test, on a file the change does
 * touch. Once it has called back, a callback of the first (whose events and
 * debounce timer come first) would have come too.
 */
async function control(file: string): Promise<{ calls: () => number; close: () => Promise<void> }> {
  let calls = 0;
  const w = watchFile(file, () => void calls++, { debounceMs: 100 });
  await w.ready;
  await sleep(50); // let the native watch settle, as setup does
  return { calls: () => calls, close: () => w.close() };
}

/** A debounce clock that stands still until `advance` fires what is pending: load cannot stretch a burst past it. */
function handClock() {
  const pending = new Set<{ fire: () => void; ms: number }>();
  let sets = 0;
  const clock: DebounceClock = {
    set(fire, ms) {
      sets++;
      const handle = { fire, ms };
      pending.add(handle);
      return handle;
    },
    clear(handle) {
      pending.delete(handle as { fire: () => void; ms: number });
    },
  };
  return {
    clock,
    sets: () => sets,
    pendingMs: () => [...pending].map((p) => p.ms),
    advance() {
      const due = [...pending];
      pending.clear();
      for (const p of due) p.fire();
    },
  };
}

/** Write a temporary file next to the target and rename it over the target. */
function atomicReplace(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

describe('watchFile', () => {
  it('calls back once per save, for two separate edits', async () => {
    const { file, state, w } = await setup();
    try {
      writeFileSync(file, 'version: "1"\ndefault: deny\n');
      await waitForCalls(state, 1);
      await sleep(300);
      assert.equal(state.calls, 1, 'one save, one callback');
      appendFileSync(file, 'hide: [x]\n');
      await waitForCalls(state, 2);
      await sleep(300);
      assert.equal(state.calls, 2);
    } finally {
      await w.close();
    }
  });

  it('debounces a burst of writes into one callback', async () => {
    // The debounce runs on a hand clock, so however slowly the writes land, the
    // quiet period cannot end inside the burst; each write is seen before the next.
    const t = handClock();
    const { file, state, w } = await setup({ clock: t.clock });
    try {
      for (let i = 0; i < 5; i++) {
        appendFileSync(file, `# line ${i}\n`);
        await until(`the watcher saw write ${i + 1}`, () => t.sets() > i, 60_000);
        await sleep(60); // past chokidar's 50 ms change throttle: the next write is an event of its own
      }
      assert.ok(t.sets() >= 5, `each write restarted the debounce (${t.sets()} events)`);
      assert.equal(state.calls, 0, 'nothing fires inside the burst');
      assert.deepEqual(t.pendingMs(), [100], 'each event replaced the pending debounce: one is left, of the configured length');
      t.advance();
      assert.equal(state.calls, 1, 'the burst gave one callback');
      t.advance();
      assert.equal(state.calls, 1, 'and only one');
    } finally {
      await w.close();
    }
  });

  it('follows atomic replacement (write temp + rename), again and again, then in-place edits', async () => {
    const { file, state, w } = await setup();
    try {
      atomicReplace(file, 'version: "1"\ndefault: allow\n');
      await waitForCalls(state, 1);
      await sleep(300);
      assert.equal(state.calls, 1, 'one atomic save, one callback');
      atomicReplace(file, 'version: "1"\ndefault: deny\n');
      await waitForCalls(state, 2);
      await sleep(200);
      writeFileSync(file, 'version: "1"\n');
      await waitForCalls(state, 3);
      await sleep(300);
      assert.equal(state.calls, 3);
    } finally {
      await w.close();
    }
  });

  it('sees the file come back after a delete', async () => {
    const { file, state, w } = await setup();
    try {
      unlinkSync(file);
      await sleep(300);
      const afterDelete = state.calls;
      assert.ok(afterDelete <= 1);
      writeFileSync(file, 'version: "1"\n');
      await waitForCalls(state, afterDelete + 1);
      appendFileSync(file, '# edited\n');
      await waitForCalls(state, afterDelete + 2);
    } finally {
      await w.close();
    }
  });

  it('ignores other files in the same directory', async () => {
    const { dir, state, w } = await setup();
    const other = await control(join(dir, 'other.yaml'));
    const bak = await control(join(dir, 'policy.yaml.bak'));
    try {
      writeFileSync(join(dir, 'other.yaml'), 'x');
      atomicReplace(join(dir, 'policy.yaml.bak'), 'y');
      await waitForCalls(
        {
          get calls() {
            return Math.min(other.calls(), bak.calls());
          },
        },
        1,
      );
      assert.equal(state.calls, 0);
    } finally {
      await Promise.all([w.close(), other.close(), bak.close()]);
    }
  });

  it('stops calling back after close, even with a callback pending', async () => {
    const { file, state, w } = await setup();
    const open = await control(file);
    try {
      writeFileSync(file, 'changed\n');
      await sleep(20);
      await w.close();
      await w.close(); // idempotent
      writeFileSync(file, 'changed again\n');
      // The open watcher's debounce ends after the closed one's pending callback would have come.
      await waitForCalls(
        {
          get calls() {
            return open.calls();
          },
        },
        1,
      );
      assert.equal(state.calls, 0);
    } finally {
      await open.close();
    }
  });

  it('reports an error thrown by the callback and keeps watching', async () => {
    const errors: Error[] = [];
    const { file, state, w } = await setup({
      onChange: () => {
        throw new Error('bad policy');
      },
      onError: (e) => errors.push(e),
    });
    try {
      writeFileSync(file, 'a\n');
      await waitForCalls(state, 1);
      await sleep(200);
      writeFileSync(file, 'b\n');
      await waitForCalls(state, 2);
      assert.deepEqual(
        errors.map((e) => e.message),
        ['bad policy', 'bad policy'],
      );
    } finally {
      await w.close();
    }
  });
});
