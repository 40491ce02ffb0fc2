import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { buildScaffold, type ToolDefinition } from './index.js';
import { assertValidPolicy } from '../../test/support/policy.js';

const at = new Date('2026-01-02T03:04:05Z');

const tools: ToolDefinition[] = [
  {
    name: 'list_things',
    description: 'List things',
    inputSchema: { type: 'object', properties: { q: { type: 'string', description: 'filter\nover two lines' } }, required: ['q'] },
  },
  { name: 'create_thing', description: 'Create a thing' },
  { name: 'run_command', description: 'Run a shell command', inputSchema: { type: 'object', properties: { command: { type: 'string' } } } },
  { name: 'delete_thing', description: 'Delete a thing' },
  {
    name: 'create_charge',
    description: 'Charge a card',
    inputSchema: { type: 'object', properties: { amount: { type: 'integer' }, currency: { type: 'string' } } },
  },
  { name: 'cancel_subscription', description: 'Cancel a subscription' },
  { name: 'list_invoices', description: 'List invoices' },
  { name: 'frobnicate', description: 'Frobnicates # not a comment\nsecond line' },
];

test('scaffold: valid Intercept YAML v1 with the recommended rule per category', () => {
  const text = buildScaffold(tools, { server: { name: 'demo', version: '1.2.3' }, source: 'stdio: demo', generatedAt: at });
  const doc = assertValidPolicy(text);
  assert.equal(doc.version, '1');
  // Deny by default: a tool the server adds later is refused until reviewed.
  assert.equal(doc.default, 'deny');
  assert.match(text, /a tool it\n# adds later is refused until you review it/);
  assert.deepEqual(Object.keys(doc.tools).sort(), tools.map((t) => t.name).sort());
  assert.deepEqual(doc.tools.list_things!.rules, []);
  assert.equal(doc.tools.create_thing!.rules[0]!.rate_limit, '30/minute');
  // Running a caller's command (Critical) waits for a human, and is rate-limited.
  assert.equal(doc.tools.run_command!.rules[0]!.action, 'require_approval');
  assert.equal(doc.tools.run_command!.rules[1]!.rate_limit, '10/minute');
  assert.equal(doc.tools.frobnicate!.rules[0]!.rate_limit, '10/minute');
  assert.equal(doc.tools.delete_thing!.rules[0]!.action, 'require_approval');
  assert.match(String(doc.tools.delete_thing!.rules[0]!.on_deny), /requires human approval/);
  // Financial: approval placeholder plus a spend cap on the amount argument.
  const charge = doc.tools.create_charge!.rules;
  assert.equal(charge[0]!.action, 'require_approval');
  assert.equal(charge[1]!.name, 'daily spend cap');
  assert.deepEqual(charge[1]!.state, { counter: 'daily_spend', window: 'day', increment_from: 'args.amount' });
  assert.equal((charge[1]!.conditions as { path: string }[])[0]!.path, 'state.create_charge.daily_spend');
  // No amount argument: the cap is a commented example only.
  assert.equal(doc.tools.cancel_subscription!.rules.length, 1);
  // A financial read is rate-limited, not blocked.
  assert.equal(doc.tools.list_invoices!.rules[0]!.rate_limit, '30/minute');
});

test('scaffold: header, grouping and comments', () => {
  const text = buildScaffold(tools, { server: { name: 'demo', version: '1.2.3' }, source: 'stdio: demo', generatedAt: at });
  assert.match(text, /^# Server: +demo 1\.2\.3$/m);
  assert.match(text, /^# Generated: 2026-01-02T03:04:05\.000Z/m);
  assert.match(text, /^# Tools: +8 \(Read 1, Write 1, Execute 1, Destructive 1, Financial 3, Other 1\)$/m);
  assert.match(text, /^\s+action: require_approval$/m);
  assert.match(text, /#     q \(string, required\): filter over two lines/);
  // Groups come in category order.
  const order = ['── Read', '── Write', '── Execute', '── Destructive', '── Financial', '── Unclassified'].map((h) => text.indexOf(h));
  assert.ok(order.every((i) => i >= 0));
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
  );
  // Descriptions with newlines and '#' stay inside comments.
  assert.equal(parse(text).tools.frobnicate.rules.length, 1);
  assert.match(text, /# frobnicate: Frobnicates # not a comment second line/);
});

test("scaffold: --default allow is Intercept's scaffold, and says what it means", () => {
  const text = buildScaffold(tools, { generatedAt: at, defaultAction: 'allow' });
  assert.equal(assertValidPolicy(text).default, 'allow');
  assert.match(text, /a tool the server adds later is let through without review/);
});

test('scaffold: the comment of each tool gives its confidence, and says when to review it', () => {
  const text = buildScaffold(tools, { generatedAt: at });
  assert.match(text, /^  #   Read, risk Low, confidence 1\.00: verb "list" in the name/m);
  assert.match(text, /^  #   Other, risk Medium, confidence 0\.00 \(review by hand\): /m);
});

test('scaffold: --default deny lists every tool; odd names stay valid; duplicates are dropped', () => {
  const odd: ToolDefinition[] = [
    { name: 'get "quoted": name' },
    { name: 'ünïcode-tool', description: 'Get it' },
    { name: 'dup' },
    { name: 'dup', description: 'again' },
    { name: 'pay.invoice', inputSchema: { type: 'object', properties: { amount: { type: 'number' }, currency: { type: 'string' } } } },
  ];
  const text = buildScaffold(odd, { generatedAt: at, defaultAction: 'deny' });
  const doc = assertValidPolicy(text);
  assert.equal(doc.default, 'deny');
  assert.deepEqual(Object.keys(doc.tools).sort(), ['dup', 'get "quoted": name', 'pay.invoice', 'ünïcode-tool'].sort());
  assert.match(text, /lists "dup" more than once/);
  // A dotted name cannot be a state path scope: no active spend cap for it.
  assert.equal(doc.tools['pay.invoice']!.rules.length, 1);
});

test('scaffold: no tools gives a valid empty policy', () => {
  const doc = assertValidPolicy(buildScaffold([], { generatedAt: at }));
  assert.deepEqual(doc.tools, {});
});
