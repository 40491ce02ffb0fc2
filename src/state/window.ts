import type { WindowName } from '../policy/model.js';

const WINDOW_MS: Record<WindowName, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** Start (epoch ms) of the UTC calendar window containing `now`. Epoch time has no leap seconds, so days are exact. */
export function windowStart(window: WindowName, now: number): number {
  const size = WINDOW_MS[window];
  return Math.floor(now / size) * size;
}

/** End (exclusive, epoch ms) of the window containing `now`. */
export function windowEnd(window: WindowName, now: number): number {
  return windowStart(window, now) + WINDOW_MS[window];
}

export function windowMs(window: WindowName): number {
  return WINDOW_MS[window];
}
