import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { formatPolicyError, loadPolicyFile } from '../policy/index.js';

/** `toolgate validate -c FILE` (or `toolgate validate FILE`): "valid" and exit 0, or every error and exit 1. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('Check a policy file (or a toolgate serve config and its policies); print "valid" or every error with file:line:col')
    .argument('[file]', 'the policy file (same as -c)')
    .option('-c, --config <file>', 'the policy file')
    .action(async (fileArg: string | undefined, opts: { config?: string }) => {
      const file = opts.config ?? fileArg;
      if (!file) {
        process.stderr.write('toolgate validate: give the policy file with -c FILE\n');
        process.exitCode = 2;
        return;
      }
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // loadPolicyFile reports it
      }
      // A gateway config for `toolgate serve` (a top-level servers: mapping) is checked with every policy it names.
      const { looksLikeGatewayConfig, loadGatewayConfig } = await import('../serve/config.js');
      const r = looksLikeGatewayConfig(text) ? loadGatewayConfig(file) : loadPolicyFile(file);
      if (r.ok) {
        process.stdout.write('valid\n');
        return;
      }
      for (const e of r.errors) process.stdout.write(`${formatPolicyError(e)}\n`);
      process.exitCode = 1;
    });
}
