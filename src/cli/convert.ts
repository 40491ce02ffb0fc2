import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { convertConfig, detectFormat, formatPolicyError, issuesToErrors, parsePolicy } from '../policy/index.js';

/**
 * `toolgate convert FILE --to yaml|json [-o OUT]`: Intercept YAML <-> PolicyLayer JSON.
 * Prints the converted policy (or writes OUT); what the target cannot express is an error.
 */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description('Convert a policy between Intercept YAML and PolicyLayer JSON, keeping its meaning')
    .argument('<file>', 'the policy file')
    .requiredOption('--to <format>', 'yaml or json')
    .option('-o, --output <file>', 'write here instead of stdout')
    .action((file: string, opts: { to: string; output?: string }) => {
      if (opts.to !== 'yaml' && opts.to !== 'json') {
        process.stderr.write(`toolgate convert: --to must be yaml or json, got ${JSON.stringify(opts.to)}\n`);
        process.exitCode = 2;
        return;
      }
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        process.stderr.write(`toolgate convert: cannot read ${file}: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const format = detectFormat(text, file);
      const { config, issues, warnings } = parsePolicy(text, format);
      if (issues.length > 0 || !config) {
        for (const e of issuesToErrors(text, file, issues)) process.stderr.write(`${formatPolicyError(e)}\n`);
        process.exitCode = 1;
        return;
      }
      for (const w of issuesToErrors(text, file, warnings)) process.stderr.write(`warning: ${formatPolicyError(w)}\n`);
      // A rule with a typo runs as a deny; converting would write that deny as if it were meant.
      if (config.tools.some((t) => t.typos || t.rules.some((r) => r.typos))) {
        process.stderr.write(`toolgate convert: ${file} has a misspelt key inside a rule (see the warnings above); fix it before converting\n`);
        process.exitCode = 1;
        return;
      }
      const out = convertConfig(config, opts.to, ` Converted from ${basename(file)} by toolgate convert`);
      for (const w of out.warnings) process.stderr.write(`warning: ${w}\n`);
      if (!out.ok || out.text === undefined) {
        for (const e of out.errors) process.stderr.write(`${file}: cannot convert to ${opts.to}: ${e}\n`);
        process.exitCode = 1;
        return;
      }
      if (opts.output) writeFileSync(opts.output, out.text);
      else process.stdout.write(out.text);
    });
}
