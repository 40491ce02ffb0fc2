// Where the state directory is: a module of its own so that start-up can find
// the policy cache without loading SQLite.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export interface StateDirOptions {
  /** The --state-dir flag, if given. */
  stateDir?: string;
  /** Home directory (default os.homedir()); injectable for tests. */
  home?: string;
  /** Base for relative paths (default process.cwd()). */
  cwd?: string;
}

/**
 * Where toolgate keeps its state: `--state-dir`, else $TOOLGATE_HOME, else
 * `~/.toolgate`. A leading `~/` is expanded; the result is absolute. The
 * directory is not created here (see ensureStateDir).
 */
export function resolveStateDir(opts: StateDirOptions = {}, env: NodeJS.ProcessEnv = process.env): string {
  const home = opts.home ?? homedir();
  const cwd = opts.cwd ?? process.cwd();
  const chosen = nonEmpty(opts.stateDir) ?? nonEmpty(env.TOOLGATE_HOME) ?? join(home, '.toolgate');
  const expanded = chosen === '~' ? home : chosen.startsWith('~/') ? join(home, chosen.slice(2)) : chosen;
  return isAbsolute(expanded) ? resolve(expanded) : resolve(cwd, expanded);
}

function nonEmpty(s: string | undefined): string | undefined {
  return s !== undefined && s.trim() !== '' ? s : undefined;
}

/** Create the state directory (owner-only) if needed and return it. */
export function ensureStateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
