// Usage errors that say how to fix them: an unknown command gets the nearest
// names, and a server command written without `--` gets the command line
// with `--` where it belongs.
import type { Command, CommanderError } from 'commander';
import { didYouMean } from '../text/suggest.js';

const RUN_FOR_INSPECTOR = "(for clients that strip '--', such as the MCP Inspector: toolgate run [options] <server command...>)";

/** The message for `toolgate WORD ...` when WORD is no command. */
export function unknownCommand(word: string, commands: readonly string[]): string {
  const suggestion = didYouMean(word, commands);
  if (suggestion) return `unknown command '${word}'${suggestion}`;
  return `unknown command '${word}'; to start a server behind a policy, put it after '--': toolgate -c policy.yaml -- ${word} ...\nSee toolgate --help for the commands.`;
}

/**
 * Where the server command starts in the bare gateway's arguments: the first
 * word that is neither an option nor an option's value. -1 when there is none
 * before `--`.
 */
export function serverCommandStart(program: Command, args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return -1;
    if (!arg.startsWith('-') || arg === '-') return i;
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    const option = program.options.find((o) => o.long === name || o.short === name);
    if (option && (option.required || option.optional) && !arg.includes('=')) i++;
  }
  return -1;
}

/** `args` with `--` before the server command, as a command line to copy. */
function withDashes(args: readonly string[], start: number): string {
  const fixed = [...args.slice(0, start), '--', ...args.slice(start)];
  return `toolgate ${fixed.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')}`;
}

/** The message for a bare gateway whose server command came without `--`. */
export function serverWithoutDashes(program: Command, args: readonly string[], commands: readonly string[]): string {
  const start = serverCommandStart(program, args);
  const word = args[start] ?? '';
  const suggestion = didYouMean(word, commands);
  return [`'${word}' is not an option${suggestion}; a server command goes after '--':`, `  ${withDashes(args, start)}`, RUN_FOR_INSPECTOR].join('\n');
}

/** A hint after commander's own error for the bare gateway, or undefined. */
export function usageHint(err: CommanderError, program: Command, args: readonly string[]): string | undefined {
  if (err.code !== 'commander.unknownOption' || args.includes('--')) return undefined;
  const start = serverCommandStart(program, args);
  if (start < 0) return undefined;
  return `Did you forget '--' before the server command? The server's own flags go after it:\n  ${withDashes(args, start)}\n${RUN_FOR_INSPECTOR}`;
}
