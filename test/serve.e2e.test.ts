// `toolgate serve` end to end: the built binary in front of two real servers
// (server-everything and the demo server, both over stdio), the official SDK
// client over Streamable HTTP, loopback only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { bin, demoServer, everythingServer, readEvents, tempDir, textOf } from './helpers.js';
import { Proc } from './transports-helpers.js';
import { parseExposition, sampleValue } from '../src/metrics/exposition.js';

const ADMIN = 'admin-key-0123456789abcdef';
const run = promisify(execFile);

const DEMO_POLICY = `version: "1"
tools:
  delete_customer:
    rules:
      - name: "no deletions"
        action: "deny"
        on_deny: "demo policy: deleting customers is not permitted"
`;
const EVERYTHING_POLICY = `version: "1"
tools:
  get-env:
    rules:
      - name: "no env"
        action: "deny"
        on_deny: "everything policy: no environment dumps"
  echo:
    rules:
      - name: "echo size"
        conditions:
          - path: "args.message"
            op: "regex"
            value: "^[a-z ]+$"
        on_deny: "everything policy: lower-case echoes only"
`;

function gatewayConfig(servers: string, extra = ''): string {
  return `version: 1
listen:
  port: 0
state:
  dir: ./state
dashboard:
  path: /dashboard
  admin_key_env: SERVE_TEST_ADMIN_KEY
${extra}servers:
${servers}`;
}

const demoEntry = (name = 'demo', policy = './demo.yaml') => `  ${name}:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(demoServer)}]
    policy: ${policy}
`;
const everythingEntry = `  everything:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(everythingServer)}, stdio]
    policy: ./everything.yaml
    start: eager
`;

async function startServe(dir: string, flags: string[] = []): Promise<{ gw: Proc; url: string; base: string }> {
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--log-level', 'warn', ...flags], { ...process.env, SERVE_TEST_ADMIN_KEY: ADMIN });
  const m = await gw.waitFor(/toolgate listening on (http:\/\/\S+)/);
  const url = m[1]!;
  return { gw, url, base: url.replace(/\/mcp$/, '') };
}

async function client(url: string, token?: string): Promise<Client> {
  const c = new Client({ name: 'serve-e2e', version: '1.0.0' }, { capabilities: {} });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}));
  return c;
}

/** `toolgate grant create` in the config's state directory; resolves with the token. */
async function grant(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [bin, 'grant', 'create', ...args, '--state-dir', join(dir, 'state')]);
  return stdout.trim();
}

/** The denied tool_call events of `identity`, once `count` of them are written (the JSONL sink flushes within 50 ms). */
async function denials(dir: string, identity: string, count: number): Promise<Array<Record<string, any>>> {
  let calls: Array<Record<string, any>> = [];
  for (const end = Date.now() + 60_000; Date.now() < end && calls.length < count; ) {
    calls = readEvents(join(dir, 'state')).filter((e) => e.type === 'tool_call' && e.identity === identity && e.decision === 'denied');
    if (calls.length < count) await new Promise((r) => setTimeout(r, 50));
  }
  return calls;
}

function setup(servers: string): string {
  const dir = tempDir('toolgate-serve-');
  writeFileSync(join(dir, 'demo.yaml'), DEMO_POLICY);
  writeFileSync(join(dir, 'everything.yaml'), EVERYTHING_POLICY);
  writeFileSync(join(dir, 'toolgate.yaml'), gatewayConfig(servers));
  return dir;
}

async function servers(base: string): Promise<Array<Record<string, any>>> {
  const res = await fetch(`${base}/dashboard/api/servers`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { servers: Array<Record<string, any>> }).servers;
}

