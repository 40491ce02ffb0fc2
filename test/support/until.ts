// Waiting for an event instead of a fixed pause: a fixed sleep before "it has
// happened" fails on a loaded machine when nothing is wrong. The deadline only
// ends a wait that would never succeed; the assertion after it is what counts.
import { setTimeout as sleep } from 'node:timers/promises';

/** Resolves once `cond` holds (polled every 10 ms); throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
}
