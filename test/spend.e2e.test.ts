// Intercept's spend budgets through the built binary, the official SDK client
// and a server that speaks the Machine Payments Protocol's MCP transport
// (-32042 challenges, credentials in _meta): a price over per_call never
// reaches the agent, spend.daily is exact under 20 concurrent paid calls
// (SQLite, and Redis), also through two gateways on one state, and a refused
// payment gives its amount back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, readEvents, root, runToolgate, textOf, writePolicy } from './helpers.js';
import { credentialFor, executions, paidServer } from './paid-server.js';
import { REDIS_URL, deletePrefix, probeRedis, skipUnless, uniquePrefix } from './support/redis.js';

const budget = (perCall: string, daily: string) => `version: "1"
default: allow
spend:
  per_call: ${perCall}
  daily: ${daily}
tools: {}
`;

/** The first non-undefined value of `probe`, polled (the JSONL sink flushes within 50 ms). */
async function eventually<T>(probe: () => T | undefined): Promise<T | undefined> {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

function paidCall(client: Client, query: string, price: number, extra: Record<string, unknown> = {}) {
  return client.request(
    {
      method: 'tools/call',
      params: { name: 'paid_search', arguments: { query, price }, _meta: { 'org.paymentauth/credential': credentialFor(query, price, extra) } },
    },
    CallToolResultSchema,
  );
}

test('a payment challenge within the budget reaches the agent; one over per_call is refused before the agent can pay', async () => {
  const { policy, stateDir, dir } = writePolicy(budget('0.50', '50.00'));
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    // Positive control: 0.25 passes; the agent sees the server's -32042 challenge.
    const err = await client.callTool({ name: 'paid_search', arguments: { query: 'cheap', price: 25 } }).catch((e: unknown) => e);
    assert.ok(err instanceof McpError, String(err));
    assert.equal(err.code, -32042);
    assert.equal((err.data as { challenges: Array<{ id: string }> }).challenges[0]!.id, 'ch-cheap');
    // 0.75 > per_call 0.50: the agent gets a denial instead of the challenge.
    const over = await client.callTool({ name: 'paid_search', arguments: { query: 'dear', price: 75 } });
    assert.equal(over.isError, true);
    assert.match(textOf(over), /this call costs 0\.75 usd, more than spend\.per_call 0\.5; refused before paying/);
    // A paid retry over per_call (a credential for 0.75) is refused before it reaches the server.
    const paid = await paidCall(client, 'dear', 75);
    assert.equal(paid.isError, true);
    assert.match(textOf(paid), /more than spend\.per_call/);
    assert.equal(executions(log).length, 0);
    const ok = await paidCall(client, 'cheap', 25);
    assert.equal(textOf(ok), 'paid cheap');
    const denial = await eventually(() => readEvents(stateDir).find((e) => e.type === 'tool_call' && e.reason === 'spend_per_call' && e.stage === 'payment'));
    assert.ok(denial, 'the refused challenge is audited');
    assert.equal(denial.spend, '0.75');
  } finally {
    await client.close();
  }
});

async function twentyConcurrent(extra: string[]): Promise<void> {
  const { policy, stateDir, dir } = writePolicy(budget('5.00', '10.00'));
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log), { extra });
  try {
    // 20 paid calls of 1.00 at once against 10.00 a day: exactly 10 reach the server.
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => paidCall(client, `q${i}`, 100)));
    const passed = results.filter((r) => !r.isError);
    assert.equal(passed.length, 10, results.map(textOf).join('\n'));
    assert.equal(executions(log).length, 10);
    for (const r of results.filter((r) => r.isError)) assert.match(textOf(r), /of spend\.daily 10 is spent today \(UTC\); refused before paying/);
    // A cent more is refused at the challenge already: the agent never gets to pay it.
    const more = await client.callTool({ name: 'paid_search', arguments: { query: 'more', price: 1 } });
    assert.equal(more.isError, true);
    assert.match(textOf(more), /costs 0\.01 usd and 10 of spend\.daily 10 is spent/);
  } finally {
    await client.close();
  }
}

test('spend.daily is exact under 20 concurrent paid calls (SQLite state)', async () => {
  await twentyConcurrent([]);
});

const skip = skipUnless('Redis', await probeRedis(REDIS_URL));
test('spend.daily is exact under 20 concurrent paid calls (Redis state)', { skip }, async () => {
  const prefix = uniquePrefix('spend');
  try {
    await twentyConcurrent(['--state-dsn', REDIS_URL, '--state-prefix', prefix]);
  } finally {
    await deletePrefix(REDIS_URL, prefix);
  }
});

