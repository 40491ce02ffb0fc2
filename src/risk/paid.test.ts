// Money records and paid compute shown only by fields, a response schema or a later sentence (paid.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, classifyTools, type JsonSchema, type ToolDefinition } from './index.js';

const cat = (t: ToolDefinition): string => classifyTool(t).category;
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });
const id = obj({ id: { type: 'string' } });

test('a transfer, a membership or a checkout read is a money record when amounts, plans or prices show it', () => {
  const schema = 'Response fields: id, amount (the amount moved), currency, created_at.';
  assert.equal(cat({ name: 'fetch_transfers', description: `Fetches a transfer by ID. ${schema}`, inputSchema: id }), 'Financial');
  // Moving a workspace to a team names no amount: not money.
  assert.equal(cat({ name: 'fetch_transfers', description: 'Fetches a transfer of a workspace by ID.', inputSchema: id }), 'Read');
  const bought = 'A membership represents a purchase of a product by a user.';
  assert.equal(cat({ name: 'get_memberships', description: `Gets a membership. ${bought}`, inputSchema: id }), 'Financial');
  assert.equal(cat({ name: 'list_memberships', description: 'Lists memberships', inputSchema: obj({ plan_ids: { type: 'array' } }) }), 'Financial');
  // A team's or a channel's membership is no purchase.
  assert.equal(cat({ name: 'list_memberships', description: 'Lists the members of a team', inputSchema: obj({ team_id: { type: 'string' } }) }), 'Read');
  assert.equal(cat({ name: 'get_checkout_settings', description: 'Gets a checkout setting. Fields: plan, price, currency.', inputSchema: id }), 'Financial');
  assert.equal(cat({ name: 'git_checkout', description: 'Switches the working tree to a branch.', inputSchema: obj({ branch: { type: 'string' } }) }), 'Write');
});

test('a budget or a bid on a write commits money to spend', () => {
  const props = { name: { type: 'string' }, daily_budget: { type: 'integer' }, lifetime_budget: { type: 'integer' } };
  assert.equal(cat({ name: 'create_promotion', description: '', inputSchema: obj(props) }), 'Financial');
  assert.equal(cat({ name: 'create_promotion', description: '', inputSchema: obj({ name: { type: 'string' } }) }), 'Write');
});

test('a billable machine made, a model run created or cancelled, work submitted: Execute', () => {
  const body = obj({ body: { type: 'object' } });
  assert.equal(cat({ name: 'make-box', description: 'Make a GPU box. BILLABLE until it is stopped.', inputSchema: body }), 'Execute');
  // A billed volume runs nothing.
  assert.equal(cat({ name: 'make-disk', description: 'Make a storage disk. BILLABLE per GB, mounted by a GPU box.', inputSchema: body }), 'Write');
  const input = obj({ version: { type: 'string' }, input: { type: 'object' } });
  assert.equal(
    cat({ name: 'create_predictions', description: 'Create a prediction for the model version and inputs you provide.', inputSchema: input }),
    'Execute',
  );
  assert.equal(cat({ name: 'create_trainings', description: 'Start a new training of the model version you specify.', inputSchema: input }), 'Execute');
  assert.equal(cat({ name: 'cancel_trainings', description: 'Cancel a training', inputSchema: id }), 'Execute');
  const pins = obj({ endpointId: { type: 'string' }, gpuIds: { type: 'string' }, gpuCount: { type: 'integer' } });
  assert.equal(cat({ name: 'set-endpoint-hardware', description: 'Set which hardware an endpoint uses.', inputSchema: pins }), 'Execute');
  assert.equal(
    cat({
      name: 'set-endpoint-name',
      description: 'Set the name of an endpoint.',
      inputSchema: obj({ endpointId: { type: 'string' }, name: { type: 'string' } }),
    }),
    'Write',
  );
  // Updating a dedicated inference instance starts no run.
  assert.equal(cat({ name: 'inference-instance-update', description: 'Update an inference instance.', inputSchema: id }), 'Write');
  assert.equal(cat({ name: 'send-work', description: 'Submit a synchronous job to an endpoint and wait for the result.', inputSchema: input }), 'Execute');
});

test("a listing's writes that give an object a budget make reading, pausing or deleting it Financial", () => {
  const budget = obj({ name: { type: 'string' }, daily_budget: { type: 'integer' } });
  const listing = [
    { name: 'create_promo_run', description: '', inputSchema: budget },
    { name: 'list_promo_runs', description: '', inputSchema: obj({ limit: { type: 'integer' } }) },
    { name: 'pause_promo_run', description: '', inputSchema: id },
    { name: 'delete_promo_run', description: '', inputSchema: id },
    { name: 'get_promo_run_stats', description: '', inputSchema: id },
  ];
  assert.deepEqual(
    classifyTools(listing).map((c) => c.category),
    ['Financial', 'Financial', 'Financial', 'Financial', 'Read'],
  );
  // Without a budget among its writes, the same listing names no money.
  const plain = listing.map((t, i) => (i === 0 ? { ...t, inputSchema: obj({ name: { type: 'string' } }) } : t));
  assert.deepEqual(
    classifyTools(plain).map((c) => c.category),
    ['Write', 'Read', 'Execute', 'Destructive', 'Read'],
  );
});

test('a generic update whose listed changes may each be a deletion deletes; creating such changes applies nothing', () => {
  const changes = obj({
    project: { type: 'string' },
    changes: { type: 'array', items: obj({ name: { type: 'string' }, value: { type: 'string' }, shouldDelete: { type: 'boolean' } }) },
  });
  assert.equal(cat({ name: 'settings_update', description: 'Update', inputSchema: changes }), 'Destructive');
  assert.equal(cat({ name: 'settings_proposal_create', description: 'Create', inputSchema: changes }), 'Write');
  // A mail rule's `delete` action is what the rule does to mail later, not a deletion now.
  const rule = obj({ name: { type: 'string' }, actions: obj({ delete: { type: 'boolean' } }) });
  assert.equal(cat({ name: 'update_mail_rule', description: 'Update a mail rule.', inputSchema: rule }), 'Write');
});
