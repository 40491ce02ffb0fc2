// `toolgate init`: find the MCP client configs, list each server's tools, choose per tool on a
// local page (or take the recommendations with --no-browser), then write the policies and run
// every server through toolgate. `--undo` restores the client configs.
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Backups, discover, type InitOptions, type Plan, recommendedRequest, type SaveResult, save, startInitPage } from '../init/index.js';
import { parseTimeoutFlag } from '../policy/index.js';
import { resolveStateDir } from '../state/index.js';

interface InitFlags {
  project: string;
  browser: boolean;
  open: boolean;
  port: string;
  stateDir?: string;
  policyDir?: string;
  toolgateCommand?: string;
  timeout: string;
  undo?: boolean;
  trustProject?: boolean;
  force?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('Find MCP client configs, choose per tool on a local page, and run every server through toolgate')
    .option('--project <dir>', 'project directory for .mcp.json, .vscode/mcp.json and .cursor/mcp.json', process.cwd())
    .option('--no-browser', 'no page: write the recommended policies and rewrite the configs')
    .option('--no-open', 'print the page address instead of opening a browser')
    .option('--port <port>', 'port of the page on 127.0.0.1 (0: any free port)', '0')
    .option('--state-dir <dir>', 'state directory: backups go to <dir>/init (default ~/.toolgate, or $TOOLGATE_HOME)')
    .option('--policy-dir <dir>', 'where the policies go (default <state-dir>/policies)')
    .option('--toolgate-command <path>', 'the toolgate command written into the client configs (default: this node and this toolgate, by absolute path)')
    .option('--timeout <duration>', 'time limit of each request while listing a server tools (30s, 2m, or milliseconds)', '30s')
    .option('--trust-project', "also start the servers of the project folder's configs to list their tools (their commands come with the repository)")
    .option('--undo', 'restore the client configs toolgate init rewrote')
    .option('--force', 'with --undo: restore a file even if it changed since toolgate init wrote it')
    .action(async (flags: InitFlags) => {
      try {
        process.exitCode = await runInit(flags);
      } catch (err) {
        process.stderr.write(`toolgate init: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
}

async function runInit(flags: InitFlags): Promise<number> {
  const say = (m: string): void => void process.stderr.write(`toolgate init: ${m}\n`);
  const stateDir = resolveStateDir({ stateDir: flags.stateDir }, process.env);
  if (flags.undo) {
    const { lines, failed } = new Backups(stateDir).undo({ force: flags.force === true });
    for (const l of lines) say(l);
    return failed > 0 ? 1 : 0;
  }
  if (flags.force) throw new Error('--force goes with --undo');
  const timeoutMs = parseTimeoutFlag(flags.timeout);
  if (timeoutMs === undefined) throw new Error(`--timeout must be a duration such as 30s or 2m, or milliseconds; got ${JSON.stringify(flags.timeout)}`);
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0 to 65535, got ${JSON.stringify(flags.port)}`);
  const opts: InitOptions = {
    home: homedir(),
    project: resolve(flags.project),
    appData: process.env.APPDATA,
    stateDir,
    policyDir: resolve(flags.policyDir ?? join(stateDir, 'policies')),
    // By absolute path: MCP clients often start servers with a PATH that lacks npm's bin folder.
    toolgate: flags.toolgateCommand ? [flags.toolgateCommand] : [process.execPath, resolve(process.argv[1] ?? 'toolgate')],
    timeoutMs,
    trustProject: flags.trustProject === true,
    now: () => new Date(),
    onProgress: say,
  };
  const plan = await discover(opts);
  printPlan(plan, say);
  const broken = plan.files.some((f) => f.error);
  if (!plan.servers.some((s) => s.tools)) {
    say('no server to put behind toolgate');
    return broken ? 1 : 0;
  }
  let result: SaveResult;
  if (!flags.browser) {
    result = save(plan, recommendedRequest(plan), opts);
  } else {
    const page = await startInitPage(plan, (body) => save(plan, body, opts), { port });
    say(`choose per tool at ${page.url}`);
    if (flags.open) openBrowser(page.url);
    const stop = new Promise<undefined>((r) => process.once('SIGINT', () => r(undefined)));
    const saved = await Promise.race([page.saved, stop]);
    await page.close();
    if (!saved) {
      say('stopped: nothing was written');
      return 130;
    }
    result = saved;
  }
  for (const p of result.policies) say(`wrote ${p.file} (${p.server}, ${p.client})`);
  for (const f of result.rewritten) say(`rewrote ${f.file}: ${f.servers.join(', ')} now run through toolgate (toolgate init --undo restores it)`);
  for (const e of result.errors) say(e);
  if (result.rewritten.length > 0) say('restart your MCP clients to use the new configuration');
  return broken || result.errors.length > 0 ? 1 : 0;
}

function printPlan(plan: Plan, say: (m: string) => void): void {
  if (plan.files.length === 0) say('no MCP client configuration found');
  for (const f of plan.files) say(f.error ? f.error : `${f.client}: ${f.file} (${f.servers.length} servers)`);
  for (const s of plan.servers) {
    const what = s.tools ? `${s.tools.length} tools` : (s.error ?? s.note ?? s.kind);
    say(`  ${s.name} (${s.client}): ${what}`);
  }
}

/** Open the page in the user's browser; the address is printed either way. */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener: the printed address is enough.
  }
}
