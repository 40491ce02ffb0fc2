// Many gateways, one policy: real toolgate processes (the built binary, each in
// front of its own demo server) sharing counters through Redis.
// - 4 gateways, 8 concurrent clients: exactly L calls pass a rate limit, and
//   an increment_from spend cap is never exceeded and is filled as far as it goes.
// - Redis dies mid-run (a private redis-server, never the shared one):
//   closed mode denies with a clear message and recovers by itself, also when
//   the gateway started while Redis was down; open mode lets calls through and
//   the events say so. The DSN's password shows up nowhere.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { demoServer, filesContaining, gatewayArgs, RawGateway, tempDir, textOf, writePolicy } from './helpers.js';
import { readEvents } from './helpers.js';
import { OwnRedis, REDIS_URL, deletePrefix, probeRedis, redisServerMissing, selfSignedCert, skipUnless, uniquePrefix } from './support/redis.js';
import { windowStart } from '../src/state/window.js';
import { clearOfWindowEnd } from './window-guard.js';

const PREFIX = '[TOOLGATE POLICY DENIED]';
const skip = skipUnless('Redis', await probeRedis(REDIS_URL));
const skipOwn = skip === false ? skipUnless('redis-server', redisServerMissing()) : skip;

function rawEvents(stateDir: string): string {
  const dir = join(stateDir, 'events');
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('');
}

/**
 * What makes a call fast while Redis is down: the store knows its connection is
 * gone (or sees it close) and sends nothing, rather than a command waiting out
 * its timeout (which the error would name). A command already written when the
 * server went away is failed as the connection closes, not retried (ioredis:
 * "Reached the max retries per request limit (which is 0)").
 */
function assertRefusedWithoutWaiting(stateError: string): void {
  assert.doesNotMatch(stateError, /timed out/i);
  assert.match(
    stateError,
    /is not connected|Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable|max retries per request limit \(which is 0\)/,
    stateError,
  );
}

let seq = 0;
interface CallResult {
  allowed: boolean;
  text: string;
}
async function call(g: RawGateway, tool: string, args: Record<string, unknown>): Promise<CallResult> {
  const id = `call-${++seq}`;
  g.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } });
  const res = await g.waitFor((m) => isResponse(m, id), SLOW_MS);
  assert.equal(res.error, undefined, `no JSON-RPC error: ${JSON.stringify(res)}`);
  const text = textOf(res.result);
  const denied = res.result.isError === true && text.startsWith(PREFIX);
  return { allowed: !denied, text };
}

/** Generous waits: on a loaded CI machine starting a gateway and its server can take many seconds. */
const SLOW_MS = 60_000;

function isResponse(m: unknown, id: string): boolean {
  return typeof m === 'object' && m !== null && !Array.isArray(m) && (m as { id?: unknown }).id === id && !('method' in m);
}

async function initialize(g: RawGateway): Promise<void> {
  g.send({
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  await g.waitFor((m) => isResponse(m, 'init'), SLOW_MS);
  g.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
}

async function startGateway(policy: string, stateDir: string, extra: string[], env: NodeJS.ProcessEnv = process.env): Promise<RawGateway> {
  const g = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer], extra), env);
  await initialize(g);
  return g;
}

/** Poll `fn` until it returns true, or fail after `ms`. */
async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fn()) return Date.now() - t0;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

const RATE_LIMIT = 25;
const SPEND_CAP = 5000;
const sharedPolicy = `
version: "1"
description: "shared by 4 gateways through Redis"
tools:
  echo:
    rules:
      - name: "shared echo limit"
        rate_limit: ${RATE_LIMIT}/hour
  create_charge:
    rules:
      - name: "daily spend cap"
        conditions:
          - path: "state.create_charge.daily_spend"
            op: "lte"
            value: ${SPEND_CAP}
        on_deny: "Daily spending cap reached"
        state:
          counter: "daily_spend"
          window: "day"
          increment_from: "args.amount"
`;

