// The wire guarantees, end to end: a real toolgate in front of servers that
// parse JSON as Go (case-insensitive keys, last wins) or as a first-key-wins
// parser does, attacked over stdio and Streamable HTTP with the shapes of
// issue 16. Each must end with: the gateway up, an answer, and the server
// having run only calls decided exactly as it read them, each audited.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertOnlyDecidedRan, httpGateway, recordOf, serverLog, stdioGateway, undecidedRuns, type WireGateway } from './wire-support.js';
import { readEvents } from './helpers.js';
import { call, CRASHES, DUPLICATES, GO_BYPASSES } from './wire-corpus.js';

/**
 * Send each shape, then a control call; check after each that the gateway is
 * up and the server ran only what was decided. Every failing shape is
 * reported (not only the first), so each can be seen to fail without the fix.
 */
async function attack(g: WireGateway, shapes: Array<[string, string]>): Promise<void> {
  const failures: string[] = [];
  let n = 0;
  let undecided = 0;
  for (const [what, text] of shapes) {
    try {
      await g.send(text);
      assert.ok(g.alive(), 'the gateway died');
      // The control orders the checks after the shape was handled (stdio and the audit sink keep order).
      await g.control(`ctl-${++n}`);
      const bad = undecidedRuns(g);
      const fresh = bad.slice(undecided);
      undecided = bad.length;
      if (fresh.length > 0) throw new Error(fresh.map((r) => `the server got ${r.tool} ${JSON.stringify(r.fields ?? {})}, not decided so`).join('; '));
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      if (!g.alive()) break;
    }
  }
  assert.deepEqual(failures, []);
}

for (const transport of ['stdio', 'http'] as const) {
  const open = transport === 'stdio' ? stdioGateway : httpGateway;

  describe(`wire (${transport}): what a server reads is what was decided`, () => {
    test('against a Go-decoding server, no case-variant, look-alike or id-less shape runs a denied, hidden or over-cap call', async () => {
      const g = await open('go');
      try {
        await attack(g, GO_BYPASSES);
        const ran = serverLog(g.serverLog).filter((e) => e.executed);
        assert.deepEqual(
          ran.filter((e) => e.tool !== 'echo').map((e) => e.tool),
          [],
          'only the echo controls ran',
        );
        // The refused calls are audited too (as denied), e.g. the notification and the look-alikes.
        const denied = readEvents(g.stateDir).filter((e) => e.type === 'tool_call' && e.decision === 'denied');
        assert.ok(
          denied.some((e) => e.reason === 'invalid_call' && /without an id/.test(e.message)),
          'the tools/call notification is audited',
        );
        assert.ok(
          denied.some((e) => e.tool === 'Delete_File' && /looks like "delete_file"/.test(e.message)),
          'the look-alike is audited',
        );
      } finally {
        await g.close();
      }
    });

    test('a duplicate method key is never forwarded raw (a first-key-wins server would run the first)', async () => {
      const g = await open('first');
      try {
        await attack(g, DUPLICATES);
        assert.deepEqual(
          serverLog(g.serverLog).filter((e) => e.executed && e.tool !== 'echo'),
          [],
        );
      } finally {
        await g.close();
      }
    });

    test('Infinity and deep nesting end one message, not the gateway; the call is refused and audited', async () => {
      const g = await open('go');
      try {
        await attack(g, CRASHES);
        const refused = readEvents(g.stateDir).filter((e) => e.type === 'tool_call' && e.decision === 'denied' && e.reason === 'invalid_call');
        assert.ok(
          refused.some((e) => e.request_id === 'c1' && /out of range/.test(e.message)),
          JSON.stringify(refused),
        );
        assert.ok(
          refused.some((e) => e.request_id === 'c3' && /deeper than 64/.test(e.message)),
          JSON.stringify(refused),
        );
        // A lone surrogate is a string like any other: the call is decided (allowed here) and its hash is the escaped form's.
        assert.ok(
          readEvents(g.stateDir).some((e) => e.type === 'tool_call' && e.request_id === 'c5' && e.decision === 'allowed'),
          'the call with a lone surrogate was not decided',
        );
        assert.deepEqual(
          serverLog(g.serverLog).filter((e) => e.executed && e.tool !== 'echo'),
          [],
        );
      } finally {
        await g.close();
      }
    });
  });
}

