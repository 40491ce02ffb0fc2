// Shared helpers for end-to-end tests: real processes only (the built toolgate
// binary, real MCP servers, the official SDK client).
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
/** The `toolgate` binary as installed: the bundle (scripts/postbuild.mjs). */
export const bin = join(root, 'dist', 'bundle', 'cli', 'main.js');
export const demoServer = join(root, 'dist', 'examples', 'demo-server.js');
export const everythingServer = join(root, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');

export function tempDir(prefix = 'toolgate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write a policy into a fresh directory; returns its path and a state dir beside it. */
export function writePolicy(yaml: string, name = 'policy.yaml'): { policy: string; stateDir: string; dir: string } {
  const dir = tempDir();
  const policy = join(dir, name);
  writeFileSync(policy, yaml);
  return { policy, stateDir: join(dir, 'state'), dir };
}

export function gatewayArgs(policy: string, stateDir: string, server: string[], extra: string[] = []): string[] {
  return [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', ...extra, '--', ...server];
}

/** The official SDK client connected through the toolgate binary. */
export async function connectClient(
  policy: string,
  stateDir: string,
  server: string[],
  opts: { capabilities?: Record<string, unknown>; setup?: (c: Client) => void; extra?: string[] } = {},
): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: gatewayArgs(policy, stateDir, server, opts.extra),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'e2e', version: '1.0.0' }, { capabilities: opts.capabilities ?? {} });
  opts.setup?.(client);
  await client.connect(transport);
  return { client, transport };
}

/** Every file below `dir` whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hits.push(...filesContaining(path, needle));
    else if (entry.isFile() && readFileSync(path).includes(needle)) hits.push(path);
  }
  return hits;
}

export function textOf(result: unknown): string {
  const content = ((result as { content?: unknown }).content ?? []) as Array<{ type: string; text?: string }>;
  return content.map((c) => c.text ?? '').join('');
}

/**
 * Gateways a test started and did not stop (it failed before its close): killed
 * when the file's tests end, so a failure is reported instead of the file's
 * process waiting on their pipes forever.
 */
const liveGateways = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const p of liveGateways) p.kill('SIGKILL');
});

/** A raw line-level peer of the gateway, for messages the SDK client would refuse to send. */
export class RawGateway {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly messages: unknown[] = [];
  private waiters: Array<{ match: (m: unknown) => boolean; resolve: (m: unknown) => void }> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.proc = spawn(process.execPath, args, { env, stdio: 'pipe' });
    liveGateways.add(this.proc);
    this.proc.once('exit', () => liveGateways.delete(this.proc));
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const rl = createInterface({ input: this.proc.stdout });
    rl.on('line', (line) => {
      const msg = JSON.parse(line) as unknown;
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  send(value: unknown): void {
    this.proc.stdin.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
  }

  // 30 s: a limit on waiting, not a pass condition; two test files at once on 2 cores can take 10 s to start a gateway.
  waitFor(match: (m: unknown) => boolean, timeoutMs = 30_000): Promise<any> {
    const found = this.messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.messages)}\nstderr: ${this.stderr}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  response(id: string | number | null): Promise<any> {
    return this.waitFor((m) => typeof m === 'object' && m !== null && !Array.isArray(m) && (m as { id?: unknown }).id === id && !('method' in m));
  }

  async initialize(): Promise<void> {
    this.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await this.response('init');
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async close(): Promise<void> {
    this.proc.stdin.end();
    await this.exited;
  }
}

/** Every JSONL event a gateway wrote in `stateDir` (the sink flushes within 50 ms). */
export function readEvents(stateDir: string): Array<Record<string, any>> {
  const dir = join(stateDir, 'events');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/**
 * The `create_charge` entry of a policy's `tools:` map that the approval tests
 * share: charges over 1000 (cents) are held for a human. `approval` is the
 * inside of the rule's `approval: { ... }`.
 */
export function bigChargesNeedApproval(approval = 'timeout: 2m'): string {
  return `  create_charge:
    rules:
      - name: "big charges"
        action: require_approval
        conditions:
          - { path: "args.amount", op: gt, value: 1000 }
        on_deny: "Charges over $10.00 need a human"
        approval: { ${approval} }
`;
}

/** Run the built binary to its end; a non-zero exit is a result, not an exception. */
export async function runToolgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [bin, ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
