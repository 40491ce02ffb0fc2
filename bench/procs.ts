// Process helpers for the benchmarks: a plain stdio JSON-RPC client, waiting
// for a listener's URL, resident memory of a process tree.
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** A plain line-level JSON-RPC client over a child's stdio: the cheapest possible client. */
export class LineClient {
  private proc: ChildProcessWithoutNullStreams;
  private waiting = new Map<number | string, (m: unknown) => void>();
  private nextId = 1;

  constructor(command: readonly string[]) {
    this.proc = spawn(command[0]!, command.slice(1), { stdio: 'pipe' });
    this.proc.stderr.resume();
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { id?: number | string };
      if (m.id !== undefined) {
        const w = this.waiting.get(m.id);
        if (w) {
          this.waiting.delete(m.id);
          w(m);
        }
      }
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  request(method: string, params: unknown): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    });
  }

  async initialize(): Promise<void> {
    await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
    this.proc.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin.end();
    await exited;
  }
}

/** Resolves with the first http(s) URL a process prints (stdout or stderr); rejects if it exits first or after `ms`. */
export function waitForUrl(proc: ChildProcess, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString('utf8');
      const m = /(https?:\/\/[^\s"']+)/.exec(seen);
      if (m) {
        done();
        resolve(m[1]!.replace(/[.,)]$/, ''));
      }
      if (seen.length > 65536) seen = seen.slice(-4096);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`process exited (${code}) before printing its URL: ${seen.slice(-500)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no URL after ${ms} ms: ${seen.slice(-500)}`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      proc.stdout?.off('data', onData);
      proc.stderr?.off('data', onData);
      proc.off('exit', onExit);
      // Keep draining so the child never blocks on a full pipe.
      proc.stdout?.resume();
      proc.stderr?.resume();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', onExit);
  });
}

/**
 * CPU time (user + system, ms) a process has used so far, all its threads
 * (/proc/<pid>/stat, in clock ticks of 10 ms: Linux's USER_HZ is 100).
 */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Resident memory (kB) of one process. */
export function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** A process and all its descendants (children a proxy started per session count too). */
function treeOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const stack = [pid];
  for (let guard = 0; stack.length > 0 && guard < 100_000; guard++) {
    const p = stack.pop()!;
    tree.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return tree;
}

/** Resident memory (kB) of a process and all its descendants. */
export function treeRssKb(pid: number): number {
  return treeOf(pid).reduce((sum, p) => sum + rssKb(p), 0);
}

/** CPU time (ms) used so far by a process's descendants, not by the process itself (the servers a front end started). */
export function descendantsCpuMs(pid: number): number {
  return treeOf(pid)
    .slice(1)
    .reduce((sum, p) => sum + (cpuMs(p) || 0), 0);
}

/** Count of a process's descendants. */
export function descendants(pid: number): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) n++;
    } catch {
      // gone
    }
  }
  return n;
}
