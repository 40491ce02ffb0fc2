// End to end over stdio: the SDK client -> the built toolgate binary -> real MCP servers.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { bin, connectClient, demoServer, everythingServer, gatewayArgs, RawGateway, tempDir, textOf, writePolicy } from './helpers.js';
import { readEvents } from './helpers.js';
import { clearOfWindowEnd } from './window-guard.js';
import { until } from './support/until.js';
import { recordingServer, serverInput } from './recording-server.js';

const PREFIX = '[TOOLGATE POLICY DENIED]';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live processes whose command line mentions `marker` (Linux /proc). */
function serversNaming(marker: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker) && !/^Z/.test(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1] ?? '');
      } catch {
        return false;
      }
    })
    .map(Number);
}

const everythingPolicy = `
version: "1"
description: "e2e policy for server-everything"
hide:
  - get-env
tools:
  get-sum:
    rules:
      - name: "small sums only"
        conditions:
          - path: "args.a"
            op: "lte"
            value: 10
        on_deny: "a must be at most 10"
  echo:
    rules:
      - name: "echo limit"
        rate_limit: 2/hour
`;

describe('stdio gateway in front of @modelcontextprotocol/server-everything', () => {
  test('lists tools without the hidden one, allows, denies and rate-limits calls, records events', async () => {
    await clearOfWindowEnd('hour'); // its hourly limit must not start over mid-test
    const { policy, stateDir } = writePolicy(everythingPolicy);
    const { client } = await connectClient(policy, stateDir, [process.execPath, everythingServer, 'stdio']);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      assert.ok(names.includes('echo'), `echo listed: ${names.join(',')}`);
      assert.ok(names.includes('get-sum'));
      assert.ok(!names.includes('get-env'), 'hidden tool is not listed');

      const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
      assert.equal(sum.isError ?? false, false);
      assert.match(textOf(sum), /5/);

      const big = await client.callTool({ name: 'get-sum', arguments: { a: 100, b: 3 } });
      assert.equal(big.isError, true);
      assert.equal(textOf(big), `${PREFIX} a must be at most 10`);

      const hidden = await client.callTool({ name: 'get-env', arguments: {} });
      assert.equal(hidden.isError, true);
      assert.equal(textOf(hidden), `${PREFIX} Tool "get-env" is hidden by policy`);

      const r1 = await client.callTool({ name: 'echo', arguments: { message: 'one' } });
      const r2 = await client.callTool({ name: 'echo', arguments: { message: 'two' } });
      const r3 = await client.callTool({ name: 'echo', arguments: { message: 'three' } });
      assert.match(textOf(r1), /one/);
      assert.match(textOf(r2), /two/);
      assert.equal(r3.isError, true);
      assert.match(textOf(r3), /Rate limit of 2 per hour reached/);
    } finally {
      await client.close();
    }

    const calls = readEvents(stateDir).filter((e) => e.type === 'tool_call');
    const denied = calls.filter((e) => e.decision === 'denied');
    const allowed = calls.filter((e) => e.decision === 'allowed');
    assert.equal(denied.length, 3);
    assert.equal(allowed.length, 3);
    const bigSum = denied.find((e) => e.tool === 'get-sum')!;
    assert.equal(bigSum.rule, 'small sums only');
    assert.equal(bigSum.rule_pointer, 'tools/get-sum/rules/0');
    assert.match(String(bigSum.args_sha256), /^[0-9a-f]{64}$/);
    // Raw arguments are never logged.
    assert.ok(!JSON.stringify(calls).includes('three'));
    assert.ok(allowed.every((e) => e.outcome === 'ok'));
  });

  test('a sampling request from the server crosses back to the client, and progress notifications arrive', async () => {
    const { policy, stateDir } = writePolicy(everythingPolicy);
    let sampled = 0;
    const { client } = await connectClient(policy, stateDir, [process.execPath, everythingServer, 'stdio'], {
      capabilities: { sampling: {} },
      setup: (c) =>
        c.setRequestHandler(CreateMessageRequestSchema, async () => {
          sampled++;
          return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled by the e2e client' } };
        }),
    });
    try {
      const res = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 5 } });
      assert.equal(sampled, 1);
      assert.match(textOf(res), /sampled by the e2e client/);

      const progress: number[] = [];
      const long = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      assert.equal(long.isError ?? false, false);
      // The SDK client handles notifications a microtask later than responses, so the
      // last step's progress can lose the race with the result it precedes on the wire
      // (with or without a gateway); the earlier steps are separated in time and must arrive.
      assert.deepEqual(progress.slice(0, 2), [1, 2]);
    } finally {
      await client.close();
    }
  });
});

