#!/usr/bin/env node
// The toolgate command line. Each command lives in its own file and only wires
// objects together; the work happens in the rooms under src/.
//
// A server is started only from what follows `--` (or from `toolgate run`,
// whose first word starts the server command): an unknown or misspelt word is
// a usage error with a suggestion, never a process to spawn.
import { discardPrestarted, prestart } from './prestart.js';
import type { RunOptions } from './run.js';

// The server of a plain stdio gateway starts first (see prestart.ts); the rest loads while it boots.
prestart(process.argv);

async function main(argv: string[]): Promise<void> {
  const [{ buildProgram, CommanderError, SUBCOMMANDS, USAGE_ERROR }, { serverCommandStart, serverWithoutDashes, usageHint, unknownCommand }] =
    await Promise.all([import('./commands.js'), import('./usage.js')]);
  let args = argv.slice(2);
  const first = args[0];
  // `toolgate help [command...]` is `toolgate [command...] --help`.
  if (first === 'help') args = [...args.slice(1), '--help'];
  const word = args[0];
  const dashes = args.indexOf('--');
  const beforeDashes = dashes < 0 ? args : args.slice(0, dashes);
  const wantsHelp = beforeDashes.includes('--help') || beforeDashes.includes('-h');

  if (word !== undefined && !word.startsWith('-') && !(word in SUBCOMMANDS)) {
    process.stderr.write(`toolgate: ${unknownCommand(word, Object.keys(SUBCOMMANDS))}\n`);
    process.exitCode = USAGE_ERROR;
    return;
  }
  if (args.length === 0) {
    // No command at all: the overview, as a usage error (nothing was asked for).
    (await buildProgram()).outputHelp({ error: true });
    process.exitCode = USAGE_ERROR;
    return;
  }
  const gateway = word === undefined || word.startsWith('-') || word === 'run';
  if (!gateway) quietOnClosedStdout();

  // The bare gateway loads no subcommand: a server named like one (`-- run`) stays the server.
  const program = await buildProgram(word !== undefined && word in SUBCOMMANDS ? [word] : wantsHelp ? undefined : []);
  program.action(async (command: string[], opts: RunOptions) => {
    if (serverCommandStart(program, args) >= 0) {
      process.stderr.write(`toolgate: ${serverWithoutDashes(program, args, Object.keys(SUBCOMMANDS))}\n`);
      process.exitCode = USAGE_ERROR;
      return;
    }
    const { runGateway } = await import('./run.js');
    await runGateway(command, opts);
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Commander printed the error (or the help, or the version) already.
    if (err.exitCode !== 0) {
      const hint = gateway ? usageHint(err, program, args) : undefined;
      if (hint) process.stderr.write(`${hint}\n`);
      process.exitCode = USAGE_ERROR;
    }
  }
  await discardPrestarted();
}

/**
 * `toolgate pins list | head`: a reader that goes away is not an error. The
 * stdio gateway is left out: there stdout is the protocol, and its channel
 * handles a client that goes away (ending the server too).
 */
function quietOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).catch((err: unknown) => {
  void discardPrestarted();
  process.stderr.write(`toolgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = process.exitCode || 1;
  // A command that failed must end even if something it opened (a watcher, a timer) would keep it alive.
  setTimeout(() => process.exit(process.exitCode), 1000).unref();
});
