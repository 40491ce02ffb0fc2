import type { Command } from 'commander';
import { formatPolicyError, loadPolicyFile } from '../policy/index.js';

/** `toolgate validate -c FILE` (or `toolgate validate FILE`): "valid" and exit 0, or every error and exit 1. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('Check a policy file; print "valid" or every error with file:line:col')
    .argument('[file]', 'the policy file (same as -c)')
    .option('-c, --config <file>', 'the policy file')
    .action((fileArg: string | undefined, opts: { config?: string }) => {
      const file = opts.config ?? fileArg;
      if (!file) {
        process.stderr.write('toolgate validate: give the policy file with -c FILE\n');
        process.exitCode = 2;
        return;
      }
      const r = loadPolicyFile(file);
      if (r.ok) {
        process.stdout.write('valid\n');
        return;
      }
      for (const e of r.errors) process.stdout.write(`${formatPolicyError(e)}\n`);
      process.exitCode = 1;
    });
}
