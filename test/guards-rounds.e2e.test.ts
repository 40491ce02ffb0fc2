// Results that do not come back as the tools/call answer pass the result
// guards too (src/gateway/task-results.ts): a task's result in a tasks/get
// answer or a tasks/result answer, and what a 2026-07-28 server asks in an
// input round. A deliberately leaky 2026-07-28 server behind the built binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayArgs, RawGateway, readEvents, writePolicy } from './helpers.js';
import { LEAKED } from './leaky-server.js';

// Answers server/discover, tools/list, tools/call (export_job: a task; confirm_export: an input
// round whose question quotes the key), tasks/get (the finished task, result inline), tasks/result.
const leaky2026 = `
const KEY = ${JSON.stringify(LEAKED.aws)};
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const leak = { content: [{ type: 'text', text: 'export: AWS_ACCESS_KEY_ID=' + KEY }] };
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const p = m.params || {};
  const r = (result) => out({ jsonrpc: '2.0', id: m.id, result });
  if (m.method === 'server/discover')
    return r({ supportedVersions: ['2026-07-28'], capabilities: { tools: {}, extensions: { 'io.modelcontextprotocol/tasks': {} } }, serverInfo: { name: 'leaky-2026', version: '1' } });
  if (m.method === 'tools/list')
    return r({ tools: [{ name: 'export_job', inputSchema: { type: 'object' } }, { name: 'confirm_export', inputSchema: { type: 'object' } }], ttlMs: 0, cacheScope: 'private' });
  if (m.method === 'tools/call' && p.name === 'export_job') return r({ resultType: 'task', task: { taskId: 'job-1', status: 'working', ttlMs: 60000, pollIntervalMs: 20 } });
  if (m.method === 'tools/call' && p.name === 'confirm_export') {
    if (!p.inputResponses)
      return r({ resultType: 'input_required', requestState: 'srv-state-1', inputRequests: { ok: { method: 'elicitation/create', params: { mode: 'form', message: 'Send ' + KEY + ' to the partner?', requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } } } } } } });
    return r({ content: [{ type: 'text', text: 'sent with state ' + p.requestState }] });
  }
  if (m.method === 'tasks/get') return r({ task: { taskId: p.taskId, status: 'completed', ttlMs: 60000, result: leak } });
  if (m.method === 'tasks/result') return r(leak);
  out({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
});`;

const meta = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  'io.modelcontextprotocol/clientInfo': { name: 'e2e', version: '1' },
};

async function gateway(action: 'redact' | 'block') {
  const { policy, stateDir } = writePolicy(`version: "1"\ndefault: allow\ntools: {}\nguards:\n  detect: { action: ${action} }\n`);
  const gw = new RawGateway(gatewayArgs(policy, stateDir, [process.execPath, '-e', leaky2026]));
  let seq = 0;
  const request = async (method: string, params: Record<string, unknown>) => {
    const id = ++seq;
    gw.send({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } });
    return gw.response(id);
  };
  return { gw, stateDir, request };
}

test("a task's result is guarded wherever it arrives: tasks/get (inline) and tasks/result; an input round's question too", async () => {
  const { gw, stateDir, request } = await gateway('redact');
  try {
    const job = await request('tools/call', { name: 'export_job', arguments: {} });
    assert.equal(job.result.task.taskId, 'job-1');
    const got = await request('tasks/get', { taskId: 'job-1' });
    assert.equal(got.result.task.status, 'completed');
    assert.equal(got.result.task.result.content[0].text, 'export: AWS_ACCESS_KEY_ID=[REDACTED:aws_key]');
    const res = await request('tasks/result', { taskId: 'job-1' });
    assert.equal(res.result.content[0].text, 'export: AWS_ACCESS_KEY_ID=[REDACTED:aws_key]');
    // A task this session never started (another session's, or made up): its result is guarded too.
    const stranger = await request('tasks/result', { taskId: 'not-mine-9' });
    assert.equal(stranger.result.content[0].text, 'export: AWS_ACCESS_KEY_ID=[REDACTED:aws_key]');

    const round = await request('tools/call', { name: 'confirm_export', arguments: {} });
    assert.equal(round.result.resultType, 'input_required');
    assert.equal(round.result.inputRequests.ok.params.message, 'Send [REDACTED:aws_key] to the partner?');
    // The round goes on: the server gets back exactly its own requestState.
    const done = await request('tools/call', {
      name: 'confirm_export',
      arguments: {},
      requestState: round.result.requestState,
      inputResponses: { ok: { action: 'accept', content: { ok: true } } },
    });
    assert.equal(done.result.content[0].text, 'sent with state srv-state-1');
    assert.ok(!JSON.stringify(gw.messages).includes(LEAKED.aws), 'the key reached the client');
    const detects = () => readEvents(stateDir).filter((e) => e.type === 'tool_guard' && e.guard === 'detect');
    for (const end = Date.now() + 60_000; Date.now() < end && detects().length < 4; ) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      detects().map((g) => `${g.tool}:${g.action}`),
      ['export_job:redact', 'export_job:redact', '(unknown task):redact', 'confirm_export:redact'],
    );
  } finally {
    await gw.close();
  }
});

test('block: a task result and an input round carrying a key never reach the client', async () => {
  const { gw, request } = await gateway('block');
  try {
    await request('tools/call', { name: 'export_job', arguments: {} });
    const got = await request('tasks/get', { taskId: 'job-1' });
    assert.equal(got.result.task.result.isError, true);
    assert.match(got.result.task.result.content[0].text, /withheld by guards\.detect \(action: block\)/);
    const res = await request('tasks/result', { taskId: 'job-1' });
    assert.equal(res.result.isError, true);
    const round = await request('tools/call', { name: 'confirm_export', arguments: {} });
    assert.equal(round.result.isError, true, 'the question is withheld: the call ends with the guard error');
    assert.equal(round.result.resultType, undefined);
    assert.ok(!JSON.stringify(gw.messages).includes(LEAKED.aws), 'the key reached the client');
  } finally {
    await gw.close();
  }
});
