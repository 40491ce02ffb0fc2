// End to end: `toolgate init` (the built binary) in a temporary HOME with a Cursor config that
// starts the bundled demo server, and a project .mcp.json that is not valid JSON. In Debian's
// Chromium (playwright-core), a tool is set to Deny and another to Hide, and Save is clicked.
// Then: the policy is written and valid, the config runs the server through toolgate, that
// command really enforces (the denied tool is refused, the hidden one is not listed), and
// `toolgate init --undo` puts the config back byte for byte.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parse } from 'yaml';
import { bin, demoServer, root, textOf } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(root, 'test-artifacts');
const REQUIRED = process.env.TOOLGATE_REQUIRE_SERVICES === '1';

interface PwLocator {
  click(): Promise<void>;
  selectOption(v: string): Promise<unknown>;
  waitFor(o?: { state?: 'attached' | 'visible'; timeout?: number }): Promise<void>;
  textContent(): Promise<string | null>;
  inputValue(): Promise<string>;
  isDisabled(): Promise<boolean>;
  first(): PwLocator;
}
interface PwPage {
  goto(url: string): Promise<unknown>;
  url(): string;
  locator(sel: string): PwLocator;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  on(ev: 'pageerror', cb: (e: Error) => void): void;
  on(ev: 'request', cb: (r: { url(): string }) => void): void;
}
interface PwBrowser {
  newContext(o?: Record<string, unknown>): Promise<{ newPage(): Promise<PwPage>; close(): Promise<void> }>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: { launch(o: { executablePath: string; args: string[] }): Promise<PwBrowser> };
}

async function loadPlaywright(): Promise<Playwright | undefined> {
  const name = 'playwright-core';
  try {
    return (await import(name)) as Playwright;
  } catch {
    return undefined;
  }
}