describe('4 gateways sharing one Redis', { skip }, () => {
  const prefix = uniquePrefix('e2e-shared');
  const gateways: RawGateway[] = [];
  const stateDirs: string[] = [];

  before(async () => {
    await clearOfWindowEnd('hour', 90_000);
    const { policy } = writePolicy(sharedPolicy);
    for (let i = 0; i < 4; i++) {
      const { stateDir } = writePolicy('version: "1"\n'); // a fresh directory per gateway (events)
      stateDirs.push(stateDir);
      gateways.push(new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer], ['--state-dsn', REDIS_URL, '--state-prefix', prefix])));
    }
    await Promise.all(gateways.map((g) => initialize(g)));
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await deletePrefix(REDIS_URL, prefix);
  });

  it(`8 concurrent clients: exactly ${RATE_LIMIT} calls pass a ${RATE_LIMIT}/hour limit, every other one is denied`, async () => {
    const perClient = 10;
    const clients = Array.from({ length: 8 }, (_, c) =>
      (async () => {
        const g = gateways[c % 4]!;
        const out: CallResult[] = [];
        for (let j = 0; j < perClient; j++) out.push(await call(g, 'echo', { message: `client ${c} call ${j}` }));
        return out;
      })(),
    );
    const results = (await Promise.all(clients)).flat();
    const allowed = results.filter((r) => r.allowed);
    const denied = results.filter((r) => !r.allowed);
    assert.equal(allowed.length, RATE_LIMIT);
    assert.equal(denied.length, 8 * perClient - RATE_LIMIT);
    for (const r of allowed) assert.match(r.text, /^client \d call \d$/, 'allowed calls reached the server');
    for (const r of denied) assert.match(r.text, new RegExp(`Rate limit of ${RATE_LIMIT} per hour reached`));
    const perGateway = gateways.map((_, i) => results.filter((r, k) => Math.floor(k / perClient) % 4 === i && r.allowed).length);
    assert.ok(perGateway.filter((n) => n > 0).length >= 2, `calls passed on several gateways: ${perGateway.join(', ')}`);
  });

  it(`8 concurrent clients: an increment_from spend cap of ${SPEND_CAP} is never exceeded, and no denied charge would still fit`, async () => {
    await clearOfWindowEnd('day', 60_000);
    const amounts = [100, 250, 400, 700, 1000, 150, 333, 50];
    const perClient = 8;
    const clients = Array.from({ length: 8 }, (_, c) =>
      (async () => {
        const g = gateways[c % 4]!;
        const out: Array<CallResult & { amount: number }> = [];
        for (let j = 0; j < perClient; j++) {
          const amount = amounts[(c + j) % amounts.length]!;
          out.push({ ...(await call(g, 'create_charge', { amount, currency: 'usd' })), amount });
        }
        return out;
      })(),
    );
    const results = (await Promise.all(clients)).flat();
    const allowed = results.filter((r) => r.allowed);
    const denied = results.filter((r) => !r.allowed);
    const spent = allowed.reduce((s, r) => s + r.amount, 0);
    assert.ok(spent <= SPEND_CAP, `spent ${spent} <= ${SPEND_CAP}`);
    assert.ok(denied.length > 0, 'the cap was reached');
    // Counters only grow here (every upstream call succeeds): a charge refused
    // at any point would not fit in what is left at the end either.
    for (const r of denied) {
      assert.ok(r.amount > SPEND_CAP - spent, `denied ${r.amount} while ${SPEND_CAP - spent} is left`);
      assert.match(r.text, /Daily spending cap reached/);
    }
    for (const r of allowed) assert.match(r.text, /^Charged \d+\.\d\d USD\.$/);
    // The shared counter in Redis holds exactly what was let through.
    const raw = new Redis(REDIS_URL);
    try {
      const v = await raw.get(`${prefix}ctr:create_charge.daily_spend:${windowStart('day', Date.now())}`);
      assert.equal(Number(v), spent);
    } finally {
      raw.disconnect();
    }
  });

  it('audits every decision on the gateway that made it, with the backend in the startup event', async () => {
    await Promise.all(gateways.splice(0).map((g) => g.close()));
    const events = stateDirs.flatMap((d) => readEvents(d));
    const calls = events.filter((e) => e.type === 'tool_call');
    assert.equal(calls.filter((e) => e.tool === 'echo' && e.decision === 'allowed').length, RATE_LIMIT);
    assert.equal(calls.filter((e) => e.tool === 'echo' && e.decision === 'denied').length, 80 - RATE_LIMIT);
    const startups = events.filter((e) => e.type === 'startup');
    assert.equal(startups.length, 4);
    for (const s of startups) {
      assert.equal(s.state_backend, 'redis');
      assert.equal(s.state_fail_mode, 'closed');
    }
  });
});

