import type { Command } from 'commander';

export function registerTest(program: Command): void {
  program.command('test').description('(not yet implemented)').action(() => {
    throw new Error('test: not yet implemented');
  });
}