const playwright = await loadPlaywright();
const missing = !playwright ? 'playwright-core is not installed' : !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (apt-get install chromium)` : undefined;
const skip = missing && !REQUIRED ? missing : false;

function env(home: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete e.TOOLGATE_HOME;
  delete e.APPDATA;
  return e;
}

/** `toolgate init` as a process; resolves with the page address it prints. */
function startInit(home: string, project: string): { proc: ChildProcess; url: Promise<string>; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [bin, 'init', '--no-open', '--project', project], { env: env(home), cwd: project, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /choose per tool at (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`toolgate init exited (${code}): ${err}`)));
  });
  url.catch(() => {});
  return { proc, url, stderr: () => err, exited };
}

describe('toolgate init in a real browser', { skip }, () => {
  let browser: PwBrowser;
  let init: ReturnType<typeof startInit> | undefined;

  before(async () => {
    if (missing) throw new Error(`the browser test needs ${missing}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (init && init.proc.exitCode === null) {
      init.proc.kill('SIGKILL');
      await init.exited;
    }
  });

  test('Deny one tool and Hide another, save, enforce through the rewritten config, then --undo', { timeout: 120_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'init-e2e-'));
    const project = join(home, 'proj');
    mkdirSync(join(home, '.cursor'), { recursive: true });
    mkdirSync(project, { recursive: true });
    const configFile = join(home, '.cursor', 'mcp.json');
    const original = `{\n  // the demo server\n  "mcpServers": {\n    "demo": {\n      "command": ${JSON.stringify(process.execPath)},\n      "args": [${JSON.stringify(demoServer)}],\n      "env": { "DEMO_MODE": "1" }\n    }\n  }\n}\n`;
    writeFileSync(configFile, original);
    const brokenFile = join(project, '.mcp.json');
    const broken = '{ "mcpServers": { "x": ';
    writeFileSync(brokenFile, broken);

    init = startInit(home, project);
    const url = await init.url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    assert.match(init.stderr(), /\.mcp\.json:1:\d+: not valid JSON .*the file is left as it is/);

    // Hostile: a wrong token is refused, and nothing is saved by it.
    const origin = new URL(url).origin;
    const wrong = await fetch(`${origin}/api/save`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-toolgate-token': 'guess', origin },
      body: '{"servers":[]}',
    });
    assert.equal(wrong.status, 403);
    assert.equal((await fetch(`${origin}/?token=guess`)).status, 403);

    const errors: string[] = [];
    const external: string[] = [];
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`)) external.push(r.url());
    });
    await page.goto(url);
    const row = (tool: string) => `section[data-server] tr[data-tool="${tool}"]`;
    await page.locator(`${row('delete_customer')} select.action`).waitFor();
    assert.doesNotMatch(page.url(), /token/, 'the token leaves the address bar');
    // Pre-filled from the risk classifier.
    assert.equal(await page.locator(`${row('get_weather')} select.action`).inputValue(), 'allow');
    assert.equal(await page.locator(`${row('delete_customer')} select.action`).inputValue(), 'approval');
    assert.equal(await page.locator(`${row('fail')} select.action`).inputValue(), 'rate_limit');
    assert.equal(await page.locator(`${row('fail')} input.rate`).isDisabled(), false);
    await page.locator(`${row('delete_customer')} select.action`).selectOption('deny');
    await page.locator(`${row('admin_reset')} select.action`).selectOption('hide');
    await page.locator(`${row('create_charge')} select.action`).selectOption('allow');
    await page.screenshot({ path: join(ARTIFACTS, 'init-choices.png'), fullPage: true });
    await page.locator('#save').click();
    await page.locator('#result .rewritten').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'init-saved.png'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(external, []);
    assert.equal(await init.exited, 1, 'exit status 1: one config could not be read');
    await ctx.close();

    // The policy: written, valid under `toolgate validate`, with the choices made on the page.
    const policyFile = join(home, '.toolgate', 'policies', 'demo.yaml');
    const check = spawnSync(process.execPath, [bin, 'validate', policyFile], { encoding: 'utf8', env: env(home) });
    assert.equal(check.status, 0, check.stderr);
    const policy = parse(readFileSync(policyFile, 'utf8'));
    assert.equal(policy.default, 'deny');
    assert.deepEqual(policy.hide, ['admin_reset']);
    assert.equal(policy.tools.delete_customer.rules[0].action, 'deny');
    assert.deepEqual(policy.tools.create_charge.rules, []);
    assert.deepEqual(policy.tools.get_weather.rules, []);
    assert.equal(policy.tools.fail.rules[0].rate_limit, '10/minute');

    // The config: the server runs through toolgate; the comment and env are kept; the broken file is untouched.
    const rewritten = readFileSync(configFile, 'utf8');
    assert.match(rewritten, /\/\/ the demo server/);
    const entry = parse(rewritten.replace(/^\s*\/\/.*$/m, '')).mcpServers.demo;
    assert.equal(entry.command, process.execPath);
    assert.deepEqual(entry.args, [bin, '-c', policyFile, '--', process.execPath, demoServer]);
    assert.deepEqual(entry.env, { DEMO_MODE: '1' });
    assert.equal(readFileSync(brokenFile, 'utf8'), broken);

    // The rewritten command enforces: run it as the client would.
    const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: env(home) as Record<string, string>, stderr: 'pipe' });
    const client = new Client({ name: 'e2e-init', version: '1.0.0' });
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['create_charge', 'delete_customer', 'echo', 'fail', 'get_weather']);
      assert.equal(textOf(await client.callTool({ name: 'get_weather', arguments: { city: 'Lyon' } })), 'It is sunny in Lyon, 21°C.');
      const denied = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
      assert.equal(denied.isError, true);
      assert.match(textOf(denied), /delete_customer is not allowed \(toolgate init\)/);
      const hidden = await client
        .callTool({ name: 'admin_reset', arguments: {} })
        .catch((e: Error) => ({ isError: true, content: [{ type: 'text', text: e.message }] }));
      assert.equal(hidden.isError, true);
      assert.doesNotMatch(textOf(hidden), /Account reset/);
    } finally {
      await client.close();
    }

    // Undo: the config comes back byte for byte.
    const undo = spawnSync(process.execPath, [bin, 'init', '--undo'], { encoding: 'utf8', env: env(home), cwd: project });
    assert.equal(undo.status, 0, undo.stderr);
    assert.match(undo.stderr, /restored \(Cursor\)/);
    assert.equal(readFileSync(configFile, 'utf8'), original);
  });
});

describe('toolgate init without a browser', () => {
  test('--no-browser writes the recommended policies and rewrites the config; --undo restores it; a remote-only config changes nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'init-e2e-nb-'));
    const project = join(home, 'proj');
    mkdirSync(join(home, '.codeium', 'windsurf'), { recursive: true });
    mkdirSync(project, { recursive: true });
    const configFile = join(home, '.codeium', 'windsurf', 'mcp_config.json');
    const original = JSON.stringify({ mcpServers: { demo: { command: process.execPath, args: [demoServer] } } }, null, 2);
    writeFileSync(configFile, original);
    const init = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'init', '--project', project, ...args], { encoding: 'utf8', env: env(home), cwd: project });
    const r = init('--no-browser');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /demo \(Windsurf\): 6 tools/);
    const policyFile = join(home, '.toolgate', 'policies', 'demo.yaml');
    const policy = parse(readFileSync(policyFile, 'utf8'));
    // The classifier's recommendations: reads allowed, deletes held for a human.
    assert.deepEqual(policy.tools.get_weather.rules, []);
    assert.equal(policy.tools.delete_customer.rules[0].action, 'require_approval');
    const entry = JSON.parse(readFileSync(configFile, 'utf8')).mcpServers.demo;
    assert.deepEqual(entry.args, [bin, '-c', policyFile, '--', process.execPath, demoServer]);
    // Run again: the server is already behind toolgate and is left alone.
    const again = init('--no-browser');
    assert.match(again.stderr, /already runs through toolgate/);
    assert.match(again.stderr, /no server to put behind toolgate/);
    const undo = init('--undo');
    assert.equal(undo.status, 0, undo.stderr);
    assert.equal(readFileSync(configFile, 'utf8'), original);
    assert.match(init('--undo').stderr, /nothing to undo/);

    writeFileSync(configFile, JSON.stringify({ mcpServers: { far: { serverUrl: 'https://far.example/mcp' } } }));
    const remote = init('--no-browser');
    assert.equal(remote.status, 0, remote.stderr);
    assert.match(remote.stderr, /far \(Windsurf\): remote server at https:\/\/far\.example\/mcp/);
    assert.match(remote.stderr, /no server to put behind toolgate/);
  });
});
