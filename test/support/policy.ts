// Test helper (not exported from the room): check a policy text against the Intercept YAML v1
// rules. Uses the policy room's compilePolicy when it is implemented; the structural check
// below always runs, so the tests mean something before and after.
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { compilePolicy, formatPolicyError } from '../../src/policy/index.js';

export interface PolicyDoc {
  version: string;
  default?: string;
  tools: Record<string, { rules: Array<Record<string, unknown>> }>;
}

export function assertValidPolicy(text: string): PolicyDoc {
  const doc = parse(text) as PolicyDoc;
  assert.equal(doc.version, '1', 'version must be "1"');
  assert.ok(doc.default === undefined || doc.default === 'allow' || doc.default === 'deny');
  assert.ok(doc.tools && typeof doc.tools === 'object', 'tools must be a map');
  for (const [name, entry] of Object.entries(doc.tools)) {
    assert.ok(Array.isArray(entry.rules), `${name}: rules must be a list`);
    const windows = new Set<string>();
    for (const rule of entry.rules) {
      assert.equal(typeof rule.name, 'string', `${name}: rule must have a name`);
      const action = rule.action ?? 'evaluate';
      assert.ok(action === 'evaluate' || action === 'deny' || action === 'require_approval', `${name}: bad action ${String(action)}`);
      if (action === 'require_approval') continue;
      if (rule.rate_limit !== undefined) {
        const m = /^([1-9][0-9]*)\/(minute|hour|day)$/.exec(String(rule.rate_limit));
        assert.ok(m, `${name}: bad rate_limit ${String(rule.rate_limit)}`);
        assert.ok(action !== 'deny' && !rule.conditions && !rule.state, `${name}: rate_limit stands alone`);
        assert.ok(!windows.has(m[2]!), `${name}: duplicate rate_limit window`);
        windows.add(m[2]!);
        continue;
      }
      if (action === 'deny') {
        assert.equal(rule.conditions, undefined, `${name}: deny rules must not have conditions`);
        continue;
      }
      const conditions = rule.conditions as Array<{ path: string; op: string }>;
      assert.ok(Array.isArray(conditions) && conditions.length > 0, `${name}: evaluate rules need a condition`);
      for (const c of conditions) {
        assert.match(c.path, /^(args|state)\./, `${name}: bad path ${c.path}`);
        if (c.path.startsWith('state.')) {
          const state = rule.state as { counter: string; window: string } | undefined;
          assert.ok(state, `${name}: state condition without a state block`);
          assert.equal(c.path, `state.${name}.${state.counter}`);
          assert.ok(['minute', 'hour', 'day'].includes(state.window));
        }
      }
    }
  }
  let result: ReturnType<typeof compilePolicy> | undefined;
  try {
    result = compilePolicy(text, 'scaffold.yaml');
  } catch (err) {
    if (!(err instanceof Error && /not implemented/.test(err.message))) throw err;
  }
  if (result && !result.ok) assert.fail(result.errors.map(formatPolicyError).join('\n'));
  return doc;
}
