// End to end over every transport pair: the SDK client -> the built toolgate
// binary -> server-everything, with real processes on loopback addresses.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { bin, everythingServer, RawGateway, textOf, writePolicy } from './helpers.js';
import { connect, initializeBody, rawRequest, readEvents, startEverything, startGateway, Proc, type ClientKind } from './transports-helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

const PREFIX = '[TOOLGATE POLICY DENIED]';

const policyText = `
version: "1"
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
`;

const everythingStdio = [process.execPath, everythingServer, 'stdio'];
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface Pair {
  name: string;
  /** Start what the pair needs; returns how the client connects. */
  setup(policy: string, stateDir: string): Promise<{ kind: ClientKind; target: string | string[] }>;
}

async function everything(mode: 'streamableHttp' | 'sse'): Promise<string> {
  const { server, url } = await startEverything(mode);
  cleanups.push(() => server.stop());
  return url;
}

async function listener(policy: string, stateDir: string, args: string[]): Promise<string> {
  const { gw, url } = await startGateway(policy, stateDir, args);
  cleanups.push(() => gw.stop());
  return url;
}

const base = (policy: string, stateDir: string) => [bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn'];

const pairs: Pair[] = [
  {
    name: 'stdio -> Streamable HTTP',
    setup: async (policy, stateDir) => ({
      kind: 'stdio',
      target: [...base(policy, stateDir), '--upstream', await everything('streamableHttp'), '--upstream-transport', 'http'],
    }),
  },
  {
    name: 'Streamable HTTP -> stdio',
    setup: async (policy, stateDir) => ({
      kind: 'http',
      target: await listener(policy, stateDir, ['--transport', 'http', '--port', '0', '--', ...everythingStdio]),
    }),
  },
  {
    name: 'Streamable HTTP -> Streamable HTTP',
    setup: async (policy, stateDir) => ({
      kind: 'http',
      target: await listener(policy, stateDir, ['--transport', 'http', '--port', '0', '--upstream', await everything('streamableHttp')]),
    }),
  },
  {
    name: 'legacy SSE -> stdio',
    setup: async (policy, stateDir) => ({
      kind: 'sse',
      target: await listener(policy, stateDir, ['--transport', 'sse', '--port', '0', '--', ...everythingStdio]),
    }),
  },
  {
    // The default upstream transport (auto) tries Streamable HTTP first and falls back to SSE.
    name: 'legacy SSE -> legacy SSE (spec fallback)',
    setup: async (policy, stateDir) => ({
      kind: 'sse',
      target: await listener(policy, stateDir, ['--transport', 'sse', '--port', '0', '--upstream', await everything('sse')]),
    }),
  },
  {
    name: 'stdio -> legacy SSE (--upstream-transport sse)',
    setup: async (policy, stateDir) => ({
      kind: 'stdio',
      target: [...base(policy, stateDir), '--upstream', await everything('sse'), '--upstream-transport', 'sse'],
    }),
  },
];

for (const pair of pairs) {
  describe(pair.name, () => {
    test('filtered tools/list, allowed and denied calls, sampling, progress, cancellation', async () => {
      const { policy, stateDir } = writePolicy(policyText);
      const { kind, target } = await pair.setup(policy, stateDir);
      let sampled = 0;
      const { client, raw } = await connect(kind, target, {
        capabilities: { sampling: {} },
        setup: (c) =>
          c.setRequestHandler(CreateMessageRequestSchema, async () => {
            sampled++;
            return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled by the e2e client' } };
          }),
      });
      try {
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name);
        assert.ok(names.includes('get-sum'), names.join(','));
        assert.ok(!names.includes('get-env'), 'the hidden tool is filtered out');

        const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
        assert.equal(sum.isError ?? false, false);
        assert.match(textOf(sum), /5/);

        const denied = await client.callTool({ name: 'get-sum', arguments: { a: 100, b: 3 } });
        assert.equal(denied.isError, true);
        assert.equal(textOf(denied), `${PREFIX} a must be at most 10`);

        const s = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 5 } });
        assert.equal(sampled, 1);
        assert.match(textOf(s), /sampled by the e2e client/);

        // Progress: both notifications reach the client before the answer.
        const long = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 2 } }, undefined, {
          onprogress: () => {},
        });
        assert.equal(long.isError ?? false, false);
        const answerAt = raw.findIndex((m) => 'result' in m && textOf(m.result).includes('Long running operation completed'));
        const progress = raw.filter((m, i) => m.method === 'notifications/progress' && i < answerAt).map((m) => (m.params as { progress: number }).progress);
        assert.deepEqual(progress, [1, 2]);

        // Cancellation: abort after the first progress notification.
        const ac = new AbortController();
        let cancelledToken: unknown;
        const cancelled = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps: 3 } }, undefined, {
          signal: ac.signal,
          onprogress: () => ac.abort('test cancels'),
        });
        await assert.rejects(cancelled);
        cancelledToken = raw
          .filter((m) => m.method === 'notifications/progress')
          .map((m) => (m.params as { progressToken: unknown }).progressToken)
          .at(-1);
        // A later call of the same length ends after the cancelled one would have: its answer never came.
        const later = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps: 3 } });
        assert.equal(later.isError ?? false, false);
        assert.ok(!raw.some((m) => 'result' in m && m.id === cancelledToken), 'no answer to the cancelled call');
      } finally {
        await client.close();
      }
      // The gateway saw the cancellation (the call keeps its counters).
      let events: Array<Record<string, unknown>> = [];
      for (const end = Date.now() + 60_000; Date.now() < end; ) {
        events = readEvents(stateDir).filter((e) => e.type === 'tool_call');
        if (events.some((e) => e.cancelled === true)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(
        events.some((e) => e.cancelled === true && e.tool === 'trigger-long-running-operation'),
        JSON.stringify(events),
      );
      assert.equal(events.filter((e) => e.decision === 'denied').length, 1);
    });
  });
}