describe('stdio gateway: messages that must never be forwarded unevaluated', () => {
  const policyText = `
version: "1"
default: deny
tools:
  echo:
    rules: []
  get_weather:
    rules:
      - name: "no oslo"
        conditions:
          - path: "args.city"
            op: "neq"
            value: "Oslo"
`;

  test('undecodable tools/call params get -32602, invalid JSON gets -32700, and nothing reaches the server', async () => {
    const { policy, stateDir, dir } = writePolicy(policyText);
    const log = join(dir, 'server.log');
    const gw = new RawGateway(gatewayArgs(policy, stateDir, recordingServer(log)));
    try {
      await gw.initialize();
      gw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call' });
      gw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 7, arguments: {} } });
      gw.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'echo', arguments: ['x'] } });
      gw.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: 'echo' });
      gw.send('{"jsonrpc":"2.0","id":5,"method":"tools/call",');
      for (const id of [1, 2, 3, 4]) {
        const res = await gw.response(id);
        assert.equal(res.error?.code, -32602, `id ${id}: ${JSON.stringify(res)}`);
      }
      const parse = await gw.response(null);
      assert.equal(parse.error.code, -32700);
      // The server is still healthy and answers a valid call.
      gw.send({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'echo', arguments: { message: 'still here' } } });
      const ok = await gw.response(6);
      assert.equal(ok.result.content[0].text, 'still here');
    } finally {
      await gw.close();
    }
    const events = readEvents(stateDir).filter((e) => e.type === 'tool_call');
    assert.equal(events.filter((e) => e.reason === 'invalid_call').length, 4);
    // What the server read: the valid call (id 6, sent last: anything before it would be there too) and no other call.
    const calls = serverInput(log).filter((m) => m.method === 'tools/call');
    assert.deepEqual(
      calls.map((m) => m.id),
      [6],
    );
  });

  test('a batch is decided element by element and answered as one array; unlisted tools are not listed', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    try {
      await gw.initialize();
      gw.send([
        { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'echo', arguments: { message: 'in a batch' } } },
        { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'delete_customer', arguments: { id: 'c1' } } },
        { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'get_weather', arguments: { city: 'Oslo' } } },
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'x', progress: 1 } },
      ]);
      const batch = await gw.waitFor((m) => Array.isArray(m));
      assert.equal(batch.length, 3);
      const byId = Object.fromEntries(batch.map((r: { id: string }) => [r.id, r]));
      assert.equal(byId.a.result.content[0].text, 'in a batch');
      assert.equal(byId.b.result.isError, true);
      assert.equal(byId.b.result.content[0].text, `${PREFIX} Tool "delete_customer" is not permitted by policy`);
      assert.equal(byId.c.result.isError, true);
      assert.equal(byId.c.result.content[0].text, `${PREFIX} Denied by rule "no oslo"`);

      gw.send({ jsonrpc: '2.0', id: 'list', method: 'tools/list', params: {} });
      const list = await gw.response('list');
      assert.deepEqual(list.result.tools.map((t: { name: string }) => t.name).sort(), ['echo', 'get_weather']);
    } finally {
      await gw.close();
    }
  });
});

