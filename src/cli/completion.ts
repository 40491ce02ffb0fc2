// `toolgate completion bash|zsh|fish`: a shell completion script written from
// the command tree itself, so it always knows every command and option.
import { Argument, type Command } from 'commander';
import { commandPath, walk } from './command-tree.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** `buildProgram` builds the whole command tree (commands.ts passes it in). */
export function registerCompletion(program: Command, buildProgram: () => Promise<Command>): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action(async (shell: (typeof SHELLS)[number]) => {
      const tree = await buildProgram();
      process.stdout.write(shell === 'fish' ? fishScript(tree) : shell === 'zsh' ? zshScript(tree) : bashScript(tree));
    });
}

const flags = (cmd: Command) => [...cmd.options.flatMap((o) => [o.short, o.long]).filter((f): f is string => !!f), '--help'];

export function bashScript(program: Command): string {
  const commands = [...walk(program)];
  const paths = commands.map(commandPath).filter((p) => p !== '');
  const cases = commands.map((c) => `    "${commandPath(c)}") cmds="${c.commands.map((s) => s.name()).join(' ')}" opts="${flags(c).join(' ')}" ;;`);
  return `# toolgate completion for bash: source it, or save it as /etc/bash_completion.d/toolgate
_toolgate() {
  local cur=\${COMP_WORDS[COMP_CWORD]} path="" cmds="" opts="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    # After --: the server command, completed like any command line.
    if [[ $w == -- ]]; then return 0; fi
    case "\${path:+$path }$w" in
      ${paths.map((p) => `"${p}"`).join('|')}) path="\${path:+$path }$w" ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
  esac
  # Options after a dash, else subcommands; nothing matching falls back to file names.
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -W "$cmds" -- "$cur")); fi
}
complete -o default -F _toolgate toolgate
`;
}

export function zshScript(program: Command): string {
  return `#compdef toolgate
# toolgate completion for zsh: save it as _toolgate in a directory of $fpath, or source it
autoload -U +X bashcompinit && bashcompinit
${bashScript(program)}`;
}

const fishQuote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function fishScript(program: Command): string {
  const lines = ['# toolgate completion for fish: save it as ~/.config/fish/completions/toolgate.fish'];
  for (const cmd of walk(program)) {
    const path = commandPath(cmd);
    const words = path === '' ? [] : path.split(' ');
    const under = words.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${words.at(-1)}`;
    const children = cmd.commands.map((c) => c.name());
    const here = children.length > 0 ? `${under}; and not __fish_seen_subcommand_from ${children.join(' ')}` : under;
    for (const sub of cmd.commands) lines.push(`complete -c toolgate -f -n ${fishQuote(here)} -a ${sub.name()} -d ${fishQuote(sub.description())}`);
    for (const o of cmd.options) {
      const parts = ['complete -c toolgate', `-n ${fishQuote(here)}`];
      if (o.short) parts.push(`-s ${o.short.slice(1)}`);
      if (o.long) parts.push(`-l ${o.long.slice(2)}`);
      if (o.required || o.optional) parts.push('-r');
      if (o.argChoices) parts.push(`-f -a ${fishQuote(o.argChoices.join(' '))}`);
      parts.push(`-d ${fishQuote(o.description)}`);
      lines.push(parts.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}
