// The stdio gateway's server, started before the command line is even parsed:
// its boot is the longest part of start-up, and loading the command-line
// library first would only delay it. Only a command line that is plainly the
// stdio gateway qualifies; run.ts takes the child when the parsed command is
// the same, and a child nobody takes is ended. The server reads nothing but
// what the gateway writes, and that waits for the policy as before.
import { ChildServer } from '../mcp/index.js';

/** Flags that make the command line something other than a plain stdio gateway start (before `--`). */
const DISQUALIFYING = ['-h', '--help', '-V', '--version', '--upstream', '--transport', '--identity'];
/** The gateway's only flag without a value: every other one takes the next word. */
const NO_VALUE = ['--insecure-no-auth'];

/** Is every word before `--` a flag or a flag's value? A stray word is a usage error (see usage.ts), not a start. */
function onlyOptions(flags: readonly string[]): boolean {
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (!f.startsWith('-')) return false;
    if (!f.includes('=') && !NO_VALUE.includes(f)) i++;
  }
  return true;
}

/** The server command when `argv` plainly starts the stdio gateway (`toolgate [run] -c FILE ... -- cmd ...`); undefined otherwise. */
export function earlyCommand(argv: readonly string[], env: NodeJS.ProcessEnv): string[] | undefined {
  const dashes = argv.indexOf('--');
  if (dashes < 2 || dashes === argv.length - 1) return undefined;
  const flags = argv.slice(2, dashes);
  const first = flags[0];
  if (first === undefined || (first !== 'run' && !first.startsWith('-'))) return undefined;
  if (flags.some((f) => DISQUALIFYING.some((d) => f === d || f.startsWith(`${d}=`)))) return undefined;
  if (!flags.some((f) => f === '-c' || f === '--config' || f.startsWith('--config='))) return undefined;
  if (!onlyOptions(first === 'run' ? flags.slice(1) : flags)) return undefined;
  // A grant may refuse to start: then no server should have been started either.
  if (env.TOOLGATE_IDENTITY !== undefined && env.TOOLGATE_IDENTITY.trim() !== '') return undefined;
  return argv.slice(dashes + 1);
}

let early: { command: string[]; child: ChildServer } | undefined;

/** Start the server now if `argv` plainly asks for the stdio gateway. */
export function prestart(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const command = earlyCommand(argv, env);
  if (!command) return;
  const [cmd, ...args] = command as [string, ...string[]];
  early = { command, child: new ChildServer({ command: cmd, args }) };
  // Whatever ends this process (a usage error exits at once), an untaken child goes too.
  process.once('exit', () => early?.child.signal('SIGTERM'));
}

/** The early child when it runs exactly `command`; another one is ended. */
export function takePrestarted(command: readonly string[]): ChildServer | undefined {
  const e = early;
  early = undefined;
  if (!e) return undefined;
  if (e.command.length === command.length && e.command.every((x, i) => x === command[i])) return e.child;
  void e.child.stop();
  return undefined;
}

/** End an early child that nothing took (the command line turned out to be something else). */
export async function discardPrestarted(): Promise<void> {
  const e = early;
  early = undefined;
  await e?.child.stop();
}