test("aggregate endpoint: namespaced tools from two real servers, calls routed and decided by the owning server's policy", async () => {
  const dir = setup(demoEntry() + everythingEntry);
  const { gw, url } = await startServe(dir);
  try {
    const c = await client(url);
    const info = c.getServerVersion();
    assert.equal(info?.name, 'toolgate');
    assert.equal(c.getServerCapabilities()?.tools?.listChanged, true);
    const names = (await c.listTools()).tools.map((t) => t.name);
    for (const n of ['demo__echo', 'demo__get_weather', 'demo__delete_customer', 'everything__echo', 'everything__get-sum', 'everything__get-env']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    assert.ok(!names.some((n) => !n.startsWith('demo__') && !n.startsWith('everything__')), 'every tool is namespaced');

    // The same tool name on both servers: each reaches its own server, under its own policy.
    assert.equal(textOf(await c.callTool({ name: 'demo__echo', arguments: { message: 'Hello From Demo' } })), 'Hello From Demo');
    const ev = await c.callTool({ name: 'everything__echo', arguments: { message: 'hello everything' } });
    assert.match(textOf(ev), /Echo: hello everything/);
    const evDenied = await c.callTool({ name: 'everything__echo', arguments: { message: 'UPPER' } });
    assert.equal(evDenied.isError, true);
    assert.match(textOf(evDenied), /lower-case echoes only/);

    // Denials decided by the right server's policy.
    const del = await c.callTool({ name: 'demo__delete_customer', arguments: { id: 'c1' } });
    assert.equal(del.isError, true);
    assert.match(textOf(del), /demo policy: deleting customers/);
    const env = await c.callTool({ name: 'everything__get-env', arguments: {} });
    assert.equal(env.isError, true);
    assert.match(textOf(env), /everything policy: no environment dumps/);
    assert.match(textOf(await c.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } })), /5/);

    // An unknown server prefix is a JSON-RPC error naming the scheme.
    await assert.rejects(c.callTool({ name: 'nope__echo', arguments: {} }), /Unknown tool "nope__echo"/);
    await c.close();

    // Per server: /mcp/demo is a normal gateway session with plain names.
    const d = await client(`${url}/demo`);
    const plain = (await d.listTools()).tools.map((t) => t.name);
    assert.ok(plain.includes('echo') && plain.includes('get_weather'));
    assert.match(textOf(await d.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } })), /sunny in Oslo/);
    // echo is offered by both servers: ambiguous on a per-server endpoint (shadowing), refused.
    assert.match(textOf(await d.callTool({ name: 'echo', arguments: { message: 'plain' } })), /ambiguous: server "everything" offers the same tool name/);
    const del2 = await d.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
    assert.match(textOf(del2), /demo policy/);
    await d.close();

    const h = await servers(url.replace(/\/mcp$/, ''));
    assert.deepEqual(
      h.map((s) => s.server),
      ['demo', 'everything'],
    );
  } finally {
    await gw.stop();
  }
});

test('a dying upstream is restarted; calls in flight get an error; the next call works', async () => {
  const dir = setup(demoEntry() + everythingEntry);
  const { gw, url, base } = await startServe(dir);
  try {
    const c = await client(url);
    assert.equal(textOf(await c.callTool({ name: 'demo__echo', arguments: { message: 'before' } })), 'before');

    // A call in flight when its server dies gets a JSON-RPC error, never silence.
    // Killed once the server reports progress on it (then it is surely in flight there, however loaded the machine).
    let progressed!: () => void;
    const inFlight = new Promise<void>((r) => (progressed = r));
    const long = c.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 10, steps: 10 } }, undefined, {
      timeout: 60_000,
      onprogress: () => progressed(),
    });
    await inFlight;
    const ev = (await servers(base)).find((s) => s.server === 'everything')!;
    process.kill(ev.pids[0], 'SIGKILL');
    await assert.rejects(long, /closed before answering/);

    const before = (await servers(base)).find((s) => s.server === 'demo')!;
    assert.equal(before.state, 'up');
    assert.equal(before.pids.length, 1);
    process.kill(before.pids[0], 'SIGKILL');
    // Restarted with backoff and initialized again by the gateway.
    let after: Record<string, any> | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      after = (await servers(base)).find((s) => s.server === 'demo');
      if (after?.state === 'up' && after.restarts >= 1 && after.pids[0] !== before.pids[0]) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after?.state, 'up');
    assert.ok(after!.restarts >= 1);
    assert.match(String(after!.last_error), /killed by SIGKILL/);
    assert.equal(textOf(await c.callTool({ name: 'demo__echo', arguments: { message: 'after' } })), 'after');
    await c.close();

    // The same on a per-server endpoint: the client's own initialize is replayed.
    const d = await client(`${url}/demo`);
    assert.equal(textOf(await d.callTool({ name: 'echo', arguments: { message: 'one' } })), 'one');
    const pids = (await servers(base)).find((s) => s.server === 'demo')!.pids as number[];
    for (const p of pids) process.kill(p, 'SIGKILL');
    let answer: string | undefined;
    for (const end = Date.now() + 60_000; Date.now() < end && answer === undefined; ) {
      try {
        answer = textOf(await d.callTool({ name: 'echo', arguments: { message: 'two' } }));
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(answer, 'two');
    await d.close();
  } finally {
    await gw.stop();
  }
});

