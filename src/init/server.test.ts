// The init page's HTTP edge: the token, the origin, the host, the content type, and the token
// being spent by a save. Raw requests (node:http) so that Host and Origin can be forged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Plan, SaveResult } from './plan.js';
import { startInitPage } from './server.js';

const PLAN: Plan = {
  files: [{ client: 'Cursor', file: '/h/.cursor/mcp.json', servers: [] }],
  servers: [
    {
      id: 's1',
      client: 'Cursor',
      file: '/h/.cursor/mcp.json',
      name: 'demo',
      path: ['mcpServers', 'demo'],
      kind: 'stdio',
      command: 'node',
      args: ['srv.js'],
      env: { API_KEY: 'sk-live-do-not-show' },
      entry: {},
      tools: [{ name: 'echo', action: 'allow', category: 'Read', risk: 'Low', why: '' }],
    },
  ],
};

interface Reply {
  status: number;
  body: string;
}

function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; path?: string } = {}): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: u.port, path: opts.path ?? `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers: opts.headers ?? {} },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function page(onSave: (b: unknown) => SaveResult = () => ({ policies: [], rewritten: [], errors: [] })) {
  const calls: unknown[] = [];
  const p = await startInitPage(PLAN, (b) => {
    calls.push(b);
    return onSave(b);
  });
  const u = new URL(p.url);
  const token = u.searchParams.get('token')!;
  const origin = u.origin;
  const save = (headers: Record<string, string>, body = '{"servers":[]}') => raw(p.url, { method: 'POST', path: '/api/save', headers, body });
  return { p, calls, token, origin, save };
}

test('the page binds 127.0.0.1 and asks for the token; the plan never carries env values', async () => {
  const { p, token } = await page();
  try {
    assert.match(p.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    assert.equal((await raw(p.url)).status, 200);
    assert.equal((await raw(p.url, { path: '/' })).status, 403);
    assert.equal((await raw(p.url, { path: '/?token=wrong' })).status, 403);
    assert.equal((await raw(p.url, { path: '/api/plan' })).status, 403);
    assert.equal((await raw(p.url, { path: '/api/plan', headers: { 'x-toolgate-token': 'wrong' } })).status, 403);
    const plan = await raw(p.url, { path: '/api/plan', headers: { 'x-toolgate-token': token } });
    assert.equal(plan.status, 200);
    assert.match(plan.body, /"commandLine":"node srv.js"/);
    assert.doesNotMatch(plan.body, /sk-live/);
    // A DNS-rebinding page reaches the same socket under its own host name.
    assert.equal((await raw(p.url, { path: '/api/plan', headers: { host: 'evil.example:80', 'x-toolgate-token': token } })).status, 421);
  } finally {
    await p.close();
  }
});

test('a cross-origin or cross-site POST, a wrong token or a form post is refused and saves nothing', async () => {
  const { p, calls, token, origin, save } = await page();
  try {
    const json = { 'content-type': 'application/json' };
    assert.equal((await save({ ...json, 'x-toolgate-token': token, origin: 'http://evil.example' })).status, 403);
    assert.equal((await save({ ...json, 'x-toolgate-token': token, origin: 'http://127.0.0.1:1' })).status, 403);
    assert.equal((await save({ ...json, 'x-toolgate-token': token, origin, 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await save({ ...json, 'x-toolgate-token': 'wrong', origin })).status, 403);
    assert.equal((await save({ ...json, origin })).status, 403);
    assert.equal((await save({ 'content-type': 'text/plain', 'x-toolgate-token': token, origin })).status, 415);
    assert.equal((await save({ 'content-type': 'application/x-www-form-urlencoded', 'x-toolgate-token': token, origin }, 'servers=1')).status, 415);
    assert.equal((await save({ ...json, 'x-toolgate-token': token, origin }, '{not json')).status, 400);
    assert.equal(calls.length, 0);
  } finally {
    await p.close();
  }
});

test('a save that fails is reported and keeps the token; a save that succeeds spends it', async () => {
  let fail = true;
  const { p, calls, token, origin, save } = await page(() => {
    if (fail) throw new Error('"x": unknown action "explode"');
    return { policies: [{ server: 'demo', client: 'Cursor', file: '/p/demo.yaml' }], rewritten: [], errors: [] };
  });
  try {
    const headers = { 'content-type': 'application/json', 'x-toolgate-token': token, origin, 'sec-fetch-site': 'same-origin' };
    const bad = await save(headers);
    assert.equal(bad.status, 400);
    assert.match(bad.body, /unknown action/);
    fail = false;
    const ok = await save(headers);
    assert.equal(ok.status, 200);
    assert.deepEqual((await p.saved).policies[0]!.file, '/p/demo.yaml');
    assert.equal((await save(headers)).status, 410);
    assert.equal((await raw(p.url)).status, 410);
    assert.equal(calls.length, 2);
  } finally {
    await p.close();
  }
});
