// Test helper (not a test itself): runs sqlite-hammer-child.js processes against one
// SQLite file, starts them together, and collects what each reserved. Used by
// the multi-process tests of sqlite.test.ts and sqlite-lease.test.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildResult {
  ok: number;
  refused: number;
}

/** Children `indexes` each try `attempts` reservations at time `now`; resolves with their counts in order. */
export async function runHammerChildren(
  path: string,
  indexes: number[],
  o: { limit: number; attempts: number; now: number; leaseMax?: number; mode?: 'close' | 'crash' },
): Promise<ChildResult[]> {
  const script = fileURLToPath(new URL('./sqlite-hammer-child.js', import.meta.url));
  const children = indexes.map((i) => {
    const child = spawn(
      process.execPath,
      [script, path, String(o.limit), String(o.attempts), String(i), String(o.now), String(o.leaseMax ?? 0), o.mode ?? 'close'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('ready\n')) resolve();
      });
    });
    const done = new Promise<ChildResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        const crashed = o.mode === 'crash' && signal === 'SIGKILL';
        if (code !== 0 && !crashed) return reject(new Error(`child ${i} exited with ${code ?? signal}: ${out}`));
        const last = out.trim().split('\n').pop()!;
        resolve(JSON.parse(last) as ChildResult);
      });
    });
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.write('go\n');
  return Promise.all(children.map((c) => c.done));
}
