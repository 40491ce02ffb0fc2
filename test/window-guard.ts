// Windowed limits in end-to-end tests run on the real clock (the gateway is a
// separate process). A test whose counted calls straddle a calendar window's
// end sees its counter start over and flips its outcome, so such a test first
// waits out a window end that is too close.
import { setTimeout as sleep } from 'node:timers/promises';
import { windowEnd, windowMs, windowStart } from '../src/state/window.js';

/** Returns once at least `marginMs` of the current `window` is left (waiting for the next one if needed). */
export async function clearOfWindowEnd(window: 'minute' | 'hour' | 'day', marginMs = 60_000): Promise<void> {
  if (marginMs >= windowMs(window) / 2) throw new Error(`a ${marginMs} ms margin leaves too little of a ${window}: use a longer window`);
  const left = windowEnd(window, Date.now()) - Date.now();
  if (left < marginMs) await sleep(left + 250);
}

/**
 * Runs `run` (which must start from fresh state each time) inside one `window`: waits out a window
 * end closer than `marginMs`, and when one fell inside anyway (a slow start on a loaded machine),
 * runs it once more, now at the start of a fresh window. For a process whose limit is per minute
 * and cannot be given a clock (`toolgate demo`).
 */
export async function inOneWindow<T>(window: 'minute' | 'hour' | 'day', marginMs: number, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await clearOfWindowEnd(window, marginMs);
    const started = windowStart(window, Date.now());
    const out = await run();
    if (windowStart(window, Date.now()) === started || attempt === 2) return out;
  }
}
