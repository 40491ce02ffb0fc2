import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { formatPolicyError, loadPolicyFile, parseTimeoutFlag } from '../policy/index.js';

interface ValidateFlags {
  config?: string;
  upstream?: string;
  header: string[];
  timeout: string;
  strict?: boolean;
}

/**
 * `toolgate validate -c FILE` (or `toolgate validate FILE`): "valid" and exit 0, or every error and
 * exit 1. With a server (`-- <command...>` or `--upstream URL`) the policy is also checked against
 * the server's live tools/list: every tool the policy names must exist there (exit 1 otherwise).
 */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'Check a policy file (or a toolgate serve config and its policies); print "valid" or every error with file:line:col. With a server after -- (or --upstream URL), also check that the server lists every tool the policy names',
    )
    .argument('[file]', 'the policy file (same as -c)')
    .argument('[command...]', 'the MCP server to check the policy against, after --')
    .option('-c, --config <file>', 'the policy file')
    .option('--upstream <url>', 'check against the Streamable HTTP server at this URL')
    .option('--header <header>', 'HTTP header for --upstream, "Name: value" (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--timeout <duration>', 'time limit of each request to the server: milliseconds, or a duration such as 30s or 2m', '60000')
    .option('--strict', 'treat warnings (unknown keys) as errors, for CI')
    .action(async (fileArg: string | undefined, rest: string[], opts: ValidateFlags) => {
      // Only what follows `--` is a server command; a word before it is the policy file.
      const dashes = process.argv.indexOf('--');
      const server = dashes < 0 ? [] : process.argv.slice(dashes + 1);
      const operands = fileArg === undefined ? rest : [fileArg, ...rest];
      const words = operands.slice(0, operands.length - server.length);
      if (words.length > (opts.config ? 0 : 1)) {
        process.stderr.write(
          `toolgate validate: unexpected ${JSON.stringify(words.at(-1))}; a server to check against goes after '--': toolgate validate -c policy.yaml -- <server command...>\n`,
        );
        process.exitCode = 2;
        return;
      }
      const file = opts.config ?? words[0];
      if (!file) {
        process.stderr.write('toolgate validate: give the policy file with -c FILE\n');
        process.exitCode = 2;
        return;
      }
      if (server.length > 0 && opts.upstream) {
        process.stderr.write("toolgate validate: give either --upstream URL or a server command after '--', not both\n");
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
      if (looksLikeGatewayConfig(text)) {
        if (server.length > 0 || opts.upstream) {
          process.stderr.write('toolgate validate: a toolgate serve config names its own servers; check a policy file against a server instead\n');
          process.exitCode = 2;
          return;
        }
        const r = loadGatewayConfig(file);
        if (r.ok) {
          // Each server's policy may carry warnings (unknown keys), as a lone policy does.
          const warnings = r.config.servers.flatMap((s) => s.policy.warnings ?? []);
          for (const w of warnings) process.stdout.write(`${opts.strict ? '' : 'warning: '}${w}\n`);
          if (opts.strict && warnings.length > 0) process.exitCode = 1;
          else process.stdout.write(warnings.length > 0 ? `valid, with ${warnings.length} warning(s)\n` : 'valid\n');
        } else {
          for (const e of r.errors) process.stdout.write(`${formatPolicyError(e)}\n`);
          process.exitCode = 1;
        }
        return;
      }
      const r = loadPolicyFile(file);
      if (!r.ok) {
        for (const e of r.errors) process.stdout.write(`${formatPolicyError(e)}\n`);
        process.exitCode = 1;
        return;
      }
      // Unknown keys: warnings (the policy runs), or errors with --strict.
      const warnings = r.policy.warnings ?? [];
      for (const w of warnings) process.stdout.write(`${opts.strict ? '' : 'warning: '}${w}\n`);
      if (opts.strict && warnings.length > 0) {
        process.exitCode = 1;
        return;
      }
      if (server.length === 0 && !opts.upstream) {
        process.stdout.write(warnings.length > 0 ? `valid, with ${warnings.length} warning(s)\n` : 'valid\n');
        return;
      }
      const timeoutMs = parseTimeoutFlag(opts.timeout);
      if (timeoutMs === undefined)
        throw new Error(`--timeout must be a positive number of milliseconds or a duration such as 30s or 2m, got ${JSON.stringify(opts.timeout)}`);
      const [{ scanServer, parseHeaders }, { policyMismatch, describeMissing }] = await Promise.all([
        import('../risk/index.js'),
        import('../gateway/policy-mismatch.js'),
      ]);
      const [cmd, ...args] = server;
      const target = opts.upstream
        ? { kind: 'http' as const, url: opts.upstream, headers: parseHeaders(opts.header) }
        : { kind: 'stdio' as const, command: cmd!, args };
      const listed = await scanServer(target, { timeoutMs });
      const missing = policyMismatch(
        r.policy,
        listed.tools.map((t) => t.name),
      );
      if (missing.length === 0) {
        process.stdout.write(`valid; the server lists every tool the policy names (${listed.tools.length} tools)\n`);
        return;
      }
      // Tool names come from the server: escaped before they reach a terminal.
      const { printable } = await import('../text/index.js');
      for (const m of missing) process.stdout.write(`${printable(`${file}: ${describeMissing(m)}`)}\n`);
      process.exitCode = 1;
    });
}