/** Two gateways on one state (one SQLite file, or one Redis): 20 paid calls of 1.00 at once, ten through each, against 10.00 a day. */
async function twoGateways(extra: string[]): Promise<void> {
  const { policy, stateDir, dir } = writePolicy(budget('5.00', '10.00'));
  const logs = [join(dir, 'server-a.log'), join(dir, 'server-b.log')];
  const clients = await Promise.all(logs.map((log) => connectClient(policy, stateDir, paidServer(log), { extra })));
  try {
    const results = await Promise.all(clients.flatMap(({ client }, g) => Array.from({ length: 10 }, (_, i) => paidCall(client, `g${g}q${i}`, 100))));
    const passed = results.filter((r) => !r.isError);
    // Exactly: a lease ahead takes at most a sixteenth of what remains, and ten calls' room leases nothing.
    assert.equal(passed.length, 10, results.map(textOf).join('\n'));
    assert.equal(executions(logs[0]!).length + executions(logs[1]!).length, 10, 'the servers ran exactly the paid calls that passed');
    for (const r of results.filter((r) => r.isError)) assert.match(textOf(r), /of spend\.daily 10 is spent today \(UTC\); refused before paying/);
  } finally {
    await Promise.all(clients.map(({ client }) => client.close()));
  }
}

test('two gateways on one SQLite state cannot pass spend.daily together (20 concurrent paid calls, ten each)', async () => {
  await twoGateways([]);
});

test('two gateways on one Redis cannot pass spend.daily together (20 concurrent paid calls, ten each)', { skip }, async () => {
  const prefix = uniquePrefix('spend2');
  try {
    await twoGateways(['--state-dsn', REDIS_URL, '--state-prefix', prefix]);
  } finally {
    await deletePrefix(REDIS_URL, prefix);
  }
});

test('decimal amounts add up exactly: ten payments of 0.10 fill a budget of 1.00, the eleventh is refused', async () => {
  const { policy, stateDir, dir } = writePolicy(budget('1', '1.00'));
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    for (let i = 0; i < 10; i++) assert.equal(textOf(await paidCall(client, `d${i}`, 10)), `paid d${i}`);
    const eleventh = await paidCall(client, 'd10', 10);
    assert.equal(eleventh.isError, true);
    assert.match(textOf(eleventh), /costs 0\.1 usd and 1 of spend\.daily 1 is spent/);
  } finally {
    await client.close();
  }
});

test('a payment the server refuses (-32043) gives its amount back; an unreadable credential is refused, nothing forwarded', async () => {
  const { policy, stateDir, dir } = writePolicy(budget('5', '1.00'));
  const log = join(dir, 'server.log');
  const { client } = await connectClient(policy, stateDir, paidServer(log));
  try {
    await assert.rejects(paidCall(client, 'bad', 100, { bad: true }), (e: unknown) => e instanceof McpError && e.code === -32043);
    assert.equal(executions(log, 'refused').length, 1);
    // The refused 1.00 was given back: a good payment of 1.00 still fits today's 1.00.
    assert.equal(textOf(await paidCall(client, 'good', 100)), 'paid good');
    const garbled = await client.request(
      { method: 'tools/call', params: { name: 'paid_search', arguments: { query: 'g', price: 1 }, _meta: { 'org.paymentauth/credential': { payload: {} } } } },
      CallToolResultSchema,
    );
    assert.equal(garbled.isError, true);
    assert.match(textOf(garbled), /does not echo the challenge it pays; refused before paying/);
    const variant = await client.request(
      {
        method: 'tools/call',
        params: { name: 'paid_search', arguments: { query: 'v', price: 1 }, _meta: { 'Org.PaymentAuth/Credential': credentialFor('v', 1) } },
      },
      CallToolResultSchema,
    );
    assert.equal(variant.isError, true);
    assert.match(textOf(variant), /case variant of org\.paymentauth\/credential/);
    assert.equal(executions(log).length, 1);
  } finally {
    await client.close();
  }
});

test('the paid-search examples pass `toolgate test` and validate without a warning', async () => {
  for (const f of ['paid-search.test.yaml', 'paid-search-daily.test.yaml']) {
    const r = await runToolgate('test', join(root, 'examples', 'policies', f));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /6 passed, 0 failed/);
  }
  const v = await runToolgate('validate', '-c', join(root, 'examples', 'policies', 'paid-search.yaml'));
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.doesNotMatch(v.stdout, /warning/);
});

test('a negative budget is a policy error with file:line:col; the gateway does not start', async () => {
  const { policy } = writePolicy(budget('0.50', '-5.00'));
  const r = await runToolgate('validate', '-c', policy);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /policy\.yaml:5:10: spend\.daily must not be negative, got -5\.00/);
});
