// `toolgate scan`: connect to an MCP server, classify its tools, write a policy scaffold.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { convertConfig, parsePolicy, parseTimeoutFlag } from '../policy/index.js';
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

/** The scaffold in PolicyLayer JSON: the same rules, through the converter (JSON has no comments). */
function toJson(yaml: string): string {
  const { config, issues } = parsePolicy(yaml, 'intercept-yaml');
  if (!config || issues.length > 0) throw new Error(`internal: the generated scaffold does not validate: ${issues.map((i) => i.message).join('; ')}`);
  const out = convertConfig(config, 'json');
  if (!out.ok) throw new Error(`the scaffold cannot be written as PolicyLayer JSON: ${out.errors.join('; ')}`);
  return out.text ?? '';
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('Connect to an MCP server, classify its tools, and write a policy scaffold')
    .argument('[command...]', 'the server to start over stdio (after --), e.g. -- npx -y @scope/server')
    .option('-o, --output <file>', 'write the policy here instead of stdout')
    .option('--format <format>', 'output format: yaml (Intercept YAML, with comments) or json (PolicyLayer JSON)', 'yaml')
    .option('--default <action>', "default posture of the policy: deny (tools added later are refused until reviewed) or allow (Intercept's scaffold)", 'deny')
    .option('--upstream <url>', 'scan a Streamable HTTP server at this URL instead of a command')
    .option('--header <header>', 'HTTP header for --upstream, "Name: value" (repeatable)', collect, [])
    .option('--timeout <duration>', 'time limit of each request: milliseconds, or a Go duration as Intercept takes it (30s, 2m)', '60000')
    .option('-q, --quiet', 'no progress on stderr')
    .passThroughOptions()
    .action(async (command: string[], flags: ScanFlags) => {
      const progress = (m: string): void => {
        if (!flags.quiet) process.stderr.write(`toolgate scan: ${m}\n`);
      };
      try {
        if (flags.format !== 'yaml' && flags.format !== 'json') throw new Error(`unknown --format ${JSON.stringify(flags.format)}: use yaml or json`);
        if (flags.default !== 'allow' && flags.default !== 'deny') {
          throw new Error(`--default must be allow or deny, got ${JSON.stringify(flags.default)}`);
        }
        const timeoutMs = parseTimeoutFlag(flags.timeout);
        if (timeoutMs === undefined)
          throw new Error(`--timeout must be a positive number of milliseconds or a duration such as 30s or 2m, got ${JSON.stringify(flags.timeout)}`);
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
        const yaml = buildScaffold(result.tools, {
          ...(result.server ? { server: result.server } : {}),
          source,
          generatedAt: new Date(),
          defaultAction: flags.default,
        });
        const text = flags.format === 'json' ? toJson(yaml) : yaml;
        progress(
          flags.default === 'deny'
            ? `default: deny — the ${result.tools.length} tools listed now are in the policy; a tool the server adds later is refused until reviewed (--default allow lets it through, as Intercept's scaffold does)`
            : 'default: allow — a tool the server adds later is let through without review',
        );
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
