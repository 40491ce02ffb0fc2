// End to end: a poisoned policy cache in the state directory never outranks the
// policy file (issue 16, item 12). The built binary, the SDK client, the demo server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient, demoServer, textOf, writePolicy } from './helpers.js';

const POLICY = `version: "1"
default: allow
tools:
  delete_customer:
    rules:
      - name: "never delete"
        action: deny
        on_deny: "Deleting customers is not allowed"
`;

test('an entry rewritten to allow everything: the file still denies, and the entry is repaired', async () => {
  const { policy, stateDir } = writePolicy(POLICY);
  const server = [process.execPath, demoServer];
  const callDelete = async () => {
    const { client } = await connectClient(policy, stateDir, server);
    try {
      return await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
    } finally {
      await client.close();
    }
  };
  const first = await callDelete();
  assert.match(textOf(first), /Deleting customers is not allowed/);

  const cacheDir = join(stateDir, 'policy-cache');
  const entries = readdirSync(cacheDir).filter((n) => n.endsWith('.json'));
  assert.equal(entries.length, 1, 'the first start cached the parsed policy');
  const path = join(cacheDir, entries[0]!);
  const entry = JSON.parse(readFileSync(path, 'utf8')) as { key: string; config: Record<string, unknown> };
  writeFileSync(path, JSON.stringify({ key: entry.key, config: { ...entry.config, tools: [] } }), { mode: 0o600 });

  const second = await callDelete();
  assert.equal(second.isError, true);
  assert.match(textOf(second), /Deleting customers is not allowed/);
  const repaired = JSON.parse(readFileSync(path, 'utf8')) as { config: { tools: unknown[] } };
  assert.equal(repaired.config.tools.length, 1, 'the entry was rewritten from the file');
});
