// Test support: a real Redis Cluster (3 masters, no replicas) from
// redis-server processes on free loopback ports in a temp dir, formed with
// `redis-cli --cluster create`, torn down completely afterwards (the processes
// are killed and the dir removed, also when the test process exits early).
// Only tests import it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** undefined when redis-server and redis-cli are both here, else why not. */
export function redisClusterToolsMissing(): string | undefined {
  for (const bin of ['redis-server', 'redis-cli']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (r.status !== 0) return `${bin} is not installed (${r.error?.message ?? `exit ${r.status}`})`;
  }
  return undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port P with P and P + 10000 free (a node's cluster bus listens on P + 10000).
 * Drawn below the usual ephemeral range, so outgoing connections rarely take it meanwhile.
 */
async function freeNodePort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(p) || taken.has(p + 10000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) {
      taken.add(p);
      taken.add(p + 10000);
      return p;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

// Every cluster still running when the process exits is killed (a failed or interrupted test).
const live = new Set<OwnRedisCluster>();
process.once('exit', () => {
  for (const c of live) c.killNow();
});

export interface OwnRedisClusterOptions {
  masters?: number;
  /** Nodes speak TLS only (clients and the cluster bus), with this certificate (also the CA). */
  tls?: { cert: string; key: string };
}

export class OwnRedisCluster {
  readonly ports: number[] = [];
  readonly dir: string;
  readonly tls: boolean;
  private readonly children: ChildProcess[] = [];

  private constructor(readonly tlsFiles: OwnRedisClusterOptions['tls']) {
    this.dir = mkdtempSync(join(tmpdir(), 'toolgate-cluster-'));
    this.tls = tlsFiles !== undefined;
    live.add(this);
  }

  /** Start the nodes, form the cluster and wait until every node says cluster_state:ok (a few seconds). */
  static async start(o: OwnRedisClusterOptions = {}): Promise<OwnRedisCluster> {
    const c = new OwnRedisCluster(o.tls);
    try {
      const taken = new Set<number>();
      for (let i = 0; i < (o.masters ?? 3); i++) c.ports.push(await freeNodePort(taken));
      await Promise.all(c.ports.map((p) => c.startNode(p)));
      await c.create();
      await c.waitUntilOk();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** The DSN of the first node as the seed. */
  url(auth = ''): string {
    return `${this.tls ? 'rediss+cluster' : 'redis+cluster'}://${auth}127.0.0.1:${this.ports[0]}`;
  }

  /** A plain connection to one node (for inspecting keys and slots). */
  node(port: number): Redis {
    const r = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(this.tlsFiles ? { tls: { ca: readFileSync(this.tlsFiles.cert) } } : {}),
    });
    r.on('error', () => undefined);
    return r;
  }

  /** Every key on every node, with the slot each hashes to. */
  async keys(pattern = '*'): Promise<Array<{ key: string; port: number; slot: number }>> {
    const out: Array<{ key: string; port: number; slot: number }> = [];
    for (const port of this.ports) {
      const r = this.node(port);
      try {
        await r.connect();
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
          cursor = next;
          for (const key of keys) out.push({ key, port, slot: Number(await r.cluster('KEYSLOT', key)) });
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    }
    return out;
  }

  /** Kill every node (SIGKILL) and remove the temp dir. */
  async stop(): Promise<void> {
    const gone = this.children.filter((ch) => ch.exitCode === null && ch.signalCode === null).map((ch) => new Promise((r) => ch.once('exit', r)));
    this.killNow();
    await Promise.all(gone);
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Kill one node (SIGKILL, as abrupt as a crash). */
  async killNode(port: number): Promise<void> {
    const child = this.children[this.ports.indexOf(port)];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  /** The port of the master serving a slot. */
  async ownerOf(slot: number): Promise<number> {
    const r = this.node(this.ports[0]!);
    try {
      await r.connect();
      const ranges = (await r.cluster('SLOTS')) as unknown as Array<[number, number, [string, number, ...unknown[]]]>;
      const hit = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!hit) throw new Error(`slot ${slot} is not served`);
      return Number(hit[2][1]);
    } finally {
      r.disconnect();
    }
  }

  /** Run one command on every node (e.g. ACL SETUSER, SCRIPT FLUSH: not propagated in a cluster). */
  async onEveryNode(...command: [string, ...Array<string | number>]): Promise<void> {
    for (const port of this.ports) {
      const r = this.node(port);
      try {
        await r.connect();
        await r.call(...command);
      } finally {
        r.disconnect();
      }
    }
  }

  /** Synchronous part of stop (also run at process exit). */
  killNow(): void {
    for (const ch of this.children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
  }

  private async startNode(port: number): Promise<void> {
    const listen = this.tlsFiles
      ? ['--port', '0', '--tls-port', String(port), '--tls-cluster', 'yes', '--tls-cert-file', this.tlsFiles.cert, '--tls-key-file', this.tlsFiles.key, '--tls-ca-cert-file', this.tlsFiles.cert, '--tls-auth-clients', 'no']
      : ['--port', String(port)];
    const child = spawn(
      'redis-server',
      [...listen, '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no', '--dir', this.dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (/Ready to accept connections/i.test(out)) return;
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`cluster node on port ${port} did not start: ${out.slice(-500)}`);
  }

  private async create(): Promise<void> {
    const tls = this.tlsFiles ? ['--tls', '--cacert', this.tlsFiles.cert] : [];
    const args = [...tls, '--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'];
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0 || !/All 16384 slots covered/.test(out)) throw new Error(`redis-cli --cluster create failed (exit ${code}): ${out.slice(-800)}`);
  }

  /** Until CLUSTER INFO says cluster_state:ok on every node (gossip may lag the create). */
  private async waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 20_000;
    let last = '';
    for (const port of this.ports) {
      const r = this.node(port);
      try {
        await r.connect();
        for (;;) {
          last = String(await r.cluster('INFO'));
          if (/cluster_state:ok/.test(last)) break;
          if (Date.now() > deadline) throw new Error(`cluster not ok on port ${port} after 20 s: ${last.split('\n', 3).join(' ')}`);
          await sleep(100);
        }
      } finally {
        r.disconnect();
      }
    }
  }
}
