// A policy must match its server: the gateway warns (stderr and a
// policy_mismatch event) about every tool the policy names that the server's
// tools/list lacks, with "did you mean"; `toolgate validate -- <server>` and
// `--upstream URL` check a policy against a live server and exit 1 on a mismatch.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { bin, connectClient, demoServer, readEvents, writePolicy } from './helpers.js';

// The demo server lists get_weather, create_charge, delete_customer, admin_reset, ... but no read_file.
const MISMATCHED = `version: "1"
hide: [admin_rest]
tools:
  create_charg:
    rules:
      - name: "cap"
        conditions: [{ path: "args.amount", op: "lte", value: 100 }]
  get_weather:
    rules:
      - name: "rate"
        rate_limit: 3/minute
  read_file:
    rules:
      - name: "never"
        action: "deny"
`;

describe('policy_mismatch on tools/list', () => {
  it('warns on stderr and records an event for each tool the server lacks, with the nearest names', async () => {
    const { policy, stateDir } = writePolicy(MISMATCHED);
    const { client, transport } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
    let stderr = '';
    transport.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const { tools } = await client.listTools();
    assert.ok(
      tools.some((t) => t.name === 'create_charge'),
      'the server has create_charge',
    );
    await client.listTools(); // a second list repeats no warning
    const stderrClosed = new Promise((r) => transport.stderr!.once('close', r));
    await client.close();
    await stderrClosed;

    const events = readEvents(stateDir).filter((e) => e.type === 'policy_mismatch');
    assert.deepEqual(
      events.map((e) => [e.tool, e.suggestions]),
      [
        ['create_charg', ['create_charge']],
        ['read_file', []],
        ['admin_rest', ['admin_reset']],
      ],
    );
    assert.match(events[0]!.message, /'create_charg', which the server does not list \(did you mean 'create_charge'\?\): its rules guard nothing/);
    assert.match(stderr, /did you mean 'create_charge'\?/);
    assert.match(stderr, /'admin_rest'.*hiding it hides nothing/);
    // get_weather is on the server: no event names it.
    assert.equal(events.filter((e) => e.tool === 'get_weather').length, 0);
  });

  it('a policy that matches its server gives no warning', async () => {
    const { policy, stateDir } = writePolicy('version: "1"\ntools:\n  get_weather:\n    rules:\n      - name: "rate"\n        rate_limit: 3/minute\n');
    const { client } = await connectClient(policy, stateDir, [process.execPath, demoServer]);
    await client.listTools();
    await client.close();
    const events = readEvents(stateDir);
    assert.ok(
      events.some((e) => e.type === 'startup'),
      'events were recorded',
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'policy_mismatch'),
      [],
    );
  });
});

function validate(args: string[]) {
  return spawnSync(process.execPath, [bin, 'validate', ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('toolgate validate against a live server', () => {
  it('-- <server command>: every missing tool with "did you mean", exit 1', () => {
    const { policy } = writePolicy(MISMATCHED);
    assert.equal(validate(['-c', policy]).stdout, 'valid\n', 'the file alone is valid');
    const r = validate(['-c', policy, '--', process.execPath, demoServer]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /'create_charg', which the server does not list \(did you mean 'create_charge'\?\)/);
    assert.match(r.stdout, /'read_file', which the server does not list: its rules guard nothing/);
    assert.match(r.stdout, /'admin_rest'.*\(did you mean 'admin_reset'\?\)/);
  });

  it('a matching policy is valid against its server, exit 0', () => {
    const r = validate([
      '-c',
      writePolicy('version: "1"\ntools:\n  create_charge:\n    rules:\n      - name: "no"\n        action: "deny"\n').policy,
      '--',
      process.execPath,
      demoServer,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^valid; the server lists every tool the policy names/);
  });

  it('--upstream URL checks a Streamable HTTP server', async () => {
    const upstream = writePolicy('version: "1"\ntools: {}\n');
    const server = spawn(
      process.execPath,
      [bin, '-c', upstream.policy, '--state-dir', upstream.stateDir, '--transport', 'http', '--port', '0', '--', process.execPath, demoServer],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    try {
      let url: string | undefined;
      for await (const line of createInterface({ input: server.stderr })) {
        url = /listening on (\S+)/.exec(line)?.[1];
        if (url) break;
      }
      assert.ok(url, 'the upstream listens');
      const { policy } = writePolicy(MISMATCHED);
      const r = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
        const c = spawn(process.execPath, [bin, 'validate', '-c', policy, '--upstream', url!], { stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.on('close', (status) => resolve({ status, stdout }));
      });
      assert.equal(r.status, 1);
      assert.match(r.stdout, /'create_charg', which the server does not list \(did you mean 'create_charge'\?\)/);
    } finally {
      server.kill();
    }
  });

  it('words before -- other than the file are a usage error', () => {
    const r = validate([writePolicy(MISMATCHED).policy, 'node', '--', 'x']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /goes after '--'/);
  });
});