describe('wire (stdio): ids and answers', () => {
  test('two calls with one id in flight: the second is refused before it is forwarded; each run has its record', async () => {
    const g = await stdioGateway('go');
    try {
      const a = call('same', '{"name":"echo","arguments":{"text":"first"}}');
      const b = call('same', '{"name":"echo","arguments":{"text":"second"}}');
      g.raw.send(`${a}\n${b}`);
      await g.control('ctl-after');
      const answers = g.raw.messages.filter((m: any) => m.id === 'same');
      assert.equal(answers.length, 2, JSON.stringify(answers));
      assert.ok(answers.some((m: any) => m.error?.code === -32600 && /already in flight/.test(m.error.message)));
      const ran = assertOnlyDecidedRan(g).filter((e) => e.id === 'same');
      assert.equal(ran.length, 1);
    } finally {
      await g.close();
    }
  });

  test('a ping and a tools/list with one id: the list is never answered unfiltered', async () => {
    const g = await stdioGateway('go');
    try {
      g.raw.send(`{"jsonrpc":"2.0","id":"twin","method":"ping"}\n{"jsonrpc":"2.0","id":"twin","method":"tools/list"}`);
      await g.control('ctl-after');
      const answers = g.raw.messages.filter((m: any) => m.id === 'twin');
      assert.equal(answers.length, 2, JSON.stringify(answers));
      assert.ok(!JSON.stringify(answers).includes('secret'), `a hidden tool leaked: ${JSON.stringify(answers)}`);
      // Positive control: a list with its own id is filtered and does list the visible tools.
      g.raw.send({ jsonrpc: '2.0', id: 'list', method: 'tools/list' });
      const list = await g.raw.response('list');
      assert.deepEqual(list.result.tools.map((t: { name: string }) => t.name).sort(), ['delete_file', 'echo', 'transfer']);
    } finally {
      await g.close();
    }
  });

  test("a hostile server's tools/list nested 5,000 deep: the client gets an error, the gateway stays up", async () => {
    const g = await stdioGateway('go', { DEEP_LIST: '1' });
    try {
      g.raw.send({ jsonrpc: '2.0', id: 'deep-list', method: 'tools/list' });
      const res = await g.raw.response('deep-list');
      assert.equal(res.error?.code, -32603, JSON.stringify(res).slice(0, 300));
      await g.control('ctl-after');
    } finally {
      await g.close();
    }
  });

  test('a Cyrillic look-alike of a denied tool is refused and audited, unless the server listed that exact name', async () => {
    const g = await stdioGateway('go');
    try {
      g.raw.send(call('cyr', '{"name":"d\u0435lete_file","arguments":{}}'));
      const res = await g.raw.response('cyr');
      assert.equal(res.result?.isError, true);
      assert.match(res.result.content[0].text, /looks like "delete_file"/);
      const rec = await recordOf(g.stateDir, 'cyr');
      assert.equal(rec.decision, 'denied');
      await g.control('ctl-after');
    } finally {
      await g.close();
    }
  });

  test('limits are flags: --max-batch 2 refuses a batch of 3 with -32600, a batch of 2 is answered', async () => {
    const g = await stdioGateway('go', {}, ['--max-batch', '2']);
    try {
      const ping = (id: string) => ({ jsonrpc: '2.0', id, method: 'ping' });
      g.raw.send([ping('p1'), ping('p2'), ping('p3')]);
      const refused = await g.raw.waitFor((m: any) => m?.error?.code === -32600);
      assert.match(refused.error.message, /batch of 3 messages \(limit 2\)/);
      g.raw.send([ping('p4'), ping('p5')]);
      const answer = await g.raw.waitFor((m: any) => Array.isArray(m));
      assert.deepEqual(answer.map((m: any) => m.id).sort(), ['p4', 'p5']);
      assert.equal(serverLog(g.serverLog).filter((e) => e.method === 'ping').length, 2);
    } finally {
      await g.close();
    }
  });
});

