// Test support: a real Redis Cluster (3 masters; optionally a replica for
// each) from redis-server processes on free loopback ports in a temp dir,
// formed with `redis-cli --cluster create`, torn down completely afterwards
// (the processes are killed and the dir removed, also when the test process
// exits early). Tests can move a slot to another master (a live reshard),
// promote a replica (CLUSTER FAILOVER) or kill a node and wait for the
// cluster's own failover. Only tests import it.
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
  /** Replicas per master (default 0): 1 gives 3 masters + 3 replicas, for failover tests. */
  replicas?: number;
  /** cluster-node-timeout, ms (default 5000): how long a silent master takes to be failed over. */
  nodeTimeoutMs?: number;
  /** Nodes speak TLS only (clients and the cluster bus), with this certificate (also the CA). */
  tls?: { cert: string; key: string };
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  master: boolean;
  /** Marked failed by the cluster (fail or pfail). */
  failing: boolean;
  /** A replica's master. */
  masterId?: string;
}

export class OwnRedisCluster {
  /** Every node, masters and replicas (which is which is up to `redis-cli --cluster create`: see nodes()). */
  readonly ports: number[] = [];
  readonly dir: string;
  readonly tls: boolean;
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly tlsFiles: OwnRedisClusterOptions['tls'],
    private readonly nodeTimeoutMs: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'toolgate-cluster-'));
    this.tls = tlsFiles !== undefined;
    live.add(this);
  }

  /** Start the nodes, form the cluster and wait until every node says cluster_state:ok (a few seconds). */
  static async start(o: OwnRedisClusterOptions = {}): Promise<OwnRedisCluster> {
    const c = new OwnRedisCluster(o.tls, o.nodeTimeoutMs ?? 5000);
    const replicas = o.replicas ?? 0;
    try {
      const taken = new Set<number>();
      for (let i = 0; i < (o.masters ?? 3) * (1 + replicas); i++) c.ports.push(await freeNodePort(taken));
      await Promise.all(c.ports.map((p) => c.startNode(p)));
      await c.create(replicas);
      await c.waitUntilOk();
      await c.waitForRoles(o.masters ?? 3, replicas);
      if (replicas > 0) await c.waitForReplicaLinks();
      return c;
    } catch (err) {
      await c.stop();
      throw err;
    }
  }

  /** The DSN naming one node as the seed (default: the first). */
  url(auth = '', seedPort = this.ports[0]!): string {
    return `${this.tls ? 'rediss+cluster' : 'redis+cluster'}://${auth}127.0.0.1:${seedPort}`;
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

  /** Whether a node's process is still running (not killed). */
  running(port: number): boolean {
    const child = this.children[this.ports.indexOf(port)];
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Every key on every live master, with the slot each hashes to (replicas hold copies: not listed). */
  async keys(pattern = '*'): Promise<Array<{ key: string; port: number; slot: number }>> {
    const out: Array<{ key: string; port: number; slot: number }> = [];
    const masters = (await this.nodes()).filter((n) => n.master && !n.failing && this.running(n.port));
    for (const { port } of masters) {
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

  /** The port of the master serving a slot, as a node sees it (default: the first live node). */
  async ownerOf(slot: number, askPort?: number): Promise<number> {
    return this.withNode(askPort ?? this.livePort(), async (r) => {
      const ranges = (await r.cluster('SLOTS')) as unknown as Array<[number, number, [string, number, ...unknown[]]]>;
      const hit = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!hit) throw new Error(`slot ${slot} is not served`);
      return Number(hit[2][1]);
    });
  }

  /** The slot a key hashes to. */
  async slotOf(key: string): Promise<number> {
    return this.withNode(this.livePort(), async (r) => Number(await r.cluster('KEYSLOT', key)));
  }

  /** Every node as a live node sees it (CLUSTER NODES). */
  async nodes(): Promise<ClusterNodeInfo[]> {
    const text = await this.withNode(this.livePort(), async (r) => String(await r.cluster('NODES')));
    return parseClusterNodes(text);
  }

  /** The port of a master's live replica. */
  async replicaOf(masterPort: number): Promise<number> {
    const all = await this.nodes();
    const master = all.find((n) => n.port === masterPort && n.master);
    const replica = master && all.find((n) => n.masterId === master.id && !n.failing && this.running(n.port));
    if (!replica) throw new Error(`no replica of ${masterPort}: ${JSON.stringify(all)}`);
    return replica.port;
  }

  /**
   * Until the replica has applied everything its master holds now (replication
   * is asynchronous: what a master acknowledged but has not sent yet is lost
   * when it dies). Compares replication offsets, so writes made by any client count.
   */
  async waitForReplication(masterPort: number, timeoutMs = 60_000): Promise<void> {
    const replicaPort = await this.replicaOf(masterPort);
    const target = await this.withNode(masterPort, async (r) => replOffset(String(await r.info('replication')), 'master_repl_offset'));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.withNode(replicaPort, async (r) => String(await r.info('replication')));
      if (/master_link_status:up/.test(info) && replOffset(info, 'slave_repl_offset') >= target) return;
      if (Date.now() > deadline) throw new Error(`replica ${replicaPort} did not reach offset ${target} of ${masterPort} within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  /**
   * A manual, graceful failover: the replica asks its master to stop writes,
   * catches up, and takes over (CLUSTER FAILOVER). Resolves when every live
   * node names the replica as the master of `slot`.
   */
  async failover(replicaPort: number, slot: number, timeoutMs = 60_000): Promise<void> {
    await this.withNode(replicaPort, (r) => r.cluster('FAILOVER'));
    await this.waitForOwner(slot, replicaPort, timeoutMs);
  }

  /** Until every live node names `port` as the master serving `slot`. */
  async waitForOwner(slot: number, port: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const asked of this.ports.filter((p) => this.running(p))) {
      for (;;) {
        const owner = await this.ownerOf(slot, asked).catch(() => undefined);
        if (owner === port) break;
        if (Date.now() > deadline) throw new Error(`node ${asked} still names ${owner} as the owner of slot ${slot}, not ${port}, after ${timeoutMs} ms`);
        await sleep(50);
      }
    }
  }

  /**
   * Move a slot, keys and all, to another master while clients use it: the
   * steps of `redis-cli --cluster reshard` (IMPORTING / MIGRATING, MIGRATE key
   * by key, then SETSLOT NODE on the target, the source and the other masters).
   * `afterBatch` runs after each MIGRATE, while the slot is half moved: clients
   * then get ASK (keys already gone) or TRYAGAIN (keys on both sides).
   */
  async moveSlot(
    slot: number,
    toPort: number,
    /** `first`: keys migrated alone before the rest (to split a request from the keys it reads). */
    o: { batch?: number; first?: string[]; afterBatch?: (moved: number) => Promise<void> } = {},
  ): Promise<{ from: number; moved: number }> {
    if (this.tlsFiles) throw new Error('moveSlot: MIGRATE over TLS is not set up in this fixture');
    const fromPort = await this.ownerOf(slot);
    if (fromPort === toPort) throw new Error(`slot ${slot} is on ${toPort} already`);
    const id = async (port: number) => this.withNode(port, async (r) => String(await r.cluster('MYID')));
    const [fromId, toId] = [await id(fromPort), await id(toPort)];
    await this.withNode(toPort, (r) => r.cluster('SETSLOT', slot, 'IMPORTING', fromId));
    await this.withNode(fromPort, (r) => r.cluster('SETSLOT', slot, 'MIGRATING', toId));
    let moved = 0;
    await this.withNode(fromPort, async (r) => {
      for (let first = o.first; ; first = undefined) {
        const keys = first ?? ((await r.cluster('GETKEYSINSLOT', slot, o.batch ?? 1)) as string[]);
        if (keys.length === 0) break;
        await r.call('MIGRATE', '127.0.0.1', toPort, '', 0, 5000, 'KEYS', ...keys);
        moved += keys.length;
        await o.afterBatch?.(moved);
      }
    });
    // Target first: it bumps its config epoch and owns the slot before the source lets go.
    await this.withNode(toPort, (r) => r.cluster('SETSLOT', slot, 'NODE', toId));
    await this.withNode(fromPort, (r) => r.cluster('SETSLOT', slot, 'NODE', toId));
    for (const n of await this.nodes()) {
      if (n.master && !n.failing && n.port !== toPort && n.port !== fromPort) await this.withNode(n.port, (r) => r.cluster('SETSLOT', slot, 'NODE', toId));
    }
    await this.waitForOwner(slot, toPort);
    return { from: fromPort, moved };
  }

  /** How many errors of a kind (TRYAGAIN, ASK, ...) a node has answered since it started (INFO errorstats). */
  async errorCount(port: number, kind: string): Promise<number> {
    const info = await this.withNode(port, (r) => r.info('errorstats'));
    return Number(new RegExp(`^errorstat_${kind}:count=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  }

  /** Run one command on every live node, replicas too (e.g. ACL SETUSER, SCRIPT FLUSH: not propagated in a cluster). */
  async onEveryNode(...command: [string, ...Array<string | number>]): Promise<void> {
    for (const port of this.ports.filter((p) => this.running(p))) {
      await this.withNode(port, (r) => r.call(...command));
    }
  }

  private livePort(): number {
    const port = this.ports.find((p) => this.running(p));
    if (port === undefined) throw new Error('no cluster node is running');
    return port;
  }

  private async withNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = this.node(port);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }

  /** Synchronous part of stop (also run at process exit). */
  killNow(): void {
    for (const ch of this.children) if (ch.exitCode === null && ch.signalCode === null) ch.kill('SIGKILL');
  }

  private async startNode(port: number): Promise<void> {
    const listen = this.tlsFiles
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cluster',
          'yes',
          '--tls-cert-file',
          this.tlsFiles.cert,
          '--tls-key-file',
          this.tlsFiles.key,
          '--tls-ca-cert-file',
          this.tlsFiles.cert,
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)];
    // Validity factor 0: a replica takes over however long its master was silent (tests kill masters on purpose).
    const cluster = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(this.dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      String(this.nodeTimeoutMs),
      '--cluster-replica-validity-factor',
      '0',
    ];
    const child = spawn('redis-server', [...listen, '--bind', '127.0.0.1', ...cluster, '--save', '', '--appendonly', 'no', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

  private async create(replicas: number): Promise<void> {
    const tls = this.tlsFiles ? ['--tls', '--cacert', this.tlsFiles.cert] : [];
    const args = [...tls, '--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'];
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0 || !/All 16384 slots covered/.test(out)) throw new Error(`redis-cli --cluster create failed (exit ${code}): ${out.slice(-800)}`);
  }

  /** Until every replica has a live link to its master (the first full sync is done). */
  private async waitForReplicaLinks(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (const n of (await this.nodes()).filter((x) => !x.master)) {
      for (;;) {
        const info = await this.withNode(n.port, async (r) => String(await r.info('replication')));
        if (/master_link_status:up/.test(info)) break;
        if (Date.now() > deadline) throw new Error(`replica ${n.port} not linked to its master after 20 s`);
        await sleep(100);
      }
    }
  }

  /**
   * Until every node sees every other in its final role. `--cluster create` makes the
   * replicas with CLUSTER REPLICATE, and a node learns of that by gossip: until then it
   * lists a replica as a master with no slots (a test that picks "another master" from
   * that view would send SETSLOT to a replica).
   */
  private async waitForRoles(masters: number, replicas: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (const port of this.ports) {
      for (;;) {
        const seen = parseClusterNodes(await this.withNode(port, async (r) => String(await r.cluster('NODES'))));
        const m = seen.filter((n) => n.master).length;
        if (m === masters && seen.length - m === masters * replicas) break;
        if (Date.now() > deadline) throw new Error(`node ${port} sees ${m} masters of ${seen.length} nodes after 20 s, not ${masters}`);
        await sleep(100);
      }
    }
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

/** CLUSTER NODES, one entry per line: `<id> <ip:port@bus> <flags> <master|-> ...`. */
function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, masterId] = line.split(' ');
      const f = (flags ?? '').split(',');
      const info: ClusterNodeInfo = {
        id: id!,
        port: Number(address!.split('@')[0]!.split(':').pop()),
        master: f.includes('master'),
        failing: f.includes('fail') || f.includes('fail?'),
      };
      if (masterId && masterId !== '-') info.masterId = masterId;
      return info;
    });
}

function replOffset(info: string, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  if (!m) throw new Error(`no ${field} in INFO replication: ${info.slice(0, 300)}`);
  return Number(m[1]);
}
