// Every bypass form found for the safe argument operators is a case here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostMatches, hostPattern, isPublicHost, pathUnder, urlHost } from './safe-args.js';
import { compilePolicy, decide } from './index.js';

test('urlHost: one host whatever the spelling (case, IDN, trailing dots, IPv4 in every notation, IPv6 forms)', () => {
  const same: Array<[string, string]> = [
    ['https://API.Example.COM/x', 'api.example.com'],
    ['https://api.example.com./x', 'api.example.com'],
    ['https://api.example.com../x', 'api.example.com'],
    ['https://user:pw@api.example.com/x', 'api.example.com'],
    ['https://api.example.com@evil.example/x', 'evil.example'],
    ['https://bücher.example/', 'xn--bcher-kva.example'],
    ['https://ＥＶＩＬ.example/', 'evil.example'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', '::ffff:7f00:1'],
    ['http://169.254.169.254:80/latest/meta-data', '169.254.169.254'],
  ];
  for (const [url, host] of same) assert.equal(urlHost(url), host, url);
});

test('urlHost: what parsers read differently is refused (undefined), never guessed', () => {
  for (const url of [
    'https://evil.example\\@api.example.com/',
    'https://api.example.com\\.evil.example/',
    'https://a@b@evil.example/',
    'https://api.example.com%2eevil.example/',
    'https://%61pi.example.com/',
    'https://api.example.com /x',
    'https://api.example.com\t.evil/',
    'file:///etc/passwd',
    'gopher://api.example.com/',
    'javascript:alert(1)',
    '//api.example.com/x',
    'api.example.com',
    'not a url',
    '',
  ])
    assert.equal(urlHost(url), undefined, url);
});

test('host patterns: exact or any subdomain; a look-alike suffix is not a subdomain', () => {
  const pats = ['api.example.com', '*.github.com'].map((p) => hostPattern(p)!);
  assert.ok(hostMatches('api.example.com', pats));
  assert.ok(hostMatches('raw.github.com', pats));
  assert.ok(!hostMatches('github.com.evil.example', pats));
  assert.ok(!hostMatches('evilgithub.com', pats));
  assert.ok(!hostMatches('api.example.com.evil', pats));
  assert.equal(hostPattern('HTTPS://x'), undefined);
  assert.equal(hostPattern('API.Example.com.'), 'api.example.com');
});

test('isPublicHost: loopback, private, link-local, CGNAT, ULA, IPv4-mapped/NAT64/6to4 forms of them, and local names are not public', () => {
  for (const url of [
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[::]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[2002:7f00:1::]/',
    'http://localhost/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'http://db.internal/',
    'http://printer.local/',
    'http://intranet/',
  ])
    assert.equal(isPublicHost(urlHost(url)!), false, url);
  for (const url of ['https://example.com/', 'http://8.8.8.8/', 'http://[2606:4700:4700::1111]/', 'http://[::ffff:8.8.8.8]/'])
    assert.equal(isPublicHost(urlHost(url)!), true, url);
});

test('pathUnder: .., encoded and double-encoded dots and slashes, backslashes, file: URLs, NUL, Windows and UNC paths', () => {
  const root = '/srv/data';
  const inside = ['/srv/data', '/srv/data/a.txt', 'a/b.txt', './a', '/srv/data/x/../y', 'file:///srv/data/a', '/srv/data//a', '/srv/data/a%20b'];
  const outside = [
    '/srv/data/../secret',
    '../etc/passwd',
    '/srv/database/x',
    '/srv/data/..',
    '/etc/passwd',
    '..\\..\\etc\\passwd',
    '/srv/data/%2e%2e/secret',
    '/srv/data/%252e%252e/secret',
    '/srv/data/..%2fsecret',
    '/srv/data/..%5csecret',
    'file:///etc/passwd',
  ];
  const unreadable = [
    '/srv/data/a\0.txt',
    'C:\\Windows\\system32',
    'c:/x',
    '\\\\host\\share\\x',
    '//host/share',
    'file://host/srv/data/a',
    '/srv/data/%zz',
    '/srv/data/%25252525252e',
  ];
  for (const p of inside) assert.equal(pathUnder(p, root), true, p);
  for (const p of outside) assert.equal(pathUnder(p, root), false, p);
  for (const p of unreadable) assert.equal(pathUnder(p, root), undefined, p);
});

const POLICY = `version: "1"
default: allow
tools:
  fetch:
    rules:
      - name: only our API
        conditions:
          - { path: args.url, op: url_host_in, value: [api.example.com, "*.example.org"] }
          - { path: args.url, op: url_public, value: true }
  read_file:
    rules:
      - name: inside the data root
        conditions:
          - { path: args.path, op: path_under, value: /srv/data }
  post:
    rules:
      - name: never to the metadata service
        action: deny_if
        conditions:
          - { path: args.url, op: url_host_in, value: [169.254.169.254, metadata.google.internal] }
`;

test('as policy conditions: evaluate rules hold only for a clean value; a deny_if rule denies an unreadable one (fail closed)', () => {
  const r = compilePolicy(POLICY, 'p.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const allowed = (tool: string, args: Record<string, unknown>) => decide(r.policy, { tool, args }, new Map()).allowed;
  assert.equal(allowed('fetch', { url: 'https://api.example.com/v1' }), true);
  assert.equal(allowed('fetch', { url: 'https://docs.example.org/' }), true);
  assert.equal(allowed('fetch', { url: 'https://api.example.com@evil.example/' }), false);
  assert.equal(allowed('fetch', { url: 'https://evil.example\\@api.example.com/' }), false);
  assert.equal(allowed('fetch', { url: ['https://api.example.com/'] }), false);
  assert.equal(allowed('fetch', { URL: 'https://evil.example/' }), false);
  assert.equal(allowed('read_file', { path: '/srv/data/report.csv' }), true);
  assert.equal(allowed('read_file', { path: '/srv/data/%2e%2e/%2e%2e/etc/shadow' }), false);
  assert.equal(allowed('read_file', { path: 42 }), false);
  assert.equal(allowed('post', { url: 'https://example.com/' }), true);
  assert.equal(allowed('post', { url: 'http://0xa9fea9fe/latest' }), false);
  assert.equal(allowed('post', { url: 'http://[::ffff:169.254.169.254]/' }), true, 'a deny list is only as good as its entries: use url_public for ranges');
  assert.equal(allowed('post', { url: 'http://169.254.169.254\\@example.com/' }), false, 'unreadable: deny_if holds');
});

test('bad operator values are policy errors at their position', () => {
  const bad = compilePolicy(
    'version: "1"\ntools:\n  f:\n    rules:\n      - name: r\n        conditions:\n          - { path: args.url, op: url_host_in, value: ["https://x.example/"] }\n          - { path: args.p, op: path_under, value: relative/root }\n          - { path: args.u, op: url_public, value: "yes" }\n',
    'p.yaml',
  );
  assert.equal(bad.ok, false);
  const text = !bad.ok ? bad.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n') : '';
  assert.match(text, /7:\d+ .*"https:\/\/x\.example\/" is not a host name/);
  assert.match(text, /8:\d+ .*path_under" requires an absolute root path/);
  assert.match(text, /9:\d+ .*url_public" requires true or false/);
});