const lossPolicy = `
version: "1"
tools:
  echo:
    rules:
      - name: "echo limit"
        rate_limit: 2/hour
`;

describe('Redis going away under a running gateway', { skip: skipOwn }, () => {
  const PASSWORD = 'e2e-s3cret-pw';
  let own: OwnRedis | undefined;
  const open: RawGateway[] = [];
  after(async () => {
    await Promise.all(open.map((g) => g.close()));
    await own?.stop();
  });

  it('closed (default): starts while Redis is down and denies, recovers when it comes, denies again when it dies, recovers again', async () => {
    await clearOfWindowEnd('hour', 60_000);
    own = await OwnRedis.create(['--requirepass', PASSWORD]);
    const { policy, stateDir } = writePolicy(lossPolicy);
    const dsn = own.url(`:${PASSWORD}@`);
    const g = await startGateway(policy, stateDir, ['--state-dsn', dsn, '--state-prefix', uniquePrefix('e2e-closed'), '--log-level', 'info']);
    open.push(g);

    // Start-up without Redis: the gateway runs, and calls needing state are denied
    // at once (the audited cause is "not connected", not a command that timed out).
    const first = await call(g, 'echo', { message: 'too early' });
    assert.equal(first.allowed, false);
    assert.match(first.text, /state store unavailable/);
    // A call that needs no state is not affected.
    const weather = await call(g, 'get_weather', { city: 'Lisbon' });
    assert.equal(weather.allowed, true);

    await own.start();
    await until('recovery after Redis came up', async () => (await call(g, 'echo', { message: 'up' })).allowed);

    await own.stop();
    const during = await call(g, 'echo', { message: 'down' });
    assert.equal(during.allowed, false);
    assert.equal(during.text, `${PREFIX} state store unavailable: the call is denied until toolgate can reach its shared state again (fail-closed)`);

    await own.start(); // empty again (no persistence): the limit starts over
    await until('recovery after restart', async () => (await call(g, 'echo', { message: 'back' })).allowed);
    assert.equal((await call(g, 'echo', { message: 'second' })).allowed, true);
    const over = await call(g, 'echo', { message: 'third' });
    assert.equal(over.allowed, false, 'the limit is enforced again');
    assert.match(over.text, /Rate limit of 2 per hour reached/);

    await g.close();
    const events = readEvents(stateDir);
    const unavailable = events.filter((e) => e.type === 'tool_call' && e.reason === 'state_unavailable');
    assert.ok(unavailable.length >= 2, `audited denials: ${unavailable.length}`);
    for (const e of unavailable) {
      assert.equal(e.decision, 'denied');
      assert.equal(e.state, 'unavailable');
      assert.match(String(e.message), /state store unavailable/);
      assert.match(String(e.state_error), /state store unavailable/);
      assertRefusedWithoutWaiting(String(e.state_error));
    }
    const startup = events.find((e) => e.type === 'startup')!;
    assert.equal(startup.state_dsn, `redis://:***@127.0.0.1:${own.port}`);
    assert.ok(!rawEvents(stateDir).includes(PASSWORD), 'no password in the events');
    assert.deepEqual(filesContaining(stateDir, PASSWORD), [], 'no password in any file of the state directory (events, audit)');
    assert.ok(!g.stderr.includes(PASSWORD), 'no password in the logs');
    assert.match(g.stderr, /state store unavailable/, 'the outage is logged');
    assert.match(g.stderr, /state store reachable/, 'the recovery is logged');
  });

  it('open: calls pass while Redis is down and the events say so; counting resumes when it returns', async () => {
    await clearOfWindowEnd('hour', 60_000);
    await own?.stop();
    own = await OwnRedis.create();
    await own.start();
    const { policy, stateDir } = writePolicy(lossPolicy);
    const g = await startGateway(policy, stateDir, ['--state-dsn', own.url(), '--state-prefix', uniquePrefix('e2e-open'), '--state-fail-mode', 'open']);
    open.push(g);
    await until('connected', async () => (await call(g, 'echo', { message: 'one' })).allowed);

    await own.stop();
    for (let i = 0; i < 4; i++) {
      const r = await call(g, 'echo', { message: `while down ${i}` });
      assert.equal(r.allowed, true, r.text);
      assert.equal(r.text, `while down ${i}`);
    }

    await own.start();
    // Counting resumes by itself: on the fresh server two calls fit the limit, then calls are denied again.
    await until('the limit is enforced again', async () => !(await call(g, 'echo', { message: 'probe' })).allowed);
    await g.close();
    const calls = readEvents(stateDir).filter((e) => e.type === 'tool_call');
    const passedDown = calls.filter((e) => e.state === 'unavailable');
    assert.ok(passedDown.length >= 4, `fail-open calls audited: ${passedDown.length}`);
    for (const e of passedDown) {
      assert.equal(e.decision, 'allowed');
      assert.equal(e.outcome, 'ok');
      assert.match(String(e.state_error), /state store unavailable/);
      assertRefusedWithoutWaiting(String(e.state_error));
    }
    const later = calls.slice(calls.indexOf(passedDown.at(-1)!) + 1);
    assert.ok(
      later.some((e) => e.state === undefined && e.decision === 'allowed'),
      'counted normally after recovery',
    );
    assert.ok(
      later.some((e) => e.reason === 'rate_limit'),
      'and limited again',
    );
  });
});

