import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTools, classifyToolsDetail, toolPage } from './index.js';
import { assertValidPolicy } from '../../test/support/policy.js';

const asPolicy = (snippet: string): string => `version: "1"\ndefault: "deny"\ntools:\n${snippet.replace(/^(?=.)/gm, '  ')}`;

test('a tool page: class, level, confidence, reasons, the rule scan writes in both forms, attacks and controls', () => {
  const page = toolPage('k8s', {
    name: 'kubectl_apply',
    description: 'Apply a Kubernetes manifest to the cluster',
    inputSchema: { type: 'object', properties: { manifest: { type: 'string' } } },
  });
  assert.equal(page.server, 'k8s');
  assert.equal(page.category, 'Execute');
  assert.equal(page.risk, 'High');
  assert.ok(page.confidence > 0.5);
  assert.ok(
    page.reasons.some((r) => /"apply" "kubectl" changes what runs/.test(r)),
    page.reasons.join('; '),
  );
  // The rule is what scan writes: approval, then the rate limit; the JSON form says the same.
  const doc = assertValidPolicy(asPolicy(page.rule.yaml));
  assert.equal(doc.tools.kubectl_apply!.rules[0]!.action, 'require_approval');
  assert.equal(doc.tools.kubectl_apply!.rules[1]!.rate_limit, '10/minute');
  const json = page.rule.json as { require_approval?: unknown; limits: Array<{ max: number; window: string }> };
  assert.equal(json.limits[0]!.max, 10);
  assert.equal(json.limits[0]!.window, 'minute');
  assert.ok(page.attackPatterns.some((a) => a.name === 'Command and code injection'));
  // Each control snippet is a valid policy entry for the tool.
  for (const snippet of Object.values(page.howTo)) assert.ok('kubectl_apply' in assertValidPolicy(asPolicy(snippet)).tools, snippet);
});

test('a financial page warns of amount tricks; an odd tool name stays valid YAML and JSON', () => {
  const pay = toolPage('shop', {
    name: 'create_refund',
    description: 'Refund a charge',
    inputSchema: { type: 'object', properties: { amount: { type: 'integer' }, currency: { type: 'string' } } },
  });
  assert.equal(pay.category, 'Financial');
  assert.ok(pay.attackPatterns.some((a) => a.name === 'Amount manipulation'));
  const odd = toolPage('x', { name: 'get "quoted": name\nnext' });
  assert.ok(`get "quoted": name\nnext` in assertValidPolicy(asPolicy(odd.rule.yaml)).tools);
  for (const snippet of Object.values(odd.howTo)) assertValidPolicy(asPolicy(snippet));
});

test("a tool page read within its server's listing says what scan says: a hint the server sets on every tool tells nothing", () => {
  const everyToolDestructive = { destructiveHint: true };
  const listing = [
    { name: 'list_jobs', description: 'List all jobs', annotations: everyToolDestructive },
    { name: 'get_job', description: 'Get a job by its id', annotations: everyToolDestructive },
    { name: 'list_nodes', description: 'List all nodes', annotations: everyToolDestructive },
    { name: 'delete_job', description: 'Delete a job', annotations: everyToolDestructive },
  ];
  const verdicts = classifyToolsDetail(listing);
  const page = toolPage('nomad', listing[0]!, verdicts[0]);
  assert.equal(page.category, 'Read');
  assert.equal(classifyTools(listing)[0]!.category, page.category, 'scan and classify read it as the page does');
  // Read alone, the same tool is raised by the hint: the listing is what makes the page agree with scan.
  assert.notEqual(toolPage('nomad', listing[0]!).category, 'Read');
});
