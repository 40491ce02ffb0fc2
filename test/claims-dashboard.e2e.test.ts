// README (dashboard): "One page for every gateway sharing the state directory", and its live
// calls show "every decision as the gateways write it". Two gateway processes on one state
// directory in front of the demo server, `toolgate dashboard` as a process, read through its
// HTTP API (/api/calls and the Server-Sent Events of /api/stream) as the page reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { bin, demoServer, gatewayArgs, RawGateway, writePolicy } from './helpers.js';
import { until } from './support/until.js';

const ADMIN = 'e2e-claims-dashboard-admin-key-0123';
const POLICY = `version: "1"
default: allow
tools:
  delete_customer:
    rules:
      - name: "never delete"
        action: deny
        on_deny: "customers are never deleted here"
`;

type Row = { seq: number | null; instance: string; tool: string | null; status: string; rule: string | null };

async function call(gw: RawGateway, id: string, name: string, args: Record<string, unknown>): Promise<any> {
  gw.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  return gw.response(id);
}

test('the dashboard shows the decisions of every gateway on the state directory, and streams each new one as it is written', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const a = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
  const b = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, demoServer]));
  const dash = spawn(process.execPath, [bin, 'dashboard', '--state-dir', stateDir, '--port', '0', '--admin-key', ADMIN], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let dashErr = '';
  dash.stderr.on('data', (d: Buffer) => (dashErr += d.toString()));
  const stream = new AbortController();
  try {
    await Promise.all([a.initialize(), b.initialize()]);
    assert.equal((await call(a, 'a1', 'get_weather', { city: 'Lisbon' })).result?.content?.[0]?.text, 'It is sunny in Lisbon, 21°C.');
    const denied = await call(b, 'b1', 'delete_customer', { id: 'c1' });
    assert.equal(denied.result?.isError, true, JSON.stringify(denied));

    await until('the dashboard is listening', () => /toolgate dashboard on http:\/\/\S+/.test(dashErr), 60_000);
    const url = /toolgate dashboard on (http:\/\/\S+)/.exec(dashErr)![1]!;
    const auth = { authorization: `Bearer ${ADMIN}` };
    // Records reach audit.db by group commit (journaled first), so the page may see them a moment after the answers.
    let rows: Row[] = [];
    await until('both decisions listed', async () => {
      const res = await fetch(`${url}api/calls`, { headers: auth });
      assert.equal(res.status, 200);
      rows = ((await res.json()) as { calls: Row[] }).calls;
      return rows.length >= 2;
    });
    const weather = rows.find((r) => r.tool === 'get_weather');
    const deletion = rows.find((r) => r.tool === 'delete_customer');
    assert.equal(weather?.status, 'allowed', JSON.stringify(rows));
    assert.equal(deletion?.status, 'denied', JSON.stringify(rows));
    assert.equal(deletion?.rule, 'never delete');
    assert.notEqual(weather!.instance, deletion!.instance, 'two gateways, one page');

    // Live: the stream says hello with the last sequence number, then sends each new decision.
    const live = await fetch(`${url}api/stream`, { headers: auth, signal: stream.signal });
    assert.equal(live.status, 200);
    assert.match(live.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events: Array<{ event: string; data: any }> = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of live.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    })().catch(() => undefined);
    await until('the stream said hello', () => events.some((e) => e.event === 'hello'));
    const hello = events.find((e) => e.event === 'hello')!.data as { last_seq: number };

    assert.equal((await call(b, 'b2', 'echo', { message: 'from b' })).result?.content?.[0]?.text, 'from b');
    assert.equal((await call(a, 'a2', 'delete_customer', { id: 'c2' })).result?.isError, true);
    await until('both new decisions streamed', () => events.filter((e) => e.event === 'call').length >= 2);
    const streamed = events.filter((e) => e.event === 'call').map((e) => e.data as Row);
    // Two processes commit their records each on its own timer: which lands first is not fixed.
    assert.deepEqual(
      streamed.map((r) => [r.tool, r.status]).sort(),
      [
        ['delete_customer', 'denied'],
        ['echo', 'allowed'],
      ],
      'only the decisions made after the stream opened',
    );
    assert.ok(
      streamed.every((r) => (r.seq ?? 0) > hello.last_seq),
      JSON.stringify(streamed),
    );
    assert.equal(new Set(streamed.map((r) => r.instance)).size, 2, 'from both gateways');
    stream.abort();
    await reading;
  } finally {
    stream.abort();
    dash.kill();
    await Promise.all([a.close(), b.close()]);
  }
});