describe('rediss:// (TLS)', { skip: skipOwn }, () => {
  it('a gateway keeps its counters in Redis over TLS (CA from NODE_EXTRA_CA_CERTS)', async () => {
    // Never skipped: openssl and a TLS-capable redis-server are part of what .ci/run installs.
    const cert = selfSignedCert(tempDir('toolgate-tls-'));
    if (typeof cert === 'string') throw new Error(`${cert} (install openssl)`);
    const own = await OwnRedis.create([], cert);
    await own.start();
    try {
      const { policy, stateDir } = writePolicy(`version: "1"\ntools:\n  echo:\n    rules:\n      - name: once\n        rate_limit: 1/hour\n`);
      await clearOfWindowEnd('hour', 60_000);
      const dsn = own.url('', 'localhost');
      assert.match(dsn, /^rediss:/);
      const g = await startGateway(policy, stateDir, ['--state-dsn', dsn, '--state-prefix', uniquePrefix('e2e-tls')], {
        ...process.env,
        NODE_EXTRA_CA_CERTS: cert.cert,
      });
      try {
        await until('connected over TLS', async () => (await call(g, 'echo', { message: 'hello' })).allowed);
        const second = await call(g, 'echo', { message: 'again' });
        assert.equal(second.allowed, false);
        assert.match(second.text, /Rate limit of 1 per hour reached/);
      } finally {
        await g.close();
      }
    } finally {
      await own.stop();
    }
  });
});
