// Windowed limits in end-to-end tests run on the real clock (the gateway is a
// separate process). A test whose counted calls straddle a calendar window's
// end sees its counter start over and flips its outcome, so such a test first
// waits out a window end that is too close.
import { setTimeout as sleep } from 'node:timers/promises';
import { windowEnd, windowMs } from '../src/state/window.js';

/** Returns once at least `marginMs` of the current `window` is left (waiting for the next one if needed). */
export async function clearOfWindowEnd(window: 'minute' | 'hour' | 'day', marginMs = 60_000): Promise<void> {
  if (marginMs >= windowMs(window) / 2) throw new Error(`a ${marginMs} ms margin leaves too little of a ${window}: use a longer window`);
  const left = windowEnd(window, Date.now()) - Date.now();
  if (left < marginMs) await sleep(left + 250);
}
