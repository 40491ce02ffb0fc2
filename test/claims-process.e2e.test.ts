// The README's promises about the server process, observed on the server
// itself (the recording server logs what it reads and the signals it gets):
// signals are forwarded; when the client goes away the server's stdin is
// closed, then it gets SIGTERM, then SIGKILL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gatewayArgs, RawGateway, writePolicy } from './helpers.js';
import { recordingServer, serverLog } from './recording-server.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Until the server's log has a line `line` (polling the file), or fail naming what it has. */
async function logged(log: string, line: string): Promise<void> {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    if (serverLog(log).includes(line)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`the server never logged "${line}": ${JSON.stringify(serverLog(log))}`);
}

test('SIGHUP, SIGINT and SIGTERM sent to the gateway reach the server', async () => {
  const { policy, stateDir, dir } = writePolicy('version: "1"\n');
  const log = join(dir, 'server.log');
  const gw = new RawGateway(gatewayArgs(policy, stateDir, recordingServer(log)));
  try {
    await gw.initialize();
    // The server is up and reads what the gateway forwards (positive control for the log).
    await logged(log, `in ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}`);
    for (const sig of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
      gw.proc.kill(sig);
      await logged(log, `signal ${sig}`);
    }
    // The server handled them and stayed up; so did the gateway, which still forwards calls.
    gw.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'after signals' } } });
    assert.equal((await gw.response(1)).result.content[0].text, 'after signals');
  } finally {
    gw.proc.kill('SIGKILL');
    const pid = Number(
      serverLog(log)
        .find((l) => l.startsWith('pid '))
        ?.slice(4),
    );
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

test('the client going away ends the server: stdin closed, then SIGTERM, then SIGKILL for a server that ignores both', async () => {
  const { policy, stateDir, dir } = writePolicy('version: "1"\n');
  const log = join(dir, 'server.log');
  // The recording server notes stdin closing and SIGTERM but does not exit on either.
  const gw = new RawGateway(gatewayArgs(policy, stateDir, recordingServer(log)));
  await gw.initialize();
  await logged(log, `in ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}`);
  const pid = Number(
    serverLog(log)
      .find((l) => l.startsWith('pid '))!
      .slice(4),
  );
  assert.ok(isAlive(pid));

  gw.proc.stdin.end(); // the client goes away
  const exit = await gw.exited;
  const steps = serverLog(log).filter((l) => l === 'stdin closed' || l.startsWith('signal '));
  assert.deepEqual(steps, ['stdin closed', 'signal SIGTERM'], 'stdin first, then SIGTERM');
  // Only SIGKILL can have ended a server that survives both; the gateway waited for it and exits.
  for (const end = Date.now() + 60_000; Date.now() < end && isAlive(pid); ) await new Promise((r) => setTimeout(r, 20));
  assert.equal(isAlive(pid), false, 'the server is gone');
  assert.notEqual(exit.code, 0, `the gateway exits with the killed server's status: ${JSON.stringify(exit)}`);
});
