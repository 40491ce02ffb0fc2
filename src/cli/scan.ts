// `toolgate scan`: connect to an MCP server, classify its tools, write a policy scaffold.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildScaffold, parseHeaders, scanServer, type ScanTarget } from '../risk/index.js';

interface ScanFlags {
  output?: string;
  format: string;
  default: string;
  upstream?: string;
  header: string[];
  timeout: string;
  quiet?: boolean;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('Connect to an MCP server, classify its tools, and write a policy scaffold')
    .argument('[command...]', 'the server to start over stdio (after --), e.g. -- npx -y @scope/server')
    .option('-o, --output <file>', 'write the policy here instead of stdout')
    .option('--format <format>', 'output format (yaml)', 'yaml')
    .option('--default <action>', 'default posture of the policy: allow or deny', 'allow')
    .option('--upstream <url>', 'scan a Streamable HTTP server at this URL instead of a command')
    .option('--header <header>', 'HTTP header for --upstream, "Name: value" (repeatable)', collect, [])
    .option('--timeout <ms>', 'time limit of each request in milliseconds', '60000')
    .option('-q, --quiet', 'no progress on stderr')
    .passThroughOptions()
    .action(async (command: string[], flags: ScanFlags) => {
      const progress = (m: string): void => {
        if (!flags.quiet) process.stderr.write(`toolgate scan: ${m}\n`);
      };
      try {
        if (flags.format !== 'yaml') throw new Error(`unknown --format ${JSON.stringify(flags.format)}: only yaml is supported`);
        if (flags.default !== 'allow' && flags.default !== 'deny') {
          throw new Error(`--default must be allow or deny, got ${JSON.stringify(flags.default)}`);
        }
        const timeoutMs = Number(flags.timeout);
        if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`--timeout must be a positive integer, got ${flags.timeout}`);
        let target: ScanTarget;
        let source: string;
        if (flags.upstream) {
          if (command.length > 0) throw new Error('give either --upstream URL or a command after --, not both');
          target = { kind: 'http', url: flags.upstream, headers: parseHeaders(flags.header) };
          source = flags.upstream;
        } else {
          const [cmd, ...args] = command;
          if (!cmd) throw new Error('nothing to scan: give a command after -- (e.g. toolgate scan -- npx -y server) or --upstream URL');
          if (flags.header.length > 0) throw new Error('--header needs --upstream');
          target = { kind: 'stdio', command: cmd, args };
          source = `stdio: ${command.join(' ')}`;
        }
        const result = await scanServer(target, { onProgress: progress, timeoutMs });
        const text = buildScaffold(result.tools, {
          ...(result.server ? { server: result.server } : {}),
          source,
          generatedAt: new Date(),
          defaultAction: flags.default,
        });
        if (flags.output) {
          writeFileSync(flags.output, text);
          progress(`wrote ${flags.output}`);
        } else {
          process.stdout.write(text);
        }
      } catch (err) {
        process.stderr.write(`toolgate scan: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
