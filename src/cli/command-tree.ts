// Walking a commander tree: used by commands.ts (exit overrides, examples) and completion.ts.
import type { Command } from 'commander';

/** Every command of the tree, the root first. */
export function* walk(cmd: Command): Generator<Command> {
  yield cmd;
  for (const sub of cmd.commands) yield* walk(sub);
}

/** "pins accept" for the pins accept command; "" for the root. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
