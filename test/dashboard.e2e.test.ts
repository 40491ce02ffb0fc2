// End to end: a real gateway holds a call for approval, `toolgate dashboard`
// runs as its own process on the same state directory, and a real browser
// (playwright-core driving Debian's /usr/bin/chromium) signs in, opens the
// approvals page and clicks Approve: the waiting agent's call completes.
// Screenshots land in test-artifacts/ (gitignored).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { bigChargesNeedApproval, bin, demoServer, gatewayArgs, root, textOf, writePolicy } from './helpers.js';

const ADMIN = 'e2e-admin-key-0123456789abcdef';
const VIEWER = 'e2e-viewer-key-0123456789abcdef';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(root, 'test-artifacts');
const REQUIRED = process.env.TOOLGATE_REQUIRE_SERVICES === '1';

const POLICY = `
version: "1"
default: allow
hide: [admin_reset]
tools:
${bigChargesNeedApproval()}  delete_customer:
    rules:
      - name: "no deletes"
        action: deny
        on_deny: "Deleting customers is not allowed"
`;

// The few playwright-core calls this test makes (imported by name at run time,
// so the build does not depend on the package being installed).
interface PwLocator {
  click(): Promise<void>;
  fill(v: string): Promise<void>;
  waitFor(o?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  isDisabled(): Promise<boolean>;
  textContent(): Promise<string | null>;
  getAttribute(name: string): Promise<string | null>;
  first(): PwLocator;
  count(): Promise<number>;
}
interface PwPage {
  goto(url: string): Promise<unknown>;
  url(): string;
  locator(sel: string): PwLocator;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  waitForURL(u: RegExp | string, o?: { timeout?: number }): Promise<void>;
  on(ev: 'pageerror', cb: (e: Error) => void): void;
  on(ev: 'request', cb: (r: { url(): string }) => void): void;
}
interface PwContext {
  newPage(): Promise<PwPage>;
  close(): Promise<void>;
}
interface PwBrowser {
  newContext(o?: Record<string, unknown>): Promise<PwContext>;
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
const missing = !playwright
  ? 'playwright-core is not installed (npm install -D playwright-core@1)'
  : !existsSync(CHROMIUM)
    ? `${CHROMIUM} is missing (apt-get install chromium)`
    : undefined;
const skip = missing && !REQUIRED ? missing : false;

/** Start `toolgate dashboard` as a real process; resolves with its URL from stderr. */
function startDashboardProcess(
  stateDir: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): { proc: ChildProcess; url: Promise<string>; stderr: () => string; exited: Promise<number | null> } {
  const baseEnv = { ...process.env, ...env };
  delete baseEnv.TOOLGATE_ADMIN_KEY;
  delete baseEnv.TOOLGATE_VIEWER_KEYS;
  const proc = spawn(process.execPath, [bin, 'dashboard', '--state-dir', stateDir, '--port', '0', ...extra], {
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the dashboard did not start: ${err}`)), 60_000); // a limit on waiting on a loaded machine
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /toolgate dashboard on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`the dashboard exited (${code}): ${err}`));
    });
  });
  url.catch(() => {}); // awaited by the tests that expect a start
  return { proc, url, stderr: () => err, exited };
}

async function pendingApprovals(url: string): Promise<Array<Record<string, any>>> {
  const res = await fetch(`${url}api/approvals?status=pending`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { approvals: Array<Record<string, any>> }).approvals;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('toolgate dashboard as a process', () => {
  test('refuses to start without an admin key, or with a short one; refuses a non-loopback bind without keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-dash-keys-'));
    for (const [extra, pattern] of [
      [[], /admin key/],
      [['--admin-key', 'short'], /at least 16 characters/],
      [['--bind', '0.0.0.0'], /not loopback\) without keys/],
    ] as const) {
      const d = startDashboardProcess(dir, [...extra]);
      const code = await d.exited;
      assert.notEqual(code, 0);
      assert.match(d.stderr(), pattern);
    }
  });

  test('refuses a missing or wrong admin key on the API and on the sign-in page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-dash-auth-'));
    const d = startDashboardProcess(dir, ['--admin-key', ADMIN]);
    try {
      const url = await d.url;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal((await fetch(`${url}api/approvals`)).status, 401);
      assert.equal((await fetch(`${url}api/approvals`, { headers: { authorization: 'Bearer not-the-admin-key-at-all' } })).status, 401);
      assert.equal((await fetch(`${url}api/approvals`, { headers: { authorization: `Bearer ${ADMIN}` } })).status, 200);
      const page = await fetch(url, { redirect: 'manual' });
      assert.equal(page.status, 303);
      assert.equal(page.headers.get('location'), '/login');
      const wrong = await fetch(`${url}login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin },
        body: 'key=not-the-admin-key-at-all',
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null);
    } finally {
      d.proc.kill('SIGTERM');
      await d.exited;
    }
  });
});

