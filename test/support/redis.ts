// Test support for Redis: find the shared Redis (REDIS_URL) or skip loudly,
// and run a private redis-server child that a test may stop and restart
// without touching the shared service. Not exported from the state room's
// front door; only tests import it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { redactDsn } from '../../src/state/redis-dsn.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env.TOOLGATE_REQUIRE_SERVICES === '1';

/** undefined when Redis answers PING at `url`, else why not. */
export async function probeRedis(url: string = REDIS_URL): Promise<string | undefined> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause = '';
  client.on('error', (e: Error) => (cause ||= e.message));
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return `${redactDsn(url)}: ${cause || msg}`;
  } finally {
    client.disconnect();
  }
}

/** Whether the redis-server binary is here (for tests that run their own). */
export function redisServerMissing(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `redis-server is not installed (${r.error?.message ?? `exit ${r.status}`})`;
}

/**
 * The `skip` option for tests needing a service: false when it is there.
 * When it is missing, a warning goes to stderr; under TOOLGATE_REQUIRE_SERVICES=1
 * a failing test is registered instead, so CI cannot pass without the service.
 */
export function skipUnless(what: string, problem: string | undefined, hint = 'set REDIS_URL'): string | false {
  if (problem === undefined) return false;
  const reason = `${what} unavailable: ${problem}`;
  if (REQUIRED) {
    test(`${what} is required (TOOLGATE_REQUIRE_SERVICES=1)`, () => {
      throw new Error(`${reason}; start it or unset TOOLGATE_REQUIRE_SERVICES`);
    });
  } else {
    process.stderr.write(`\n*** SKIPPING ${what} TESTS: ${reason} (${hint}; TOOLGATE_REQUIRE_SERVICES=1 makes this fail) ***\n\n`);
  }
  return `SKIPPED LOUDLY: ${reason}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A private redis-server on a free loopback port, which tests may stop, freeze and restart. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  readonly port: number;
  private readonly extra: string[];

  private readonly tls: boolean;

  private constructor(port: number, extra: string[], tls?: { cert: string; key: string }) {
    this.port = port;
    this.tls = tls !== undefined;
    // With TLS the plain port is closed and the chosen port speaks TLS only.
    this.extra = tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-auth-clients', 'no', ...extra]
      : extra;
  }

  /** Pick a free port; `start()` runs the server. With `tls`, the port speaks TLS only. */
  static async create(extra: string[] = [], tls?: { cert: string; key: string }): Promise<OwnRedis> {
    return new OwnRedis(await freePort(), extra, tls);
  }

  url(auth = '', host = '127.0.0.1'): string {
    return `${this.tls ? 'rediss' : 'redis'}://${auth}${host}:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (/Ready to accept connections/i.test(out)) return;
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    this.child = undefined;
    child.kill('SIGKILL');
    throw new Error(`own redis-server on port ${this.port} did not start: ${out.slice(-500)}`);
  }

  /** Kill the server (SIGKILL: as abrupt as a crash) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  }

  /** SIGSTOP / SIGCONT: a server that accepts nothing and answers nothing. */
  freeze(frozen: boolean): void {
    this.child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }
}

/** A self-signed certificate for localhost / 127.0.0.1 (openssl CLI), or why there is none. */
export function selfSignedCert(dir: string): { cert: string; key: string } | string {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? { cert, key } : `openssl could not make a certificate: ${r.error?.message ?? r.stderr}`;
}

/** Delete every key under a prefix (test clean-up on the shared Redis). */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  let n = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) n += await client.del(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort
  } finally {
    client.disconnect();
  }
  return n;
}

/** A key prefix no other run or test uses. */
export function uniquePrefix(label: string): string {
  return `toolgate-test:${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;
}
