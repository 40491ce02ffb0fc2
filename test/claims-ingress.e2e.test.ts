// "checks every `tools/call` against a policy file before it reaches the
// server": read on the server itself (the recording server logs its input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gatewayArgs, RawGateway, writePolicy } from './helpers.js';
import { recordingServer, serverInput } from './recording-server.js';

// Was false (an id-less tools/call, a notification, was forwarded without a
// decision) until the wire room's admission; read here on the server itself.
test('a tools/call without an id, for a tool the policy denies, never reaches the server', async () => {
  const { policy, stateDir, dir } = writePolicy('version: "1"\ndefault: deny\ntools:\n  other:\n    rules: []\n');
  const log = join(dir, 'server.log');
  const gw = new RawGateway(gatewayArgs(policy, stateDir, recordingServer(log)));
  try {
    await gw.initialize();
    gw.send({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo', arguments: { message: 'no id' } } });
    // Positive control: a request sent after it reaches the server and is answered.
    gw.send({ jsonrpc: '2.0', id: 'after', method: 'ping' });
    await gw.response('after');
    assert.ok(
      serverInput(log).some((m) => m.id === 'after'),
      'the later request reached the server',
    );
    assert.deepEqual(
      serverInput(log).filter((m) => m.method === 'tools/call'),
      [],
    );
  } finally {
    await gw.close();
  }
});