describe('approving a held call in a real browser', { skip }, () => {
  let client: Client;
  let dash: ReturnType<typeof startDashboardProcess>;
  let browser: PwBrowser;
  let stateDir: string;

  before(async () => {
    if (missing) throw new Error(`the browser test needs ${missing}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const p = writePolicy(POLICY);
    stateDir = p.stateDir;
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: gatewayArgs(p.policy, stateDir, [process.execPath, demoServer], ['--identity', 'agent-7']),
      stderr: 'pipe',
    });
    client = new Client({ name: 'e2e-dashboard', version: '1.0.0' });
    await client.connect(transport);
    await client.listTools();
    dash = startDashboardProcess(stateDir, ['--admin-key', ADMIN, '--viewer-key', VIEWER]);
    browser = await playwright!.chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await client?.close().catch(() => {});
    if (dash) {
      dash.proc.kill('SIGTERM');
      await dash.exited;
    }
  });

  test('sign in, open approvals, click Approve: the agent call completes', { timeout: 90_000 }, async () => {
    const url = await dash.url;
    // Some traffic for the live view and the charts.
    assert.equal(textOf(await client.callTool({ name: 'get_weather', arguments: { city: 'Lyon' } })), 'It is sunny in Lyon, 21°C.');
    const denied = await client.callTool({ name: 'delete_customer', arguments: { id: 'c1' } });
    assert.equal(denied.isError, true);
    assert.equal(textOf(await client.callTool({ name: 'create_charge', arguments: { amount: 500, currency: 'usd' } })), 'Charged 5.00 USD.');

    const held = client.callTool({ name: 'create_charge', arguments: { amount: 5000, currency: 'usd' } });
    let settled = false;
    void held.then(
      () => (settled = true),
      () => (settled = true),
    );
    const req = await waitFor('the pending approval', async () => (await pendingApprovals(url))[0]);
    assert.equal(req.tool, 'create_charge');
    assert.equal(req.identity, 'agent-7');

    const external: string[] = [];
    const errors: string[] = [];
    const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => {
      if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(r.url()) && !r.url().startsWith('data:')) external.push(r.url());
    });

    await page.goto(url);
    await page.waitForURL(/\/login$/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-login.png') });
    await page.locator('#key').fill('not-the-admin-key-at-all');
    await page.locator('button[type=submit]').click();
    await page.locator('#login-error').waitFor();
    assert.match((await page.locator('#login-error').textContent()) ?? '', /not valid/);
    await page.locator('#key').fill(ADMIN);
    await page.locator('button[type=submit]').click();
    await page.locator('#kpis .kpi').first().waitFor();
    await page.locator('#chart-calls svg').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true });

    await page.goto(`${url}#/approvals`);
    const card = `.approval-card[data-id="${req.id}"]`;
    await page.locator(card).waitFor();
    assert.equal(await page.locator('#role-badge').textContent(), 'admin');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-approvals.png'), fullPage: true });
    assert.equal(settled, false, 'the agent is still waiting before anyone approves');

    await page.locator(`${card} [data-action=approve]`).click();
    const result = await held;
    assert.equal(result.isError ?? false, false);
    assert.equal(textOf(result), 'Charged 50.00 USD.');
    await page.locator(card).waitFor({ state: 'detached' });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-approved.png'), fullPage: true });

    const decided = await fetch(`${url}api/approvals/${req.id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const rec = ((await decided.json()) as { approval: Record<string, unknown> }).approval;
    assert.equal(rec.status, 'approved');
    assert.equal(rec.decided_by, 'dashboard');
    assert.equal(rec.channel, 'http');

    // The live view shows the approval and the call it released.
    await page.goto(`${url}#/live`);
    await page.locator('#calls tr[data-status="approval"]').first().waitFor();
    await page.locator('#calls tr[data-status="denied"]').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png') });
    await page.goto(`${url}#/catalogue`);
    await page.locator('#catalogue .risk').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-catalogue.png'), fullPage: true });
    // The page of a tool, folded under its name: class, level, confidence and reasons, the rule
    // scan would write (YAML and JSON), the attacks of its class and the usual controls.
    const toolPage = '#catalogue .tool-page[data-tool="create_charge"]';
    await page.locator(`${toolPage} summary`).click();
    await page.locator(`${toolPage} .page-rule`).waitFor({ state: 'visible' });
    const pageText = (await page.locator(toolPage).textContent()) ?? '';
    assert.match(pageText, /Financial · risk Critical · confidence \d\.\d\d/);
    assert.match(pageText, /Recommended rule \(what toolgate scan writes\)"create_charge":\s+rules:\s+# Each call waits for a human/);
    assert.match(pageText, /As PolicyLayer JSON\{\s+"create_charge": \{/);
    assert.match(pageText, /Amount manipulation: /);
    for (const h of ['Rate-limit it', 'Deny it', 'Require approval']) assert.ok(pageText.includes(h), h);
    // Its class links to the attack library (docs/attacks/), served by the dashboard.
    const attackLink = page.locator(`${toolPage} .page-attack-pages a`).first();
    assert.equal(await attackLink.textContent(), 'Destructive and financial calls');
    const href = await attackLink.getAttribute('href');
    assert.equal(href, 'static/attacks/destructive-and-financial-calls.md');
    const linked = await fetch(new URL(href!, url));
    assert.equal(linked.status, 200);
    assert.match(await linked.text(), /^# Destructive and financial calls/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-tool-page.png'), fullPage: true });
    await ctx.close();

    assert.deepEqual(external, [], 'the dashboard loads nothing from outside');
    assert.deepEqual(errors, [], 'no script errors');
  });

  test('a viewer sees the queue but cannot approve', { timeout: 60_000 }, async () => {
    const url = await dash.url;
    const held = client.callTool({ name: 'create_charge', arguments: { amount: 7000, currency: 'eur' } });
    const req = await waitFor('the second pending approval', async () => (await pendingApprovals(url)).find((a) => a.args_preview?.amount === 7000));
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(`${url}login`);
    await page.locator('#key').fill(VIEWER);
    await page.locator('button[type=submit]').click();
    await page.locator('#kpis .kpi').first().waitFor();
    await page.goto(`${url}#/approvals`);
    await page.locator(`.approval-card[data-id="${req.id}"]`).waitFor();
    assert.equal(await page.locator('#role-badge').textContent(), 'viewer');
    assert.equal(await page.locator(`.approval-card[data-id="${req.id}"] [data-action=approve]`).isDisabled(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-viewer.png') });
    await ctx.close();
    // The API says the same to a viewer; the admin denies with a reason and the agent gets it.
    const asViewer = await fetch(`${url}api/approvals/${req.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIEWER}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(asViewer.status, 403);
    const deny = await fetch(`${url}api/approvals/${req.id}/deny`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'not this one', by: 'finance-lead' }),
    });
    assert.equal(deny.status, 200);
    const result = await held;
    assert.equal(result.isError, true);
    assert.match(textOf(result), /not this one/);
  });
});
