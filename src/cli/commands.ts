// The command tree, built on demand: each command lives in its own file and is
// imported only when the command line names it (or help and completion need
// them all). The bare gateway (`toolgate -c p.yaml -- cmd`) is on every
// agent's start-up path and must not pay for the rest.
import { Command, CommanderError } from 'commander';
import { commandPath, walk } from './command-tree.js';
import { EXAMPLES } from './examples.js';
import { addRunOptions, registerRun } from './run.js';
import { VERSION } from './version.js';

type Register = (program: Command) => void;

export const SUBCOMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => registerRun,
  validate: async () => (await import('./validate.js')).registerValidate,
  explain: async () => (await import('./explain.js')).registerExplain,
  test: async () => (await import('./test.js')).registerTest,
  convert: async () => (await import('./convert.js')).registerConvert,
  demo: async () => (await import('./demo.js')).registerDemo,
  classify: async () => (await import('./classify.js')).registerClassify,
  scan: async () => (await import('./scan.js')).registerScan,
  init: async () => (await import('./init.js')).registerInit,
  pins: async () => (await import('./pins.js')).registerPins,
  grant: async () => (await import('./grant.js')).registerGrant,
  auth: async () => (await import('./auth.js')).registerAuth,
  approvals: async () => (await import('./approvals.js')).registerApprovals,
  audit: async () => (await import('./audit.js')).registerAudit,
  status: async () => (await import('./status.js')).registerStatus,
  catalog: async () => (await import('./catalog.js')).registerCatalog,
  dashboard: async () => (await import('./dashboard.js')).registerDashboard,
  serve: async () => (await import('./serve.js')).registerServe,
  // Completion gets the tree builder as a parameter, so it does not import this file back.
  completion: async () => {
    const { registerCompletion } = await import('./completion.js');
    return (program) => registerCompletion(program, buildProgram);
  },
};

/** Usage errors (unknown command or option, missing argument) exit with this status. */
export const USAGE_ERROR = 2;

/** The program with the gateway's own flags, and the subcommands `names` (all when undefined). */
export async function buildProgram(names: readonly string[] = Object.keys(SUBCOMMANDS)): Promise<Command> {
  const program = new Command('toolgate')
    .description('Deterministic policy gateway for the Model Context Protocol')
    .version(VERSION)
    .usage('[options] -- <server command...>\n       toolgate <command> [options]')
    .enablePositionalOptions();
  addRunOptions(program);
  for (const name of names) (await SUBCOMMANDS[name]!())(program);
  for (const cmd of walk(program)) {
    // Errors are thrown, not exited on, so main can add a hint and choose the status.
    cmd.exitOverride();
    const examples = EXAMPLES[commandPath(cmd)];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  }
  return program;
}

export { CommanderError };