describe('wire (Streamable HTTP, 2026-07-28 stateless lane)', () => {
  test('a tools/call without an id is never forwarded: dropped and audited; a call with an id still works', async () => {
    const g = await httpGateway('go');
    const V = '2026-07-28';
    const meta = { 'io.modelcontextprotocol/protocolVersion': V };
    const post = (body: unknown, name: string) =>
      fetch(g.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': V,
          'mcp-method': 'tools/call',
          'mcp-name': name,
        },
        body: JSON.stringify(body),
      });
    try {
      const note = await post(
        { jsonrpc: '2.0', method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/etc' }, _meta: meta } },
        'delete_file',
      );
      assert.equal(note.status, 202);
      // Positive control on the same lane: it follows the notification through the same session, in order.
      const res = await post(
        { jsonrpc: '2.0', id: 'lane-ctl', method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' }, _meta: meta } },
        'echo',
      );
      const answer = (await res.json()) as { id: string; result?: { content: Array<{ text: string }> } };
      assert.equal(answer.id, 'lane-ctl');
      assert.match(answer.result?.content[0]?.text ?? '', /executed echo/);
      // The lane renames ids (lane-N); the echo's record is the second call record, after the dropped one.
      for (let i = 0; !readEvents(g.stateDir).some((e) => e.type === 'tool_call' && e.tool === 'echo'); i++) {
        assert.ok(i < 400, 'no audit record for the control call');
        await new Promise((r) => setTimeout(r, 25));
      }
      // A refused body on the lane: 400 with the error, and audited by the lane's session.
      const refused = await post(
        { jsonrpc: '2.0', id: 'lane-bad', method: 'tools/call', params: { name: 'delete_file', arguments: { amount: 1, Amount: 2 }, _meta: meta } },
        'delete_file',
      );
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { error: { code: number } }).error.code, -32602);
      for (let i = 0; !readEvents(g.stateDir).some((e) => e.type === 'tool_call' && e.request_id === 'lane-bad'); i++) {
        assert.ok(i < 400, 'no audit record for the refused call');
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.deepEqual(
        serverLog(g.serverLog).filter((e) => e.tool === 'delete_file'),
        [],
      );
      const dropped = readEvents(g.stateDir).filter((e) => e.type === 'tool_call' && e.decision === 'denied' && /without an id/.test(e.message));
      assert.equal(dropped.length, 1);
      assert.equal(dropped[0]!.tool, 'delete_file');
    } finally {
      await g.close();
    }
  });
});

describe('wire (stdio): a server that coerces types like pydantic', () => {
  test('a string amount is decided as what the server will act on: a deny_if on a number never lets "5000" through', async () => {
    const policy = `version: "1"
tools:
  transfer:
    rules:
      - name: "no big transfers"
        action: deny_if
        conditions:
          - { path: "args.amount", op: gt, value: 1000 }
        on_deny: "transfers over 1000 are not allowed"
`;
    const g = await stdioGateway('pydantic', {}, [], policy);
    try {
      await attack(g, [
        ['a digit string over the limit', call('p1', '{"name":"transfer","arguments":{"amount":"5000","to":"x"}}')],
        ['a decimal string over the limit', call('p2', '{"name":"transfer","arguments":{"amount":"5000.5","to":"x"}}')],
      ]);
      // Positive control: a number under the limit runs.
      g.raw.send(call('p3', '{"name":"transfer","arguments":{"amount":5,"to":"x"}}'));
      assert.match((await g.raw.response('p3')).result.content[0].text, /executed transfer/);
      assert.deepEqual(
        serverLog(g.serverLog)
          .filter((e) => e.executed && e.tool === 'transfer')
          .map((e) => e.fields?.amount),
        [5],
      );
    } finally {
      await g.close();
    }
  });
});

