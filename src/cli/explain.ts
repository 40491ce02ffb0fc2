import type { Command } from 'commander';

export function registerExplain(program: Command): void {
  program.command('explain').description('(not yet implemented)').action(() => {
    throw new Error('explain: not yet implemented');
  });
}