test('config errors are reported with file:line:col and the gateway does not start', async () => {
  const dir = tempDir('toolgate-serve-');
  writeFileSync(join(dir, 'demo.yaml'), DEMO_POLICY);
  writeFileSync(join(dir, 'broken.yaml'), 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: x\n        rate_limit: lots\n');
  const file = join(dir, 'toolgate.yaml');
  writeFileSync(
    file,
    `version: 1
listen:
  prot: 8080
servers:
  "bad name":
    command: node
    policy: ./demo.yaml
  nocmd:
    policy: ./demo.yaml
  missing:
    command: node
    policy: ./nowhere.yaml
  broken:
    command: node
    policy: ./broken.yaml
`,
  );
  const gw = new Proc([bin, 'serve', '-c', file]);
  const exit = await gw.exited;
  assert.equal(exit.code, 1);
  const out = gw.output;
  assert.match(out, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:3: unknown key "prot" in listen \\(did you mean "port"\\?\\)`));
  assert.match(out, /toolgate\.yaml:5:3: server name "bad name" may only hold letters, digits, _ and -/);
  assert.match(out, /toolgate\.yaml:8:3: servers\.nocmd has neither command nor url/);
  assert.match(out, /toolgate\.yaml:12:13: servers\.missing\.policy: policy file not found/);
  assert.match(out, /broken\.yaml:6:21: tools\.echo\.rules\[0\]: rate_limit must be in the format/);
  assert.match(out, /not starting/);
});

test('hot reload: a valid edit adds a server; an invalid one is rejected with line:col and the old config stays', async () => {
  const dir = setup(demoEntry());
  const file = join(dir, 'toolgate.yaml');
  const { gw, url } = await startServe(dir);
  try {
    const c = await client(url);
    let changed = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    assert.ok((await c.listTools()).tools.every((t) => t.name.startsWith('demo__')));

    // Atomic save (write + rename), as editors do.
    const write = (text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    write(gatewayConfig(demoEntry() + demoEntry('billing', './everything.yaml')));
    let names: string[] = [];
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      names = (await c.listTools()).tools.map((t) => t.name);
      if (names.includes('billing__echo')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(names.includes('billing__echo'), names.join(', '));
    assert.ok(changed >= 1, 'the client heard tools/list_changed');
    // The new server's calls are decided by its own policy.
    const denied = await c.callTool({ name: 'billing__echo', arguments: { message: 'LOUD' } });
    assert.match(textOf(denied), /lower-case echoes only/);
    assert.equal(textOf(await c.callTool({ name: 'demo__echo', arguments: { message: 'LOUD' } })), 'LOUD');

    write(gatewayConfig(demoEntry() + '  billing:\n    comand: node\n    policy: ./demo.yaml\n'));
    await gw.waitFor(/gateway config reload rejected[\s\S]*toolgate\.yaml:\d+:5: unknown key \\?"comand/);
    assert.ok(
      (await c.listTools()).tools.some((t) => t.name === 'billing__echo'),
      'the old config stays',
    );
    assert.match(textOf(await c.callTool({ name: 'billing__echo', arguments: { message: 'LOUD' } })), /lower-case echoes only/);

    // Removing the server: its tools go away.
    write(gatewayConfig(demoEntry()));
    for (const end = Date.now() + 60_000; Date.now() < end; ) {
      names = (await c.listTools()).tools.map((t) => t.name);
      if (!names.includes('billing__echo')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(!names.includes('billing__echo'));
    await c.close();
  } finally {
    await gw.stop();
  }
});

test('the dashboard on the serve port refuses a missing or wrong admin key', async () => {
  const dir = setup(demoEntry());
  const { gw, base } = await startServe(dir);
  try {
    const none = await fetch(`${base}/dashboard/api/me`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${base}/dashboard/api/me`, { headers: { authorization: 'Bearer wrong-key-0123456789abcdef' } });
    assert.equal(wrong.status, 401);
    const noServers = await fetch(`${base}/dashboard/api/servers`);
    assert.equal(noServers.status, 401);
    const ok = await fetch(`${base}/dashboard/api/me`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { role: string }).role, 'admin');
    const page = await fetch(`${base}/dashboard/`, { redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.match(page.headers.get('location') ?? '', /\/dashboard\/login$/);
    const list = await servers(base);
    assert.equal(list[0]?.server, 'demo');
    assert.equal(list[0]?.state, 'idle');
  } finally {
    await gw.stop();
  }
});

test('--metrics-port: Prometheus metrics of the calls to every server, on their own port, labelled with the server', async () => {
  const dir = setup(demoEntry() + everythingEntry);
  const { gw, url } = await startServe(dir, ['--metrics-port', '0']);
  try {
    const metricsUrl = (await gw.waitFor(/toolgate metrics on (http:\/\/\S+)/))[1]!;
    const c = await client(`${url}/demo`);
    assert.equal(textOf(await c.callTool({ name: 'echo', arguments: { message: 'counted' } })), 'counted');
    assert.equal((await c.callTool({ name: 'delete_customer', arguments: { id: 'c1' } })).isError, true);
    await c.close();
    // The same tool name on the other server, through the aggregate endpoint.
    const a = await client(url);
    assert.match(textOf(await a.callTool({ name: 'everything__echo', arguments: { message: 'counted too' } })), /Echo: counted too/);
    assert.equal((await a.callTool({ name: 'everything__echo', arguments: { message: 'LOUD' } })).isError, true);
    await assert.rejects(a.callTool({ name: 'nope__echo', arguments: {} }));
    await a.close();
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    const m = parseExposition(await res.text());
    const calls = (labels: Record<string, string>) => sampleValue(m, 'toolgate_tool_calls_total', labels);
    assert.equal(calls({ tool: 'echo', decision: 'allowed', server: 'demo' }), 1);
    assert.equal(calls({ tool: 'echo', decision: 'allowed', server: 'everything' }), 1);
    assert.equal(calls({ tool: 'echo', decision: 'denied', server: 'everything' }), 1);
    assert.equal(calls({ tool: 'echo', decision: 'denied', server: 'demo' }), undefined);
    assert.equal(calls({ tool: 'delete_customer', decision: 'denied', server: 'demo' }), 1);
    // A call no server owns has no server.
    assert.equal(calls({ tool: 'nope__echo', decision: 'denied', server: '(none)' }), 1);
    assert.equal(sampleValue(m, 'toolgate_upstream_duration_seconds_count', { server: 'everything' }), 1);
    assert.equal(sampleValue(m, 'toolgate_tool_call_denials_total', { reason: 'rule', server: 'demo' }), 1);
    assert.ok(
      m.samples.filter((x) => x.name === 'toolgate_tool_calls_total').every((x) => typeof x.labels.server === 'string'),
      'every call series has a server',
    );
  } finally {
    await gw.stop();
  }
});

test('--metrics-bind beyond loopback without a key: serve refuses to start and says why', async () => {
  const dir = setup(demoEntry());
  const gw = new Proc([bin, 'serve', '-c', join(dir, 'toolgate.yaml'), '--metrics-port', '0', '--metrics-bind', '0.0.0.0'], {
    ...process.env,
    SERVE_TEST_ADMIN_KEY: ADMIN,
    TOOLGATE_METRICS_KEY: '',
  });
  const exit = await gw.exited;
  assert.notEqual(exit.code, 0);
  assert.match(gw.output, /refusing to serve \/metrics on 0\.0\.0\.0 .*without a key/);
});

const RESTRICTED_GRANT_POLICY = `version: "1"
tools:
  echo:
    rules:
      - name: "grant: no echo"
        action: "deny"
        on_deny: "restricted grant: echo is not permitted"
`;

test("a grant's own policy file decides its calls on every server, on /mcp/<server> and /mcp; a section grant keeps the server's policy", async () => {
  const dir = setup(demoEntry() + everythingEntry);
  const grantFile = join(dir, 'restricted.yaml');
  writeFileSync(grantFile, RESTRICTED_GRANT_POLICY);
  const restricted = await grant(dir, 'restricted', '--policy', grantFile);
  const scoped = await grant(dir, 'scoped', '--policy-section', 'agents');
  const { gw, url } = await startServe(dir);
  try {
    // Per server: the grant's file denies echo on demo, where the server policy allows it...
    const rd = await client(`${url}/demo`, restricted);
    const denied = await rd.callTool({ name: 'echo', arguments: { message: 'hello' } });
    // ...and, allowing what it does not list, is warned about when it loads.
    await gw.waitFor(/grant's policy \S*restricted\.yaml has default: allow[^\n]*every tool it does not list is allowed on every server/);
    assert.equal(denied.isError, true);
    assert.match(textOf(denied), /restricted grant: echo is not permitted/);
    // ...and replaces the server policy rather than adding to it: delete_customer is not in the file.
    assert.equal(textOf(await rd.callTool({ name: 'delete_customer', arguments: { id: 'c1' } })), 'Customer c1 deleted.');
    // Aggregated: the file applies on every server, with each server's plain tool names.
    const ra = await client(url, restricted);
    for (const name of ['demo__echo', 'everything__echo']) {
      const r = await ra.callTool({ name, arguments: { message: 'hello' } });
      assert.equal(r.isError, true, name);
      assert.match(textOf(r), /restricted grant: echo is not permitted/);
    }
    assert.match(textOf(await ra.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } })), /5/);

    // A grant without a file of its own: the same calls, decided by each server's policy.
    const sd = await client(`${url}/demo`, scoped);
    assert.equal(textOf(await sd.callTool({ name: 'echo', arguments: { message: 'hello' } })), 'hello');
    assert.match(textOf(await sd.callTool({ name: 'delete_customer', arguments: { id: 'c1' } })), /demo policy: deleting customers/);
    const sa = await client(url, scoped);
    assert.equal(textOf(await sa.callTool({ name: 'demo__echo', arguments: { message: 'hello' } })), 'hello');
    assert.match(textOf(await sa.callTool({ name: 'everything__echo', arguments: { message: 'hello' } })), /Echo: hello/);
    assert.match(textOf(await sa.callTool({ name: 'everything__echo', arguments: { message: 'LOUD' } })), /lower-case echoes only/);

    // The events: the grant's denials name the file's rule and the server they were made on.
    const restrictedDenials = await denials(dir, 'restricted', 3);
    assert.deepEqual(restrictedDenials.map((e) => [e.server, e.tool, e.rule]).sort(), [
      ['demo', 'echo', 'grant: no echo'],
      ['demo', 'echo', 'grant: no echo'],
      ['everything', 'echo', 'grant: no echo'],
    ]);
    assert.deepEqual((await denials(dir, 'scoped', 2)).map((e) => [e.server, e.tool, e.rule]).sort(), [
      ['demo', 'delete_customer', 'no deletions'],
      ['everything', 'echo', 'echo size'],
    ]);

    // Hot reload: an edit of the grant's file applies to its open sessions on every server.
    writeFileSync(grantFile, RESTRICTED_GRANT_POLICY.replace('echo:', 'get_weather:'));
    let answer = '';
    for (const end = Date.now() + 60_000; Date.now() < end && answer !== 'reloaded'; ) {
      answer = textOf(await ra.callTool({ name: 'demo__echo', arguments: { message: 'reloaded' } }));
      if (answer !== 'reloaded') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(answer, 'reloaded');
    assert.equal(textOf(await rd.callTool({ name: 'echo', arguments: { message: 'per server too' } })), 'per server too');
    assert.match(textOf(await rd.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } })), /restricted grant/);
    // A broken edit keeps the previous policy, with a warning naming the file.
    writeFileSync(grantFile, 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: x\n        rate_limit: lots\n');
    await gw.waitFor(/grant policy \S*restricted\.yaml reload rejected[\s\S]*restricted\.yaml:6:21: tools\.echo\.rules\[0\]: rate_limit must be/);
    assert.match(textOf(await rd.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } })), /restricted grant/);
    for (const c of [rd, ra, sd, sa]) await c.close();
  } finally {
    await gw.stop();
  }
});

