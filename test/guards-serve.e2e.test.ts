// relaybleed through `toolgate serve`: a secret read from one server (files)
// cannot be written to another (notes) in the same client session; another
// session may send it (no cross-session bleed); writing it back to its own
// server is allowed under same_server: allow. Real processes: the built
// binary, two leaky fake servers over stdio, the SDK client over Streamable HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { bin, readEvents, tempDir, textOf } from './helpers.js';
import { Proc } from './transports-helpers.js';
import { LEAKED } from './leaky-server.js';

const POLICY = `version: "1"
default: allow
tools: {}
guards:
  taint:
    sources: [read_env]
    same_server: allow
`;

test('serve: a key read from one server is refused on its way to another, in every encoding; other sessions and write-back are unaffected', async () => {
  const dir = tempDir('toolgate-guards-serve-');
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const entry = (name: string) => `  ${name}:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(import.meta.dirname, 'leaky-server.js'))}, --serve, ${JSON.stringify(`--log=${join(dir, `${name}.jsonl`)}`)}]
    policy: ./policy.yaml
`;
  writeFileSync(join(dir, 'toolgate.yaml'), `version: 1\nlisten:\n  port: 0\nstate:\n  dir: ./state\nservers:\n${entry('files')}${entry('notes')}`);
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
  const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
  const connect = async () => {
    const c = new Client({ name: 'guards-serve', version: '1.0.0' }, { capabilities: {} });
    await c.connect(new StreamableHTTPClientTransport(new URL(url)));
    return c;
  };
  const a = await connect();
  const b = await connect();
  try {
    assert.match(textOf(await a.callTool({ name: 'files__read_env', arguments: {} })), new RegExp(LEAKED.aws));
    for (const body of [`INSERT INTO notes VALUES ('${LEAKED.aws}')`, Buffer.from(LEAKED.aws).toString('base64'), Buffer.from(LEAKED.aws).toString('hex')]) {
      const r = await a.callTool({ name: 'notes__write_note', arguments: { body } });
      assert.equal(r.isError, true, body);
      assert.match(textOf(r), /read from server "files"/);
    }
    // Back to its own server: allowed (same_server: allow).
    assert.equal(textOf(await a.callTool({ name: 'files__write_note', arguments: { body: LEAKED.aws } })), 'noted');
    // Another session never read it: allowed.
    assert.equal(textOf(await b.callTool({ name: 'notes__write_note', arguments: { body: LEAKED.aws } })), 'noted');
    const notes = readFileSync(join(dir, 'notes.jsonl'), 'utf8').trim().split('\n');
    assert.equal(notes.length, 1, "the notes server got only session B's call");
    const denialsNow = () => readEvents(join(dir, 'state')).filter((e) => e.type === 'tool_call' && e.reason === 'guard');
    // The event sink flushes within 50 ms: wait for the three records (the count is the assertion).
    for (const end = Date.now() + 60_000; Date.now() < end && denialsNow().length < 3; ) await new Promise((r) => setTimeout(r, 25));
    const denials = denialsNow();
    assert.equal(denials.length, 3);
    assert.ok(denials.every((e) => e.server === 'notes'));
  } finally {
    await a.close();
    await b.close();
    await gw.stop();
  }
});

test('serve: a tool name two servers offer is refused on the per-server endpoints once both lists are known; the aggregate (prefixed) stays usable', async () => {
  const dir = tempDir('toolgate-shadow-serve-');
  writeFileSync(join(dir, 'policy.yaml'), 'version: "1"\ndefault: allow\ntools: {}\n');
  const entry = (name: string) => `  ${name}:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(import.meta.dirname, 'leaky-server.js'))}, --serve, ${JSON.stringify(`--log=${join(dir, `${name}.jsonl`)}`)}]
    policy: ./policy.yaml
`;
  writeFileSync(join(dir, 'toolgate.yaml'), `version: 1\nlisten:\n  port: 0\nstate:\n  dir: ./state\nservers:\n${entry('files')}${entry('notes')}`);
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
  const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
  const connect = async (u: string) => {
    const c = new Client({ name: 'shadow-serve', version: '1.0.0' }, { capabilities: {} });
    await c.connect(new StreamableHTTPClientTransport(new URL(u)));
    return c;
  };
  const files = await connect(`${url}/files`);
  const agg = await connect(url);
  try {
    await files.listTools();
    // Only one server's list is known: not ambiguous yet (positive control).
    assert.equal(textOf(await files.callTool({ name: 'write_note', arguments: { body: 'one' } })), 'noted');
    await agg.listTools(); // the aggregate lists both servers
    const r = await files.callTool({ name: 'write_note', arguments: { body: 'two' } });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /ambiguous: server "notes" offers the same tool name/);
    assert.equal(textOf(await agg.callTool({ name: 'notes__write_note', arguments: { body: 'three' } })), 'noted');
    const bodies = readFileSync(join(dir, 'files.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { args: { body: string } }).args.body);
    assert.deepEqual(bodies, ['one']);
  } finally {
    await files.close();
    await agg.close();
    await gw.stop();
  }
});
