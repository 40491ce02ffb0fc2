import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, formatPolicyError } from '../policy/index.js';
import { parseGatewayConfig, looksLikeGatewayConfig, type ConfigIo } from './config.js';

const POLICY = 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: deny\n        action: deny\n';
const files: Record<string, string> = {
  '/cfg/a.yaml': POLICY,
  '/cfg/b.yaml': POLICY,
  '/cfg/bad.yaml': 'version: "1"\ntools:\n  echo:\n    rules:\n      - name: x\n        rate_limit: lots\n',
  '/cfg/keys.txt': '# keys\nkey-one-123456\n\nkey-two-123456\n',
  '/cfg/admin.key': 'admin-key-0123456789\n',
};
const io: ConfigIo = {
  env: { TOKEN: 'secret-token', ADMIN: 'admin-key-from-env-0123' },
  readFile: (p) => {
    const t = files[p];
    if (t === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return t;
  },
  loadPolicy: (p) =>
    files[p] === undefined ? { ok: false, errors: [{ file: p, line: 1, column: 1, message: 'policy file not found' }] } : compilePolicy(files[p]!, p),
};
const parse = (text: string) => parseGatewayConfig(text, '/cfg/toolgate.yaml', io);
const errorsOf = (text: string) => {
  const r = parse(text);
  assert.equal(r.ok, false, 'expected errors');
  return (r as { errors: Parameters<typeof formatPolicyError>[0][] }).errors.map(formatPolicyError);
};

test('a full config: servers of both kinds, keys from files and env, paths relative to the config', () => {
  const r = parse(`version: 1
separator: "."
pin: enforce
listen:
  port: 9000
  api_key_file: ./keys.txt
  session_idle_timeout: 5m
state:
  dir: ./state
  fail_mode: open
audit:
  retention: 30d
dashboard:
  path: /admin/
  admin_key_file: ./admin.key
servers:
  local:
    command: node
    args: [server.js, --flag]
    env: { API_TOKEN: "\${TOKEN}", LITERAL: "$\${x}" }
    policy: ./a.yaml
    start: eager
  remote:
    url: https://mcp.example.com/mcp
    transport: http
    headers:
      Authorization: "Bearer \${TOKEN}"
    policy: b.yaml
`);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const c = r.config;
  assert.equal(c.separator, '.');
  assert.equal(c.pin, 'enforce');
  assert.deepEqual(c.listen.apiKeys, ['key-one-123456', 'key-two-123456']);
  assert.equal(c.listen.idleTimeoutMs, 300_000);
  assert.equal(c.state.dir, '/cfg/state');
  assert.equal(c.state.failMode, 'open');
  assert.equal(c.dashboard?.path, '/admin');
  assert.equal(c.dashboard?.adminKey, 'admin-key-0123456789');
  const [local, remote] = c.servers;
  assert.equal(local?.kind, 'command');
  if (local?.kind === 'command') {
    assert.deepEqual(local.args, ['server.js', '--flag']);
    assert.deepEqual(local.env, { API_TOKEN: 'secret-token', LITERAL: '${x}' });
    assert.equal(local.cwd, '/cfg');
    assert.equal(local.start, 'eager');
    assert.equal(local.policyPath, '/cfg/a.yaml');
  }
  assert.equal(remote?.kind, 'url');
  if (remote?.kind === 'url') {
    assert.equal(remote.headers.authorization, 'Bearer secret-token');
    assert.equal(remote.transport, 'http');
    assert.equal(remote.start, 'lazy');
  }
});

test('every error has file:line:col and a fix', () => {
  const errs = errorsOf(`listen:
  prot: 80
servers:
  "a b":
    command: x
    policy: ./a.yaml
  nothing:
    policy: ./a.yaml
  both:
    command: x
    url: http://x
    policy: ./a.yaml
  nopolicy:
    command: x
  missing:
    command: x
    policy: ./nope.yaml
  broken:
    command: x
    policy: ./bad.yaml
  hdr:
    command: x
    headers: { A: b }
    policy: ./a.yaml
  envless:
    url: http://x/\${NOT_SET}
    policy: ./a.yaml
    start: sometimes
`);
  const has = (re: RegExp) =>
    assert.ok(
      errs.some((e) => re.test(e)),
      `${re} in:\n${errs.join('\n')}`,
    );
  has(/^\/cfg\/toolgate\.yaml:2:3: unknown key "prot" in listen \(did you mean "port"\?\) \(fix: rename it to "port"\)/);
  has(/toolgate\.yaml:4:3: server name "a b" may only hold letters, digits, _ and - \(fix: rename it, e\.g\. "a-b"\)/);
  has(/toolgate\.yaml:7:3: servers\.nothing has neither command nor url/);
  has(/toolgate\.yaml:11:5: servers\.both has both command and url/);
  has(/toolgate\.yaml:13:3: servers\.nopolicy has no policy \(fix: add policy: \.\/nopolicy\.yaml/);
  has(/toolgate\.yaml:17:13: servers\.missing\.policy: policy file not found: \/cfg\/nope\.yaml/);
  has(/toolgate\.yaml:20:13: servers\.broken\.policy: \/cfg\/bad\.yaml has 1 error\(s\)/);
  has(/^\/cfg\/bad\.yaml:6:21: tools\.echo\.rules\[0\]: rate_limit must be in the format/);
  has(/toolgate\.yaml:23:5: servers\.hdr\.headers only applies to url servers/);
  has(/toolgate\.yaml:26:10: servers\.envless\.url uses the environment variable NOT_SET, which is not set/);
  has(/toolgate\.yaml:28:12: servers\.envless\.start must be one of lazy, eager/);
  for (const e of errs) assert.match(e, /\(fix: /, `a fix for: ${e}`);
});

test('duplicate server names, and names the separator would make ambiguous', () => {
  const dup = errorsOf('servers:\n  a:\n    command: x\n    policy: ./a.yaml\n  a:\n    command: y\n    policy: ./a.yaml\n');
  assert.ok(
    dup.some((e) => /toolgate\.yaml:5:3: duplicate key "a" in servers/.test(e)),
    dup.join('\n'),
  );
  const sep = errorsOf('servers:\n  my__srv:\n    command: x\n    policy: ./a.yaml\n');
  assert.ok(
    sep.some((e) => /2:3: server name "my__srv" contains the separator "__"/.test(e)),
    sep.join('\n'),
  );
  const clash = errorsOf('servers:\n  a:\n    command: x\n    policy: ./a.yaml\n  a_:\n    command: x\n    policy: ./a.yaml\n');
  assert.ok(
    clash.some((e) => /5:3: server names "a" and "a_" make ambiguous tool names/.test(e)),
    clash.join('\n'),
  );
});

test('YAML syntax errors, an empty file, a dashboard without an admin key', () => {
  assert.ok(errorsOf('servers: [\n').some((e) => /toolgate\.yaml:\d+:\d+: YAML syntax error/.test(e)));
  assert.ok(errorsOf('').some((e) => /1:1: the gateway config is empty/.test(e)));
  assert.ok(
    errorsOf('dashboard:\n  path: /d\nservers:\n  a:\n    command: x\n    policy: ./a.yaml\n').some((e) => /1:1: the dashboard needs an admin key/.test(e)),
  );
  assert.ok(
    errorsOf('dashboard:\n  admin_key_env: MISSING\nservers:\n  a:\n    command: x\n    policy: ./a.yaml\n').some((e) =>
      /2:18: dashboard\.admin_key_env: the environment variable MISSING is not set/.test(e),
    ),
  );
});

test('a gateway config is told apart from a policy', () => {
  assert.equal(looksLikeGatewayConfig('servers:\n  a: {}\n'), true);
  assert.equal(looksLikeGatewayConfig(POLICY), false);
});

test('state.dsn: a single Redis node or a Redis Cluster; a cluster with a database number is refused without the password', () => {
  const config = (dsn: string) => `version: 1\nstate:\n  dsn: ${dsn}\n  prefix: "tg:"\nservers:\n  local: { command: node, policy: ./a.yaml }\n`;
  for (const dsn of ['redis://127.0.0.1:6379/2', 'rediss+cluster://u:pw@node1:7000', 'redis+cluster://node1:7000/0']) {
    const r = parse(config(dsn));
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.equal(r.config.state.dsn, dsn);
  }
  const errors = errorsOf(config('redis+cluster://u:s3cret@node1:7000/1'));
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /toolgate\.yaml:3:\d+: .*state\.dsn: .*no numbered databases/);
  assert.ok(!errors[0]!.includes('s3cret'), errors[0]);
  assert.match(errorsOf(config('memcached://node1:11211'))[0]!, /expected redis:\/\/.*redis\+cluster:\/\//);
});

test('listen: the client message limits (max_depth, max_keys, max_batch, max_message_bytes); bad values name the key', () => {
  const servers = 'servers:\n  a:\n    command: node\n    policy: ./a.yaml\n';
  const r = parse(`version: 1\nlisten:\n  max_depth: 16\n  max_keys: 500\n  max_batch: 5\n  max_message_bytes: 65536\n${servers}`);
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.equal(r.config.listen.maxDepth, 16);
  assert.equal(r.config.listen.maxKeys, 500);
  assert.equal(r.config.listen.maxBatch, 5);
  assert.equal(r.config.listen.maxMessageBytes, 65536);
  const errors = errorsOf(`version: 1\nlisten:\n  max_batch: 0\n  max_depth: deep\n${servers}`);
  assert.ok(
    errors.some((e) => /max_batch must be a whole number from 1/.test(e)),
    errors.join('\n'),
  );
  assert.ok(
    errors.some((e) => /max_depth must be a whole number from 1/.test(e)),
    errors.join('\n'),
  );
});

test('servers.<name>.protocol: auto (default), 2025 (quoted or not), 2026-07-28; anything else names the choices', () => {
  const r = parse(`servers:
  a:
    command: x
    policy: ./a.yaml
  b:
    command: x
    policy: ./a.yaml
    protocol: 2025
  c:
    url: http://x/mcp
    policy: ./a.yaml
    protocol: "2026-07-28"
`);
  assert.ok(r.ok, JSON.stringify(r));
  const byName = Object.fromEntries((r as { config: { servers: Array<{ name: string; protocol: string }> } }).config.servers.map((s) => [s.name, s.protocol]));
  assert.deepEqual(byName, { a: 'auto', b: '2025', c: '2026-07-28' });
  const errs = errorsOf(`servers:
  a:
    command: x
    policy: ./a.yaml
    protocol: 2026
`);
  assert.ok(
    errs.some((e) => /toolgate\.yaml:5:15: servers\.a\.protocol must be one of auto, 2025, 2026-07-28/.test(e) && /\(fix: /.test(e)),
    errs.join('\n'),
  );
});

test('servers.<name>.session_mode: per-session (default), shared, pool:N for command servers; errors name the key and the choices', () => {
  const r = parse(`servers:
  a:
    command: x
    policy: ./a.yaml
  b:
    command: x
    policy: ./a.yaml
    session_mode: shared
  c:
    command: x
    policy: ./a.yaml
    session_mode: pool:4
`);
  assert.ok(r.ok, JSON.stringify(r));
  const modes = Object.fromEntries(
    (r as { config: { servers: Array<{ name: string; sessionMode: unknown }> } }).config.servers.map((s) => [s.name, s.sessionMode]),
  );
  assert.deepEqual(modes, { a: { kind: 'per-session' }, b: { kind: 'pool', size: 1 }, c: { kind: 'pool', size: 4 } });
  const errs = errorsOf(`servers:
  a:
    command: x
    policy: ./a.yaml
    session_mode: pool:0
  b:
    url: http://x/mcp
    policy: ./a.yaml
    session_mode: shared
`);
  assert.ok(
    errs.some((e) => /toolgate\.yaml:5:19: servers\.a\.session_mode must be per-session, shared or pool:N/.test(e) && /\(fix: /.test(e)),
    errs.join('\n'),
  );
  assert.ok(
    errs.some((e) => /servers\.b\.session_mode only applies to command servers/.test(e)),
    errs.join('\n'),
  );
});

test('token_exchange (RFC 8693, src/oauth): parsed for url servers; a bad key, a clash with oauth, or no listen.oauth is an error with a fix', () => {
  const ok = parse(`listen:
  oauth:
    issuer: https://auth.example.com
servers:
  files:
    url: https://files.example.com/mcp
    policy: ./a.yaml
    token_exchange:
      client_id: toolgate
      client_secret_env: TOKEN
      scopes: [files:read]
`);
  assert.ok(ok.ok, JSON.stringify(ok));
  const files = ok.config.servers[0]!;
  assert.equal(files.kind === 'url' && files.tokenExchange?.clientSecret, 'secret-token');
  const errs = errorsOf(`servers:
  a:
    url: https://a.example.com/mcp
    policy: ./a.yaml
    oauth: true
    token_exchange: { client_id: toolgate, client_secret_env: TOKEN, scope: x }
  b:
    url: https://b.example.com/mcp
    policy: ./a.yaml
    token_exchange: { client_id: toolgate, client_secret_env: TOKEN }
  c:
    command: x
    policy: ./a.yaml
    token_exchange: { client_id: toolgate, client_secret_env: TOKEN }
`);
  const has = (re: RegExp) =>
    assert.ok(
      errs.some((e) => re.test(e)),
      `${re} in:\n${errs.join('\n')}`,
    );
  has(/servers\.a\.token_exchange: Unrecognized key.*\(fix: see docs\/OAUTH\.md/);
  has(/servers\.a: token_exchange and oauth both set the token \(fix: remove one of them\)/);
  has(/servers\.c\.token_exchange only applies to url servers/);
  has(/servers\.b\.token_exchange: there is no caller token to exchange without listen\.oauth \(fix: configure listen\.oauth/);
});