describe('listener security', () => {
  const key = 'k3y-for-the-e2e-tests';
  test('missing key, wrong key, foreign Origin and rebinding Host are refused; the right key works', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const url = await listener(policy, stateDir, ['--transport', 'http', '--port', '0', '--api-key', key, '--', ...everythingStdio]);
    const u = new URL(url);
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

    const missing = await rawRequest(url, { headers: json, body: initializeBody });
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers['www-authenticate']), /^Bearer realm="toolgate"/);

    const wrong = await rawRequest(url, { headers: { ...json, authorization: 'Bearer not-the-key-at-all' }, body: initializeBody });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);

    const origin = await rawRequest(url, { headers: { ...json, authorization: `Bearer ${key}`, origin: 'https://evil.example' }, body: initializeBody });
    assert.equal(origin.status, 403);
    assert.match(origin.body, /Origin/);

    const host = await rawRequest(url, { headers: { ...json, authorization: `Bearer ${key}`, host: `rebind.evil.example:${u.port}` }, body: initializeBody });
    assert.equal(host.status, 403);
    assert.match(host.body, /Host/);

    // A loopback Origin with the right key is fine.
    const { client } = await connect('http', url, { headers: { authorization: `Bearer ${key}`, origin: `http://localhost:${u.port}` } });
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo'));
    } finally {
      await client.close();
    }
  });

  test('the legacy SSE listener checks the key too', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const url = await listener(policy, stateDir, ['--transport', 'sse', '--port', '0', '--api-key', key, '--', ...everythingStdio]);
    const missing = await rawRequest(url, { method: 'GET', headers: { accept: 'text/event-stream' } });
    assert.equal(missing.status, 401);
    const { client } = await connect('sse', url, { headers: { authorization: `Bearer ${key}` } });
    try {
      assert.ok((await client.listTools()).tools.length > 0);
    } finally {
      await client.close();
    }
  });

  test('body and session limits: 413 with a JSON-RPC error, 503 past the session limit, 404 after DELETE', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const url = await listener(policy, stateDir, [
      '--transport',
      'http',
      '--port',
      '0',
      '--max-body-bytes',
      '2000',
      '--max-sessions',
      '1',
      '--',
      ...everythingStdio,
    ]);
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const big = await rawRequest(url, { headers: json, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5000) } }) });
    assert.equal(big.status, 413);
    assert.equal(JSON.parse(big.body).error.code, -32600);

    const { client, transport } = await connect('http', url);
    const second = await rawRequest(url, { headers: json, body: initializeBody });
    assert.equal(second.status, 503);
    const sid = (transport as unknown as { sessionId?: string }).sessionId!;
    assert.ok(sid);
    const del = await rawRequest(url, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
    assert.equal(del.status, 200);
    const gone = await rawRequest(url, {
      headers: { ...json, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
    });
    assert.equal(gone.status, 404);
    // The slot is free again.
    const third = await rawRequest(url, { headers: json, body: initializeBody });
    assert.equal(third.status, 200);
    await client.close().catch(() => {});
  });

  test('a client that leaves without DELETE: the idle timeout ends its session and its child process', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const { gw, url } = await startGateway(policy, stateDir, [
      '--transport',
      'http',
      '--port',
      '0',
      '--session-idle-timeout',
      '1',
      '--log-level',
      'info',
      '--',
      ...everythingStdio,
    ]);
    cleanups.push(() => gw.stop());
    const { client } = await connect('http', url);
    await client.listTools();
    const children = () => {
      const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(gw.proc.pid)], { encoding: 'utf8' }).stdout;
      return out.split('\n').filter((l) => l.trim()).length;
    };
    assert.equal(children(), 1, 'one child for the session');
    await client.close(); // no DELETE
    let left = 1;
    for (const end = Date.now() + 60_000; Date.now() < end && left > 0; ) {
      await new Promise((r) => setTimeout(r, 100));
      left = children();
    }
    assert.equal(left, 0, 'the child is gone');
    await gw.waitFor(/idle timeout/);
  });

  test('a non-loopback bind without authentication is refused', async () => {
    const { policy, stateDir } = writePolicy(policyText);
    const gw = new Proc([bin, '-c', policy, '--state-dir', stateDir, '--transport', 'http', '--bind', '0.0.0.0', '--port', '0', '--', ...everythingStdio]);
    const exit = await gw.exited;
    assert.equal(exit.code, 1);
    assert.match(gw.output, /refusing to listen on 0\.0\.0\.0 .*without authentication/);
  });
});

