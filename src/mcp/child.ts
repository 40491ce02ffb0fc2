// An MCP server run as a child process: its stdin/stdout become a channel,
// its stderr passes through, signals are forwarded, and ending it escalates
// from closing stdin to SIGTERM to SIGKILL.
//
// The command is found as a shell would find it, on every platform: on
// Windows `npx` is `npx.cmd` (PATHEXT), which Node's spawn does not find and
// which must run through cmd.exe with its own quoting; cross-spawn does that
// (the MCP SDK's own stdio client uses it too) and is plain spawn elsewhere.
import type { ChildProcess } from 'node:child_process';
import spawn from 'cross-spawn';
import { constants } from 'node:os';
import { StdioChannel } from './stdio.js';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildServerOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long to wait after closing stdin, and again after SIGTERM. */
  graceMs?: number;
}

export class ChildServer {
  readonly channel: StdioChannel;
  readonly exited: Promise<ChildExit>;
  private readonly proc: ChildProcess;
  private exit: ChildExit | undefined;
  private readonly graceMs: number;

  constructor(opts: ChildServerOptions) {
    this.graceMs = opts.graceMs ?? 2000;
    this.proc = spawn(opts.command, opts.args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise<ChildExit>((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.proc.once('error', (err) => {
        process.stderr.write(`toolgate: cannot start ${opts.command}: ${err.message}\n`);
        this.exit = { code: 127, signal: null };
        resolve(this.exit);
      });
    });
    this.channel = new StdioChannel(this.proc.stdout!, this.proc.stdin!);
    // A write to a child that is gone must not crash the gateway.
    this.proc.stdin!.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exit === undefined) this.proc.kill(sig);
  }

  /** End the child: close stdin, then SIGTERM, then SIGKILL, each after the grace period. */
  async stop(): Promise<ChildExit> {
    if (this.exit) return this.exit;
    this.proc.stdin?.end();
    if (await this.waitFor(this.graceMs)) return this.exit!;
    this.signal('SIGTERM');
    if (await this.waitFor(this.graceMs)) return this.exit!;
    this.signal('SIGKILL');
    return this.exited;
  }

  private waitFor(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      void this.exited.then(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}

/** The exit status a wrapper should use for a child's exit (128 + signal number, as shells do). */
export function exitStatus(exit: ChildExit): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? (constants.signals[exit.signal] ?? 1) : 1);
}
