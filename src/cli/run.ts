import type { Command } from 'commander';

export function registerRun(program: Command): void {
  program.command('run').description('(not yet implemented)').action(() => {
    throw new Error('run: not yet implemented');
  });
}
