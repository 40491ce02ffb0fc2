// The shared-child multiplexer (shared-child.ts) against a real child process
// (a scripted line server), at the message level: what a hostile or careless
// session could do to another session on the same child.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ChildServer } from './child.js';
import type { Frame } from './channel.js';
import { parseSessionMode, StdioPool } from './shared-child.js';

// initialize -> a fixed answer; `ask` -> asks the client (elicitation) and answers with what came back;
// `stats` -> how many initialize requests it saw.
const SERVER = `
let inits = 0; const asked = new Map(); let buf = '';
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
process.stdin.on('data', (d) => {
  buf += d; let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const m = JSON.parse(buf.slice(0, nl)); buf = buf.slice(nl + 1);
    if (m.method === 'initialize') { inits++; out({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }); }
    else if (m.method === 'ask') { const q = 'q' + m.id; asked.set(q, m.id); out({ jsonrpc: '2.0', id: q, method: 'elicitation/create', params: { message: 'who?' } }); }
    else if (m.method === 'stats') out({ jsonrpc: '2.0', id: m.id, result: { inits } });
    else if (m.id !== undefined && asked.has(m.id)) { out({ jsonrpc: '2.0', id: asked.get(m.id), result: m.result }); asked.delete(m.id); }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

function collect() {
  const frames: Array<Record<string, any>> = [];
  const waiters: Array<() => void> = [];
  return {
    frames,
    onframe: (f: Frame) => {
      frames.push(f.value as Record<string, any>);
      for (const w of waiters.splice(0)) w();
    },
    next: async (pred: (m: Record<string, any>) => boolean): Promise<Record<string, any>> => {
      for (;;) {
        const hit = frames.find(pred);
        if (hit) return hit;
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

test('one initialize for the child, replayed per session; a session cannot answer another session’s server request', async () => {
  const pool = new StdioPool({ spawn: () => new ChildServer({ command: process.execPath, args: ['-e', SERVER] }), size: 1, log: pino({ level: 'silent' }) });
  try {
    const a = pool.open('a');
    const b = pool.open('b');
    const ca = collect();
    const cb = collect();
    a.channel.onframe = ca.onframe;
    b.channel.onframe = cb.onframe;
    const init = (id: number) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
      });
    a.channel.send(init(1));
    b.channel.send(init(1));
    assert.equal((await ca.next((m) => m.id === 1)).result.serverInfo.name, 's');
    assert.equal((await cb.next((m) => m.id === 1)).result.serverInfo.name, 's');
    a.channel.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    b.channel.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    b.channel.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'stats' }));
    assert.deepEqual((await cb.next((m) => m.id === 2)).result, { inits: 1 });

    a.channel.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ask' }));
    const question = await ca.next((m) => m.method === 'elicitation/create');
    assert.equal(
      cb.frames.some((m) => m.method === 'elicitation/create'),
      false,
    );
    // B forges an answer to A's question (it can guess the id's shape): dropped; A's own answer counts.
    b.channel.send(JSON.stringify({ jsonrpc: '2.0', id: question.id, result: { action: 'accept', content: { who: 'B' } } }));
    a.channel.send(JSON.stringify({ jsonrpc: '2.0', id: question.id, result: { action: 'accept', content: { who: 'A' } } }));
    assert.deepEqual((await ca.next((m) => m.id === 7)).result.content, { who: 'A' });
    assert.equal(
      cb.frames.some((m) => m.id === 7),
      false,
    );
    assert.equal(pool.pids.length, 1);
  } finally {
    await pool.close();
  }
});

test('prestart: the first child runs before any session, and the first session is put on it', async () => {
  let spawned = 0;
  const pool = new StdioPool({
    spawn: () => {
      spawned++;
      return new ChildServer({ command: process.execPath, args: ['-e', SERVER] });
    },
    size: 2,
    log: pino({ level: 'silent' }),
  });
  try {
    pool.prestart();
    pool.prestart();
    assert.equal(spawned, 1, 'one child, however often asked');
    const [pid] = pool.pids;
    const a = pool.open('a');
    assert.equal(spawned, 1, 'the first session takes the child already running');
    assert.deepEqual(pool.pids, [pid]);
    a.close();
  } finally {
    await pool.close();
  }
});

test('session modes: per-session, shared, pool:N; anything else is refused with the choices', () => {
  assert.deepEqual(parseSessionMode(undefined), { kind: 'per-session' });
  assert.deepEqual(parseSessionMode('per-session'), { kind: 'per-session' });
  assert.deepEqual(parseSessionMode('shared'), { kind: 'pool', size: 1 });
  assert.deepEqual(parseSessionMode('pool:64'), { kind: 'pool', size: 64 });
  for (const bad of ['pool:0', 'pool:65', 'pool:01', 'pool:', 'Shared', '', 3, null])
    assert.throws(() => parseSessionMode(bad), /--session-mode must be per-session, shared or pool:N \(N from 1 to 64\)/);
});
