// `toolgate serve` promises the README makes about the aggregate endpoint and
// sessions, through the built binary and the official SDK client:
// - prompts and resources of every server are merged on /mcp (prompts named
//   <server>__<prompt>, resources by URI), and get/read reach the owner;
// - every client session gets its own connection to each server it uses;
// - two servers' tools of the same name never shadow each other, nor share counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { bin, tempDir, textOf } from './helpers.js';
import { Proc } from './transports-helpers.js';
import { clearOfWindowEnd } from './window-guard.js';

/** A stdio MCP server named by its first argument: one tool (whoami: its pid), one prompt, one resource. */
const NAMED_SERVER = `
const name = process.argv[1];
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  const answer = (result) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
  switch (m.method) {
    case 'initialize': return answer({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {}, prompts: {}, resources: {} }, serverInfo: { name, version: '1' } });
    case 'tools/list': return answer({ tools: [{ name: 'whoami', inputSchema: { type: 'object' } }] });
    case 'tools/call': return answer({ content: [{ type: 'text', text: name + ' pid ' + process.pid }] });
    case 'prompts/list': return answer({ prompts: [{ name: 'greet', description: 'a greeting from ' + name }] });
    case 'prompts/get': return answer({ messages: [{ role: 'user', content: { type: 'text', text: 'hello from ' + name + ' (' + m.params.name + ')' } }] });
    case 'resources/list': return answer({ resources: [{ uri: 'mem://' + name + '/note', name: 'note' }] });
    case 'resources/read': return answer({ contents: [{ uri: m.params.uri, text: 'note of ' + name }] });
    default: process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } }) + '\\n');
  }
});`;

async function startServe(policy = 'version: "1"\n'): Promise<{ gw: Proc; url: string; dir: string }> {
  const dir = tempDir('toolgate-claims-serve-');
  writeFileSync(join(dir, 'open.yaml'), policy);
  const entry = (name: string) =>
    `  ${name}:\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-e", ${JSON.stringify(NAMED_SERVER)}, ${name}]\n    policy: ./open.yaml\n`;
  writeFileSync(join(dir, 'toolgate.yaml'), `version: 1\nlisten:\n  port: 0\nstate:\n  dir: ./state\nservers:\n${entry('alpha')}${entry('beta')}`);
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn']);
  const url = (await gw.waitFor(/toolgate listening on (http:\/\/\S+)/))[1]!;
  return { gw, url, dir };
}

async function client(url: string): Promise<Client> {
  const c = new Client({ name: 'claims-serve', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
}

test('/mcp merges the prompts and resources of every server, and get/read reach the server that has them', async () => {
  const { gw, url } = await startServe();
  try {
    const c = await client(url);
    try {
      const prompts = (await c.listPrompts()).prompts.map((p) => [p.name, p.description]).sort();
      assert.deepEqual(prompts, [
        ['alpha__greet', 'a greeting from alpha'],
        ['beta__greet', 'a greeting from beta'],
      ]);
      const got = await c.getPrompt({ name: 'beta__greet' });
      assert.deepEqual(
        got.messages.map((m) => (m.content as { text: string }).text),
        ['hello from beta (greet)'],
        'routed to beta with its own prompt name',
      );
      const resources = (await c.listResources()).resources.map((r) => r.uri).sort();
      assert.deepEqual(resources, ['mem://alpha/note', 'mem://beta/note']);
      for (const server of ['alpha', 'beta']) {
        const read = await c.readResource({ uri: `mem://${server}/note` });
        assert.deepEqual(
          read.contents.map((x) => (x as { text: string }).text),
          [`note of ${server}`],
        );
      }
    } finally {
      await c.close();
    }
  } finally {
    await gw.stop();
  }
});

test('every client session gets its own connection to each server it uses (on /mcp and on /mcp/<server>)', async () => {
  const { gw, url } = await startServe();
  try {
    const whoami = async (c: Client, tool: string) => textOf(await c.callTool({ name: tool, arguments: {} }));
    const one = await client(url);
    const two = await client(url);
    const direct = await client(`${url}/alpha`);
    try {
      const first = await whoami(one, 'alpha__whoami');
      assert.match(first, /^alpha pid \d+$/);
      assert.equal(await whoami(one, 'alpha__whoami'), first, 'one session keeps its connection');
      const second = await whoami(two, 'alpha__whoami');
      const third = await whoami(direct, 'whoami');
      assert.equal(new Set([first, second, third]).size, 3, `a server process per session: ${first}, ${second}, ${third}`);
      const betaOne = await whoami(one, 'beta__whoami');
      const betaTwo = await whoami(two, 'beta__whoami');
      assert.notEqual(betaOne, betaTwo);
    } finally {
      await Promise.all([one.close(), two.close(), direct.close()]);
    }
  } finally {
    await gw.stop();
  }
});

test('two servers with the same tool name never shadow each other, nor share counters', async () => {
  await clearOfWindowEnd('hour');
  // Both servers' policies (the same file) allow one whoami an hour: per server, not in total.
  const { gw, url } = await startServe('version: "1"\ntools:\n  whoami:\n    rules:\n      - name: "one an hour"\n        rate_limit: 1/hour\n');
  try {
    const c = await client(url);
    try {
      const call = async (tool: string) => {
        const r = await c.callTool({ name: tool, arguments: {} });
        return r.isError === true ? 'denied' : textOf(r).replace(/ pid \d+$/, '');
      };
      assert.equal(await call('alpha__whoami'), 'alpha');
      assert.equal(await call('beta__whoami'), 'beta', "alpha's call spent nothing of beta's quota");
      assert.equal(await call('alpha__whoami'), 'denied');
      assert.equal(await call('beta__whoami'), 'denied');
    } finally {
      await c.close();
    }
  } finally {
    await gw.stop();
  }
});

test("every policy file is watched: an edit to a server's policy applies to the next call on /mcp and /mcp/<server>", async () => {
  const { gw, url, dir } = await startServe();
  try {
    const agg = await client(url);
    const direct = await client(`${url}/beta`);
    try {
      assert.match(textOf(await agg.callTool({ name: 'alpha__whoami', arguments: {} })), /^alpha pid/);
      writeFileSync(
        join(dir, 'open.yaml'),
        'version: "1"\ntools:\n  whoami:\n    rules:\n      - name: "not now"\n        action: deny\n        on_deny: "whoami is off"\n',
      );
      let text = '';
      for (const end = Date.now() + 60_000; Date.now() < end && text !== '[TOOLGATE POLICY DENIED] whoami is off'; ) {
        text = textOf(await agg.callTool({ name: 'alpha__whoami', arguments: {} }));
        if (text !== '[TOOLGATE POLICY DENIED] whoami is off') await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(text, '[TOOLGATE POLICY DENIED] whoami is off', 'the edit applies on /mcp');
      assert.equal(
        textOf(await direct.callTool({ name: 'whoami', arguments: {} })),
        '[TOOLGATE POLICY DENIED] whoami is off',
        'and on /mcp/beta, in an open session',
      );
    } finally {
      await Promise.all([agg.close(), direct.close()]);
    }
  } finally {
    await gw.stop();
  }
});