test("a grant whose policy file does not load is denied every call, with the file's errors", async () => {
  const dir = setup(demoEntry() + everythingEntry);
  const grantFile = join(dir, 'broken-grant.yaml');
  writeFileSync(grantFile, RESTRICTED_GRANT_POLICY);
  const token = await grant(dir, 'broken', '--policy', grantFile);
  // Broken after the grant was made (grant create checks the file).
  writeFileSync(grantFile, 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: x\n        rate_limit: lots\n');
  const { gw, url } = await startServe(dir);
  try {
    for (const [endpoint, tool] of [
      [`${url}/demo`, 'echo'],
      [url, 'demo__echo'],
      [url, 'everything__echo'],
    ] as const) {
      const c = await client(endpoint, token);
      const r = await c.callTool({ name: tool, arguments: { message: 'hello' } });
      assert.equal(r.isError, true, `${endpoint} ${tool}`);
      assert.match(textOf(r), /the grant's policy \S*broken-grant\.yaml has errors/);
      assert.match(textOf(r), /broken-grant\.yaml:6:21: tools\.echo\.rules\[0\]: rate_limit must be/);
      await c.close();
    }
    const events = await denials(dir, 'broken', 3);
    assert.equal(events.length, 3);
    assert.ok(
      events.every((e) => /broken-grant\.yaml:6:21/.test(String(e.message))),
      JSON.stringify(events),
    );
  } finally {
    await gw.stop();
  }
});

test('self-approval on the aggregate /mcp: a client that declares elicitation approves its own held call; one that does not is never asked', async () => {
  const dir = setup(demoEntry('demo', './approve.yaml'));
  writeFileSync(
    join(dir, 'approve.yaml'),
    `version: "1"
tools:
  create_charge:
    rules:
      - name: "charges need a yes"
        action: require_approval
        approval: { timeout: 3s, self_approval: true }
`,
  );
  const { gw, url } = await startServe(dir);
  try {
    let asked = '';
    const eliciting = new Client({ name: 'serve-e2e-elicit', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    eliciting.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked = req.params.message;
      return { action: 'accept', content: { approve: true, reason: 'that was me' } };
    });
    await eliciting.connect(new StreamableHTTPClientTransport(new URL(url)));
    const approved = await eliciting.callTool({ name: 'demo__create_charge', arguments: { amount: 4200, currency: 'usd' } });
    assert.equal(textOf(approved), 'Charged 42.00 USD.');
    assert.match(asked, /Tool: create_charge/);

    // Without the capability the gateway never asks the client: the call waits for a human and expires.
    // The client would answer any request the gateway sent it (and count it), declared or not.
    const silent = await client(url);
    const unasked: string[] = [];
    silent.fallbackRequestHandler = async (req) => {
      unasked.push(req.method);
      return { action: 'accept', content: { approve: true } };
    };
    const expired = await silent.callTool({ name: 'demo__create_charge', arguments: { amount: 100, currency: 'usd' } });
    assert.equal(expired.isError, true);
    assert.match(textOf(expired), /approval/i);
    assert.deepEqual(unasked, [], 'the client without the capability was sent a request');

    const { stdout } = await run(process.execPath, [bin, 'approvals', 'list', '--json', '--state-dir', join(dir, 'state')]);
    const records = stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, any>);
    assert.deepEqual(records.map((r) => [r.tool, r.status, r.channel ?? null]).sort(), [
      ['create_charge', 'approved', 'elicitation'],
      ['create_charge', 'expired', 'gateway'],
    ]);
    await eliciting.close();
    await silent.close();
  } finally {
    await gw.stop();
  }
});
