// `toolgate scan` of a server whose tools are of the kinds the classifier used to understate
// (issue 23): the built binary scans the fake server over stdio, and the policy it writes holds
// every such tool for human approval; `toolgate explain` shows the decision; the gateway, run
// with that policy, refuses a tool the server added after the scan (default deny) and lets a
// listed read through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { bin, connectClient, root, tempDir, textOf } from './helpers.js';
import { CONTROL_TOOL, LATER_TOOL, RISKY_TOOLS } from './risky-server.js';

const riskyServer = join(root, 'dist', 'test', 'risky-server.js');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('scan writes approval rules for trades, refunds, irreversible acts and deployments, and denies tools added later', async () => {
  const dir = tempDir('toolgate-scan-risk-');
  try {
    const policy = join(dir, 'policy.yaml');
    const scan = cli(['scan', '-o', policy, '--', process.execPath, riskyServer, '--serve']);
    assert.equal(scan.code, 0, scan.stderr);
    assert.match(
      scan.stderr,
      new RegExp(`default: deny — the ${RISKY_TOOLS.length + 1} tools listed now are in the policy; a tool the server adds later is refused until reviewed`),
    );
    const doc = parse(readFileSync(policy, 'utf8')) as { default: string; tools: Record<string, { rules: Array<Record<string, unknown>> }> };
    assert.equal(doc.default, 'deny');
    assert.deepEqual(doc.tools[CONTROL_TOOL.name]!.rules, [], 'the Read control is allowed');
    for (const t of RISKY_TOOLS) {
      const rules = doc.tools[t.name]?.rules ?? [];
      assert.ok(
        rules.some((r) => r.action === 'require_approval' || r.action === 'deny'),
        `${t.name}: approval or deny rule, got ${JSON.stringify(rules)}`,
      );
      // What the policy decides for a call, as `toolgate explain` shows it.
      // A tool with an amount gets a spend cap too: a call without the amount is denied outright.
      const args = 'amount' in t.inputSchema.properties ? '{"amount": 10}' : '{}';
      const explained = cli(['explain', '-c', policy, '--tool', t.name, '--args', args, '--json']);
      assert.equal(explained.code, 0, explained.stderr);
      assert.equal(JSON.parse(explained.stdout).decision, 'approval', t.name);
    }
    assert.equal(JSON.parse(cli(['explain', '-c', policy, '--tool', CONTROL_TOOL.name, '--json']).stdout).decision, 'allowed');

    // The gateway with the scanned policy, in front of the same server that now offers one more tool.
    const { client } = await connectClient(policy, join(dir, 'state'), [process.execPath, riskyServer, '--serve', '--later'], {
      extra: ['--pin', 'off'],
    });
    try {
      const control = await client.callTool({ name: CONTROL_TOOL.name, arguments: { server: 'a' } });
      assert.equal(control.isError ?? false, false, textOf(control));
      assert.equal(textOf(control), `ran ${CONTROL_TOOL.name}`);
      const later = await client
        .callTool({ name: LATER_TOOL.name, arguments: {} })
        .catch((err: Error) => ({ isError: true, content: [{ type: 'text', text: err.message }] }));
      assert.equal(later.isError, true);
      assert.match(textOf(later), /not permitted by policy/);
    } finally {
      await client.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('classify puts every tool of every catalogued server in exactly one class, with a level, a confidence in [0, 1] and its reasons', () => {
  const dir = join(root, 'catalogue');
  const files = readdirSync(dir).filter((f) => f.endsWith('.tools.json'));
  assert.ok(files.length >= 5, `catalogue listings: ${files.length}`);
  const extra = join(tempDir(), 'odd.tools.json');
  // A name with no verb and no description: still one class (README: Other, Medium, confidence 0).
  writeFileSync(extra, JSON.stringify([{ name: 'zq', inputSchema: { type: 'object' } }]));
  for (const file of [...files.map((f) => join(dir, f)), extra]) {
    const tools = JSON.parse(readFileSync(file, 'utf8')) as Array<{ name: string }>;
    const out = JSON.parse(execFileSync(process.execPath, [bin, 'classify', file, '--json'], { encoding: 'utf8' })) as Array<Record<string, unknown>>;
    assert.deepEqual(
      out.map((t) => t.name),
      tools.map((t) => t.name),
      `${file}: every tool once, in order`,
    );
    for (const t of out) {
      assert.ok(['Read', 'Write', 'Execute', 'Destructive', 'Financial', 'Other'].includes(t.category as string), `${file}: ${JSON.stringify(t)}`);
      assert.ok(['Low', 'Medium', 'High', 'Critical'].includes(t.risk as string), `${file}: ${JSON.stringify(t)}`);
      assert.ok(typeof t.confidence === 'number' && t.confidence >= 0 && t.confidence <= 1, `${file}: ${JSON.stringify(t)}`);
      assert.ok(Array.isArray(t.reasons) && t.reasons.length > 0 && t.reasons.every((r) => typeof r === 'string' && r !== ''), `${file}: ${JSON.stringify(t)}`);
    }
  }
  const odd = JSON.parse(execFileSync(process.execPath, [bin, 'classify', extra, '--json'], { encoding: 'utf8' })) as Array<Record<string, unknown>>;
  assert.deepEqual([odd[0]!.category, odd[0]!.risk, odd[0]!.confidence], ['Other', 'Medium', 0]);
});