describe('stdio gateway: process life', () => {
  // A server that answers initialize, then dies on the first tools/call without answering.
  const dyingServer = `
    const rl = require('readline').createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      const m = JSON.parse(line);
      if (m.method === 'initialize') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'dying', version: '1' } } }) + '\\n');
      if (m.method === 'tools/call') process.exit(3);
    });`;
  const limited = `
version: "1"
tools:
  work:
    rules:
      - name: "one per hour"
        rate_limit: 1/hour
`;

  test("the child dying mid-call: the client gets an error, the counter stays (the server may have acted), the exit status is the child's", async () => {
    await clearOfWindowEnd('hour'); // its hourly limit must not start over mid-test
    const { policy, stateDir } = writePolicy(limited);
    const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, '-e', dyingServer]));
    await gw.initialize();
    gw.send({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'work', arguments: {} } });
    const res = await gw.response(9);
    assert.equal(res.error?.code, -32001, JSON.stringify(res));
    const exit = await gw.exited;
    assert.equal(exit.code, 3);
    // The child received the call before it died: its fate is unknown, so the unit stays used.
    const next = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, '-e', dyingServer]));
    try {
      await next.initialize();
      next.send({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'work', arguments: {} } });
      const denied = await next.response(10);
      assert.equal(denied.result?.isError, true, JSON.stringify(denied));
      assert.match(denied.result.content[0].text, /Rate limit/);
    } finally {
      await next.close();
    }
    const events = readEvents(stateDir).filter((e) => e.type === 'tool_call');
    assert.deepEqual(
      events.map((e) => e.outcome ?? e.decision),
      ['transport_error', 'denied'],
    );
  });

  test('closing stdin ends the child and the gateway', async () => {
    const { policy, stateDir } = writePolicy(limited);
    const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    await gw.initialize();
    gw.proc.stdin.end();
    const exit = await gw.exited;
    assert.equal(exit.code, 0);
  });

  test('hot reload: a valid edit applies to the next call; a broken edit is rejected and the old policy stays', async () => {
    await clearOfWindowEnd('hour'); // its hourly limit must not start over mid-test
    const { policy, stateDir } = writePolicy(limited);
    const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
    try {
      await gw.initialize();
      const call = async (id: number) => {
        gw.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } });
        return gw.response(id);
      };
      assert.equal((await call(1)).result.isError, undefined);
      writeFileSync(policy, `version: "1"\ntools:\n  echo:\n    rules:\n      - name: "no echo"\n        action: deny\n`);
      let denied = false;
      for (let i = 0, end = Date.now() + 60_000; Date.now() < end && !denied; i++) {
        await new Promise((r) => setTimeout(r, 100));
        denied = (await call(100 + i)).result.isError === true;
      }
      assert.ok(denied, 'the edited policy applies');
      writeFileSync(policy, `version: "1"\ntools:\n  echo:\n    rules:\n      - action: deny\n`);
      // Wait for the reload to be tried and refused (its error logged), then look.
      for (const end = Date.now() + 60_000; Date.now() < end && !/policy\.yaml:\d+:\d+: .*rule must have a name/.test(gw.stderr); )
        await new Promise((r) => setTimeout(r, 50));
      assert.match(gw.stderr, /policy\.yaml:\d+:\d+: .*rule must have a name/);
      assert.equal((await call(200)).result.isError, true, 'the old (valid) policy is still in force');
    } finally {
      await gw.close();
    }
  });

  test('calls sent at once behind initialize wait for the stores and are decided (start-up answers initialize early)', async () => {
    await clearOfWindowEnd('hour'); // its hourly limit must not start over mid-test
    const echoing = `
      require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
        const m = JSON.parse(line);
        if (m.id === undefined) return;
        const result = m.method === 'initialize' ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'echo', version: '1' } } : { content: [{ type: 'text', text: 'done' }] };
        process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
      });`;
    for (const fresh of [true, false]) {
      const { policy, stateDir } = writePolicy(limited);
      if (!fresh) await new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, '-e', echoing])).close(); // the policy is cached now
      const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, '-e', echoing]));
      try {
        gw.send({
          jsonrpc: '2.0',
          id: 'init',
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        });
        gw.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        gw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'work', arguments: {} } });
        gw.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'work', arguments: {} } });
        assert.equal((await gw.response('init')).result.serverInfo.name, 'echo');
        assert.equal(textOf((await gw.response(1)).result), 'done');
        assert.equal((await gw.response(2)).result.isError, true, 'the rate limit holds from the first call');
      } finally {
        await gw.close();
      }
      // The two call records (written behind the answers), not a fixed pause.
      await until('both calls are audited', () => readEvents(stateDir).filter((e) => e.type === 'tool_call').length >= 2);
      const all = readEvents(stateDir).filter((e) => e.type === 'startup' || e.type === 'tool_call');
      const events = all.slice(all.map((e) => e.type).lastIndexOf('startup'));
      assert.ok(events.length === 3 && all.filter((e) => e.type === 'tool_call').length === 2, `the startup event comes first; fresh state: ${fresh}`);
      const calls = events.slice(1).sort((a, b) => a.request_id - b.request_id);
      assert.deepEqual(
        calls.map((e) => [e.request_id, e.decision]),
        [
          [1, 'allowed'],
          [2, 'denied'],
        ],
        `fresh state: ${fresh}`,
      );
    }
  });

  test('a command line that fails after the server was started early ends the server', async () => {
    const { policy, stateDir } = writePolicy(limited);
    const pidFile = join(tempDir(), 'server.pid');
    // A "server" that ignores its stdin closing: only a signal ends it. It keeps
    // its command line (no exec), which names pidFile: a live one can be found
    // in /proc even if it was ended before it wrote its pid.
    const gw = new RawGateway([
      bin,
      '-c',
      policy,
      '--state-dir',
      stateDir,
      '--no-such-flag',
      '--',
      '/bin/sh',
      '-c',
      `echo $$ > ${pidFile}; while :; do sleep 1; done`,
    ]);
    const exit = await gw.exited;
    assert.notEqual(exit.code, 0);
    assert.match(gw.stderr, /no-such-flag/);
    const survivors = () =>
      serversNaming(pidFile).concat(existsSync(pidFile) && isAlive(Number(readFileSync(pidFile, 'utf8'))) ? [Number(readFileSync(pidFile, 'utf8'))] : []);
    for (const end = Date.now() + 60_000; Date.now() < end && survivors().length > 0; ) await new Promise((r) => setTimeout(r, 50));
    const left = survivors();
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], 'the early server outlived the failed gateway');
  });
});
