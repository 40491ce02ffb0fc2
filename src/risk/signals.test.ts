// Signals of session 9 (issue 23), each on tools written for the test, not taken from a labelled set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, type JsonSchema, type ToolDefinition } from './index.js';

const cat = (t: ToolDefinition): string => classifyTool(t).category;
const tool = (name: string, description = '', inputSchema?: JsonSchema, annotations?: ToolDefinition['annotations']): ToolDefinition => {
  const t: ToolDefinition = { name, description };
  if (inputSchema) t.inputSchema = inputSchema;
  if (annotations) t.annotations = annotations;
  return t;
};
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

test('a transaction whose nested fields carry an amount and a payee is money, read or written', () => {
  const entry = obj({ amount: { type: 'number' }, payee: { type: 'string' }, note: { type: 'string' } });
  const schema = obj({ entries: { type: 'array', items: entry } });
  assert.equal(cat(tool('add_transactions', 'Insert one or more transactions.', schema)), 'Financial');
  assert.equal(cat(tool('edit_transaction', 'Edit an existing transaction.', obj({ id: { type: 'number' }, changes: entry }))), 'Financial');
  // A read of one financial record is Financial too (PolicyLayer's convention), by a payee or a bank link.
  assert.equal(cat(tool('fetch_transaction', 'Get one transaction with its payee and merchant.', obj({ id: { type: 'number' } }))), 'Financial');
  // Without money words, a transaction stays what its verb says, and a database one is never money.
  assert.equal(cat(tool('edit_transaction', 'Edit an existing transaction.', obj({ id: { type: 'number' }, note: { type: 'string' } }))), 'Write');
  assert.notEqual(cat(tool('begin_transaction', 'Begin a SQL database transaction.', obj({ amount: { type: 'number' } }))), 'Financial');
});

test('switching maintenance mode on or off is Execute, reading its schedule is not', () => {
  assert.equal(cat(tool('maint_on', 'Enable maintenance mode for a hosted app and show a holding page.')), 'Execute');
  assert.equal(cat(tool('maint_off', 'Turn off maintenance mode and restore normal traffic.')), 'Execute');
  assert.equal(cat(tool('list_maintenance_windows', 'List the maintenance windows of a database.')), 'Read');
});

test('a write flag that deletes or loses history makes it Destructive; an overwrite of contents does not', () => {
  const push = obj({
    branch: { type: 'string' },
    force: { type: 'boolean', description: 'Force push (overwrites remote history).' },
  });
  assert.equal(cat(tool('repo_push', 'Push local commits to a remote.', push)), 'Destructive');
  const drop = obj({ branch: { type: 'string' }, delete: { type: 'boolean', description: 'Delete the remote branch instead.' } });
  assert.equal(cat(tool('repo_push', 'Push local commits to a remote.', drop)), 'Destructive');
  const plain = obj({ branch: { type: 'string' }, force: { type: 'boolean', description: 'Skip the confirmation prompt.' } });
  assert.equal(cat(tool('repo_push', 'Push local commits to a remote.', plain)), 'Write');
  const copy = obj({ overwrite: { type: 'boolean', description: 'Overwrite existing keys in the target.' } });
  assert.equal(cat(tool('settings_copy', 'Copy settings from one profile to another.', copy)), 'Write');
});

test('discarding local changes is Destructive', () => {
  assert.equal(cat(tool('vcs_switch', 'Switch branches or restore working tree files.')), 'Destructive');
  assert.equal(cat(tool('workspace_revert', 'Update the workspace and discard all uncommitted changes.')), 'Destructive');
  assert.equal(cat(tool('vcs_switch', 'Switch to another branch.')), 'Write');
});

test('cancelling a meeting is Destructive, cancelling a run is Execute', () => {
  assert.equal(cat(tool('cancel_meeting', 'Send a cancellation to all attendees.')), 'Destructive');
  assert.equal(cat(tool('calendar_event_cancel', 'Cancel an event in a calendar.')), 'Destructive');
  const actions = obj({ action: { type: 'string', enum: ['list', 'get', 'cancel'] }, id: { type: 'string' } });
  assert.equal(cat(tool('sandbox_runs', 'List, get details, or cancel runs of a sandbox.', actions)), 'Execute');
});

test('a message handed to a queue or a URL runs its consumer; a chat message is a Write', () => {
  const schema = obj({ destination: { type: 'string' }, body: { type: 'string' } });
  assert.equal(cat(tool('queue_publish', 'Publish a message to a destination URL through the queue service.', schema)), 'Execute');
  assert.equal(cat(tool('enqueue_job', 'Enqueue a job to a queue for the workers.')), 'Execute');
  assert.equal(cat(tool('post_message', 'Send a message to a channel.')), 'Write');
});

test('a hosted database placed in regions is Execute; one without regions is not', () => {
  const regions = obj({ id: { type: 'string' }, read_regions: { type: 'array', items: { type: 'string' } } });
  assert.equal(cat(tool('kv_database_update_regions', 'Update the read regions of a hosted key-value database.', regions)), 'Execute');
  assert.equal(cat(tool('kv_database_rename', 'Rename a hosted key-value database.', obj({ id: { type: 'string' }, name: { type: 'string' } }))), 'Write');
});

test('webhook or change-notification subscriptions are not paid ones', () => {
  assert.equal(cat(tool('get_subscription', 'Get a subscription. Tip: returns one webhook subscription by id.')), 'Read');
  const feed = obj({ body: obj({ notificationUrl: { type: 'string' }, resource: { type: 'string' } }) });
  assert.equal(cat(tool('create_subscription', 'Subscribe a listener to a resource.', feed)), 'Write');
  // A subscription with neither is still a paid plan.
  assert.equal(
    cat(tool('create_subscription', 'Create a subscription for a customer.', obj({ customer: { type: 'string' }, plan: { type: 'string' } }))),
    'Financial',
  );
});