describe('upstream killed mid-call', () => {
  const limited = `
version: "1"
tools:
  trigger-long-running-operation:
    rules:
      - name: "one per hour"
        rate_limit: 1/hour
`;

  test('stdio -> HTTP: the client gets an error; the call had started, so its unit stays used after a restart', async () => {
    await clearOfWindowEnd('hour'); // a new window would also allow the call after the restart
    const { policy, stateDir } = writePolicy(limited);
    const first = await startEverything('streamableHttp');
    cleanups.push(() => first.server.stop());
    const gw = new RawGateway([bin, '-c', policy, '--state-dir', stateDir, '--log-level', 'warn', '--upstream', first.url]);
    cleanups.push(() => gw.close());
    await gw.initialize();
    gw.send({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 30 }, _meta: { progressToken: 'p7' } },
    });
    await gw.waitFor((m: any) => m.method === 'notifications/progress' && m.params.progressToken === 'p7');
    await first.server.stop('SIGKILL');
    const res = await gw.response(7);
    assert.equal(res.error?.code, -32001, JSON.stringify(res));
    assert.equal(res.error?.data?.may_have_run, true, 'the error says the server may have acted');

    // Same port, new server: the gateway initialises a new upstream session by itself.
    const second = await startEverything('streamableHttp', first.port);
    cleanups.push(() => second.server.stop());
    gw.send({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 0.1, steps: 1 } } });
    const denied = await gw.response(8);
    // The first call was running (it sent progress): its reservation was kept, not rolled back.
    assert.equal(denied.result?.isError, true, JSON.stringify(denied));
    assert.match(denied.result.content[0].text, /Rate limit/);
    gw.send({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} });
    const list = await gw.response(9);
    assert.ok(list.result?.tools?.length > 0, 'the new upstream session works');
  });
});