describe('wire (legacy HTTP+SSE)', () => {
  test('two calls with one id in flight: the second is refused, one runs; a duplicate-key body gets 400', async () => {
    const { writePolicy } = await import('./helpers.js');
    const { startGateway } = await import('./transports-helpers.js');
    const { WIRE_POLICY, lenientServer } = await import('./wire-support.js');
    const { join } = await import('node:path');
    const w = writePolicy(WIRE_POLICY);
    const log = join(w.dir, 'server.jsonl');
    const { gw, url } = await startGateway(w.policy, w.stateDir, ['--transport', 'sse', '--port', '0', '--', process.execPath, lenientServer], {
      ...process.env,
      DECODE: 'go',
      SERVER_LOG: log,
    });
    const stream = await fetch(url, { headers: { accept: 'text/event-stream' } });
    const reader = stream.body!.getReader();
    const messages: Array<Record<string, any>> = [];
    let endpoint = '';
    let buffer = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += Buffer.from(value).toString('utf8');
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = event
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trim())
            .join('\n');
          if (/^event: endpoint/m.test(event)) endpoint = new URL(data, url).href;
          else if (data) messages.push(...([] as Array<Record<string, any>>).concat(JSON.parse(data)));
        }
      }
    })();
    const until = async (ok: () => boolean) => {
      for (let i = 0; !ok(); i++) {
        assert.ok(i < 400, `timed out; got ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const post = (body: string) => fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    try {
      await until(() => endpoint !== '');
      await post(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 'init',
          method: 'initialize',
          params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        }),
      );
      await until(() => messages.some((m) => m.id === 'init'));
      await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      const bad = await post(call('dup-keys', '{"name":"transfer","arguments":{"amount":5000,"amount":1}}'));
      assert.equal(bad.status, 400);
      // The first is answered only after a while (the server holds "slow" echoes): it is in flight when the second comes.
      await post(call('same', '{"name":"echo","arguments":{"text":"slow first"}}'));
      await until(() => serverLog(log).some((e) => e.id === 'same'));
      await post(call('same', '{"name":"echo","arguments":{"text":"second"}}'));
      await until(() => messages.filter((m) => m.id === 'same').length === 2);
      assert.equal(messages.filter((m) => m.id === 'same' && m.error?.code === -32600).length, 1, JSON.stringify(messages));
      assert.equal(serverLog(log).filter((e) => e.executed && e.id === 'same').length, 1);
      assert.deepEqual(
        serverLog(log).filter((e) => e.tool === 'transfer'),
        [],
      );
    } finally {
      await reader.cancel().catch(() => {});
      await pump.catch(() => {});
      gw.proc.kill('SIGTERM');
      await gw.exited;
    }
  });
});

describe('wire (stdio): message size', () => {
  test('--max-message-bytes: a longer line is refused with -32600 as it grows (not buffered), and the gateway goes on', async () => {
    const g = await stdioGateway('go', {}, ['--max-message-bytes', '2000']);
    try {
      // A whole line over the limit.
      g.raw.send(call('big', `{"name":"echo","arguments":{"text":"${'x'.repeat(3000)}"}}`));
      const whole = await g.raw.waitFor((m: any) => m?.error?.code === -32600 && /larger than 2000 bytes/.test(m.error.message));
      assert.equal(whole.id, null);
      // A line still growing past the limit: refused before its end arrives.
      const before = g.raw.messages.length;
      g.raw.proc.stdin.write(`{"jsonrpc":"2.0","id":"grow","method":"tools/call","params":{"name":"echo","arguments":{"text":"${'y'.repeat(5000)}`);
      await g.raw.waitFor((m: any) => g.raw.messages.indexOf(m) >= before && m?.error?.code === -32600);
      g.raw.proc.stdin.write('"}}}\n');
      await g.control('ctl-after');
      assert.deepEqual(
        serverLog(g.serverLog).filter((e) => e.id === 'big' || e.id === 'grow'),
        [],
      );
    } finally {
      await g.close();
    }
  });
});

describe('wire (toolgate serve)', () => {
  test('one admission on /mcp/<server> and the aggregate /mcp: bypass shapes get 400, listen.max_batch applies, a control call runs', async () => {
    const { tempDir } = await import('./helpers.js');
    const { Proc } = await import('./transports-helpers.js');
    const { WIRE_POLICY, lenientServer } = await import('./wire-support.js');
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { bin } = await import('./helpers.js');
    const dir = tempDir();
    const log = join(dir, 'server.jsonl');
    writeFileSync(join(dir, 'policy.yaml'), WIRE_POLICY);
    writeFileSync(
      join(dir, 'toolgate.yaml'),
      `version: 1
listen:
  port: 0
  max_batch: 2
state:
  dir: ./state
servers:
  lenient:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(lenientServer)}]
    env: { DECODE: go, SERVER_LOG: ${JSON.stringify(log)} }
    policy: ./policy.yaml
`,
    );
    const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
    try {
      const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
      const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
      for (const endpoint of [`${url}/lenient`, url]) {
        const init = await fetch(endpoint, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 'init',
            method: 'initialize',
            params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
          }),
        });
        assert.equal(init.status, 200, await init.text());
        const session = { ...headers, 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
        await fetch(endpoint, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
        // The shapes admission refuses (the others are the policy's: denials, answered 200).
        const refusedAtAdmission = GO_BYPASSES.filter(([what]) => /"(Method|ID|Name|Arguments|Amount|PARAMS)"/.test(what));
        assert.equal(refusedAtAdmission.length, 7);
        for (const [what, text] of [...refusedAtAdmission, ...DUPLICATES]) {
          const res = await fetch(endpoint, { method: 'POST', headers: session, body: text });
          assert.equal(res.status, 400, `${what} on ${endpoint}: ${res.status} ${await res.text()}`);
        }
        const batch = await fetch(endpoint, {
          method: 'POST',
          headers: session,
          body: JSON.stringify([1, 2, 3].map((i) => ({ jsonrpc: '2.0', id: `p${i}`, method: 'ping' }))),
        });
        assert.equal(batch.status, 400);
        assert.match(await batch.text(), /limit 2/);
        const name = endpoint === url ? 'lenient__echo' : 'echo';
        const ok = await fetch(endpoint, {
          method: 'POST',
          headers: session,
          body: JSON.stringify({ jsonrpc: '2.0', id: 'ctl', method: 'tools/call', params: { name, arguments: { text: 'hi' } } }),
        });
        assert.match(await ok.text(), /executed echo/);
      }
      assert.deepEqual(
        serverLog(log).filter((e) => e.executed && e.tool !== 'echo'),
        [],
      );
    } finally {
      gw.proc.kill('SIGTERM');
      await gw.exited;
    }
  });
});
