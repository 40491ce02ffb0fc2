// Watch one file (the policy) for changes, the way editors really save files.
//
// Editors do not all write in place: many write a temporary file and rename it
// over the original (vim, VS Code's atomic save, `kubectl cp`, sed -i), which
// gives the path a new inode. A watch on the file itself would then keep
// watching the old, unlinked inode and miss every later save. So we watch the
// parent directory (depth 0) and listen only for our file name: in-place
// writes, atomic replacement and delete-then-create all arrive as events on
// that name.
//
// A single save often produces several events (truncate + write, or unlink +
// add); they are debounced (default 100 ms of quiet) into one callback. The
// callback takes no arguments: it should re-read the file and cope with the
// file being missing or half-written (keep what it had, warn), since a delete
// also triggers it.
//
// chokidar is loaded when the watch starts, not with this module: the gateway
// starts its watch while the server it fronts is still booting, so loading it
// then costs the first call nothing (start-up is on every agent's path).
import { basename, dirname, resolve } from 'node:path';
import type { FSWatcher } from 'chokidar';

export interface WatchFileOptions {
  /** Quiet time before the callback fires (ms). Default 100. */
  debounceMs?: number;
  /** Poll instead of using native events (network file systems, some containers). Default false. */
  usePolling?: boolean;
  /** Polling interval when usePolling is set (ms). Default 250. */
  pollIntervalMs?: number;
  /** Watcher errors and errors thrown by onChange. Default: a line on stderr. */
  onError?: (err: Error) => void;
  /** The clock the debounce runs on. Default: the real timers; tests pass one they advance by hand. */
  clock?: DebounceClock;
}

export interface DebounceClock {
  set(fire: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realClock: DebounceClock = {
  set: (fire, ms) => setTimeout(fire, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface FileWatch {
  /** Resolves once the watcher is in place: changes from then on are seen. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function watchFile(path: string, onChange: () => void, opts: WatchFileOptions = {}): FileWatch {
  const target = resolve(path);
  const dir = dirname(target);
  const name = basename(target);
  const debounceMs = opts.debounceMs ?? 100;
  const onError =
    opts.onError ??
    ((err: Error) => {
      process.stderr.write(`toolgate: watching ${target}: ${err.message}\n`);
    });

  const clock = opts.clock ?? realClock;
  let timer: unknown = null;
  let closed = false;

  const fire = (): void => {
    timer = null;
    if (closed) return;
    try {
      onChange();
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
    }
  };

  let watcher: FSWatcher | undefined;
  const onEvent = (p: string): void => {
    if (closed || basename(p) !== name) return;
    if (timer !== null) clock.clear(timer);
    timer = clock.set(fire, debounceMs);
  };
  const ready = import('chokidar').then(
    ({ watch }) =>
      new Promise<void>((res) => {
        if (closed) return res();
        const w = watch(dir, {
          depth: 0,
          ignoreInitial: true,
          persistent: true,
          usePolling: opts.usePolling ?? false,
          interval: opts.pollIntervalMs ?? 250,
          // Only the directory itself and our file; siblings are never even stat'ed.
          ignored: (p: string) => p !== dir && resolve(p) !== target,
        });
        watcher = w;
        w.on('add', onEvent);
        w.on('change', onEvent);
        w.on('unlink', onEvent);
        w.on('error', (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));
        w.once('ready', () => res());
      }),
    (err: unknown) => onError(err instanceof Error ? err : new Error(String(err))),
  );

  return {
    ready,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== null) clock.clear(timer);
      timer = null;
      await ready;
      await watcher?.close();
    },
  };
}
