import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, classifyTools, tokenizeName, type JsonSchema, type ToolDefinition } from './index.js';

const cat = (t: ToolDefinition): string => classifyTool(t).category;
const tool = (name: string, description = '', extra: Partial<ToolDefinition> = {}): ToolDefinition => ({ name, description, ...extra });

test('tokenizeName splits every naming style', () => {
  assert.deepEqual(tokenizeName('asana_get_task'), ['asana', 'get', 'task']);
  assert.deepEqual(tokenizeName('getJiraIssue'), ['get', 'jira', 'issue']);
  assert.deepEqual(tokenizeName('Get-Event-Details'), ['get', 'event', 'details']);
  assert.deepEqual(tokenizeName('mcp__github__create_issue'), ['mcp', 'github', 'create', 'issue']);
  assert.deepEqual(tokenizeName('CreateJSONReport'), ['create', 'json', 'report']);
  assert.deepEqual(tokenizeName('d1_database.query'), ['d1', 'database', 'query']);
});

test('the verb decides in every naming style and with a server prefix', () => {
  for (const name of ['asana_get_task', 'getJiraIssue', 'Get-Event-Details', 'mcp__github__get_issue', 'ListProjects', 'kv_namespaces_list']) {
    assert.equal(cat(tool(name)), 'Read', name);
  }
  for (const name of ['asana_create_task', 'createJiraIssue', 'Update-Event', 'mcp__github__create_issue', 'envSet', 'issue_write']) {
    assert.equal(cat(tool(name)), 'Write', name);
  }
  for (const name of ['delete_file', 'deleteConfluencePage', 'Remove-Item', 'mcp__docker__remove_container', 'kv_namespace_delete', 'envRemove']) {
    assert.equal(cat(tool(name)), 'Destructive', name);
  }
  for (const name of ['execute_sql', 'runScript', 'Invoke-Command', 'actions_run_trigger', 'evaluate_script']) {
    assert.equal(cat(tool(name)), 'Execute', name);
  }
});

test('money nouns make a tool Financial, whatever the verb; reads of them are Medium risk', () => {
  const refund = classifyTool(tool('create_refund', 'Create a refund'));
  assert.equal(refund.category, 'Financial');
  assert.equal(refund.risk, 'Critical');
  const list = classifyTool(tool('list_invoices', 'List invoices'));
  assert.equal(list.category, 'Financial');
  assert.equal(list.risk, 'Medium');
  assert.equal(cat(tool('cancelSubscription')), 'Financial');
  assert.equal(cat(tool('list_payment_intents')), 'Financial');
  // Not money: a notification subscription, a repository transfer, a price catalogue read.
  assert.equal(cat(tool('manage_notification_subscription', 'Manage notification subscription')), 'Write');
  assert.equal(cat(tool('transfer_repository', 'Transfer a repository to another owner')), 'Write');
  assert.equal(cat(tool('transfer_funds', 'Transfer funds between accounts')), 'Financial');
  assert.equal(cat(tool('retrieve_balance', 'Retrieve balance')), 'Read');
});

test('an amount and a currency argument make a tool Financial', () => {
  const t = tool('send', 'Send it', {
    inputSchema: { type: 'object', properties: { amount: { type: 'integer' }, currency: { type: 'string' }, to: { type: 'string' } } },
  });
  const c = classifyTool(t);
  assert.equal(c.category, 'Financial');
  assert.equal(c.risk, 'Critical');
  assert.match(c.reasons.join(' | '), /amount.*currency/);
});

test('the description decides when the name has no verb', () => {
  assert.equal(cat(tool('tables', 'List all tables with their schemas')), 'Read');
  assert.equal(cat(tool('cognify', 'Transform ingested data into a knowledge graph')), 'Execute');
  assert.equal(cat(tool('prune', 'Clear all stored data and reset the graph')), 'Destructive');
  assert.equal(cat(tool('keyvault', 'List and create keys and secrets')), 'Write', 'coordinated verbs: the more severe wins');
  assert.equal(cat(tool('pricing', 'Get retail pricing and billing details')), 'Financial');
});

test('code, commands and queries: Execute, unless a query tool says it only reads', () => {
  const shell = classifyTool(tool('shell', 'Run a shell command', { inputSchema: { type: 'object', properties: { command: { type: 'string' } } } }));
  assert.equal(shell.category, 'Execute');
  assert.equal(shell.risk, 'Critical');
  assert.equal(
    cat(tool('python', '', { inputSchema: { type: 'object', properties: { code: { type: 'string', description: 'Python code to execute' } } } })),
    'Execute',
  );
  const ro = classifyTool(tool('runOneoffQuery', 'Execute sandboxed read-only JS queries'));
  assert.equal(ro.category, 'Read');
  assert.equal(ro.risk, 'Medium');
  assert.equal(cat(tool('read-cypher', 'Execute arbitrary Cypher queries in read mode')), 'Read');
  assert.equal(cat(tool('write-cypher', 'Execute Cypher with write capabilities')), 'Write');
  assert.equal(cat(tool('query_prometheus', 'Execute PromQL against Prometheus')), 'Read');
  assert.equal(cat(tool('apply_migration', 'Applies a SQL migration to the database')), 'Execute');
  // A "code" argument that is not code: a verification code.
  assert.equal(cat(tool('verify_otp', 'Verify a one-time code', { inputSchema: { type: 'object', properties: { code: { type: 'string' } } } })), 'Read');
});

test('browser control is Execute; page interaction is Write; screenshots are Read', () => {
  assert.equal(cat(tool('navigate_page', 'Load a URL')), 'Execute');
  assert.equal(cat(tool('new_page', 'Open a new page')), 'Execute');
  assert.equal(cat(tool('click', 'Click on elements')), 'Write');
  assert.equal(cat(tool('fill_form', 'Complete entire forms')), 'Write');
  assert.equal(cat(tool('take_screenshot', 'Capture page visuals')), 'Read');
});

test('weak verbs count only first: plural nouns and nouns after the verb do not', () => {
  assert.equal(cat(tool('logs', 'Retrieve recent log entries')), 'Read');
  assert.equal(cat(tool('get_commit', 'Get commit details')), 'Read');
  assert.equal(cat(tool('list_label')), 'Read');
  assert.equal(cat(tool('log_event', 'Log an event')), 'Write');
  assert.equal(cat(tool('pull_request_read', 'Get details for a pull request')), 'Read');
  assert.equal(cat(tool('slack_post_message')), 'Write');
});

test('annotations are claims: they may raise the risk, never lower it', () => {
  const liar = classifyTool(tool('delete_all_records', 'Deletes every record', { annotations: { readOnlyHint: true } }));
  assert.equal(liar.category, 'Destructive');
  assert.equal(liar.risk, 'Critical');
  assert.ok(
    liar.reasons.some((r) => /readOnlyHint/.test(r)),
    'the conflict is reported',
  );
  // readOnlyHint: true alone does not make an unknown tool a Low-risk Read.
  const claim = classifyTool(tool('frobnicate', 'Frobnicates the widget', { annotations: { readOnlyHint: true } }));
  assert.equal(claim.category, 'Other');
  assert.equal(claim.risk, 'Medium');
  // Nor does it pull a tool whose description runs commands down to Read.
  assert.equal(cat(tool('shell_exec', 'Execute a shell command', { annotations: { readOnlyHint: true } })), 'Execute');
  assert.equal(cat(tool('frobnicate', 'Frobnicates the widget', { annotations: { readOnlyHint: false, destructiveHint: true } })), 'Destructive');
  assert.equal(cat(tool('frobnicate', 'Frobnicates the widget', { annotations: { readOnlyHint: false, destructiveHint: false } })), 'Write');
  // destructiveHint: false does not lower a destructive description.
  assert.equal(cat(tool('frobnicate', 'Wipes the widget', { annotations: { readOnlyHint: false, destructiveHint: false } })), 'Destructive');
  // Spec defaults: readOnlyHint false and no destructiveHint means "may be destructive".
  assert.equal(cat(tool('frobnicate', 'Frobnicates the widget', { annotations: { readOnlyHint: false } })), 'Destructive');
  const update = classifyTool(tool('update_file', 'Replace file contents', { annotations: { readOnlyHint: false, destructiveHint: true } }));
  assert.equal(update.category, 'Write');
  assert.equal(update.risk, 'High');
  // A server that says its read destroys: not a Read any more.
  const odd = classifyTool(tool('get_state', 'Get the state', { annotations: { destructiveHint: true } }));
  assert.equal(odd.category, 'Write');
  assert.equal(odd.risk, 'High');
});

test('the kinds of high-risk tool that used to pass as Write', () => {
  const S = (props: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties: props });
  // Money that moves: trades, refunds and credit notes, bank transactions.
  const order = classifyTool(
    tool('create_order', 'Create a new order', {
      inputSchema: S({ symbol: { type: 'string' }, side: { type: 'string', enum: ['buy', 'sell'] }, quantity: { type: 'number' } }),
    }),
  );
  assert.equal(order.category, 'Financial');
  assert.equal(order.risk, 'Critical');
  assert.match(order.reasons.join(' | '), /"side" and "quantity": places a trade/);
  assert.equal(cat(tool('new_adjustment', 'Create an adjustment to refund or credit part of a transaction.')), 'Financial');
  assert.equal(cat(tool('make_credit_note', 'Creates a credit note')), 'Financial');
  assert.equal(cat(tool('record_bank_transaction', 'Record a bank transaction')), 'Financial');
  assert.equal(cat(tool('cancel_order', 'Cancel an open order on the exchange')), 'Financial');
  // Not money: a sort order, a database transaction.
  assert.notEqual(cat(tool('set_sort_order', 'Set the sort order of a list')), 'Financial');
  assert.notEqual(cat(tool('commit_transaction', 'Commit the current database transaction')), 'Financial');
  // Irreversible acts.
  const close = classifyTool(tool('close_account', 'Permanently close an account. This action cannot be undone.'));
  assert.equal(close.category, 'Destructive');
  assert.match(close.reasons.join(' | '), /cannot be undone/);
  assert.equal(cat(tool('recreate_vm', 'Recreate a virtual machine from scratch')), 'Destructive');
  assert.equal(cat(tool('restore_snapshot', 'Restore a snapshot of the disk')), 'Destructive');
  assert.equal(cat(tool('server_restore', 'Restore a backup onto the server')), 'Destructive');
  // Execution: infrastructure that changes what runs.
  for (const [name, description] of [
    ['k8s_apply', 'Apply a manifest to the cluster'],
    ['scale_deployment', 'Scale a deployment'],
    ['rollout_restart', 'Restart the rollout of a deployment'],
    ['helm_install', 'Install a chart'],
    ['helm_upgrade', 'Upgrade a release'],
    ['drain_node', 'Drain a node before maintenance'],
    ['ps_scale', 'Scale the dynos of an app'],
    ['sync_application', 'Sync an application with its git source'],
    ['compose_up', 'Deploy a compose project'],
    ['install_package', 'Install software on a VM'],
  ] as const) {
    assert.equal(cat(tool(name, description)), 'Execute', name);
  }
});

test('a tool of many actions is as risky as its most severe action', () => {
  const manage = classifyTool(tool('widgets', 'Manage widgets: list/get/create/update/delete'));
  assert.equal(manage.category, 'Destructive');
  assert.match(manage.reasons[0]!, /action "delete"/);
  const byEnum = tool('volumes', 'Manage volumes', {
    inputSchema: { type: 'object', properties: { action: { type: 'string', enum: ['list', 'get', 'create', 'remove'] } } },
  });
  assert.equal(cat(byEnum), 'Destructive');
  assert.equal(cat(tool('teams', 'Teams: list/get/get_members')), 'Read', 'only reads among the actions');
  assert.equal(cat(tool('get_docs', 'Fetch the docs (/api/agents/register, see docs/build.md)')), 'Read', 'a URL path is not a list of actions');
  // A command argument is run, whatever the verb of the name.
  assert.equal(
    cat(tool('read_command', 'Read the output of a command', { inputSchema: { type: 'object', properties: { command: { type: 'string' } } } })),
    'Execute',
  );
});

test('accounting records are Financial, to read as to write', () => {
  assert.equal(cat(tool('get_ledger', 'Fetch the general ledger')), 'Financial');
  assert.equal(cat(tool('create_receipt', 'Create a sales receipt for a customer')), 'Financial');
  assert.equal(cat(tool('report_pl', 'Get a Profit and Loss report')), 'Financial');
  assert.equal(cat(tool('move_funds', 'Move money between two accounts')), 'Financial');
  assert.equal(cat(tool('get_order', 'Get an order')), 'Financial');
});

test('when unsure, round up; confidence says how sure', () => {
  const sure = classifyTool(tool('get_task', 'Get a task'));
  assert.equal(sure.confidence, 1);
  // A write verb in the name against "cannot be undone" in the description: Destructive, and
  // the rounding is said.
  const close = classifyTool(tool('close_account', 'Close the account. This cannot be undone.'));
  assert.equal(close.category, 'Destructive');
  assert.ok(
    close.reasons.some((r) => /^rounded up from Write/.test(r)),
    close.reasons.join(' | '),
  );
  assert.ok(close.confidence < 0.5, `confidence ${close.confidence}`);
  assert.equal(classifyTool(tool('frobnicate')).confidence, 0);
  // A force or confirm flag raises the level: the server itself guards the act.
  const forced = classifyTool(tool('update_widget', 'Update a widget', { inputSchema: { type: 'object', properties: { force: { type: 'boolean' } } } }));
  assert.equal(forced.category, 'Write');
  assert.equal(forced.risk, 'High');
  assert.match(forced.reasons.join(' | '), /argument "force"/);
});

test('nothing known: Other, Medium, and no hints is not read-only', () => {
  const c = classifyTool(tool('frobnicate', 'Frobnicates the widget'));
  assert.equal(c.category, 'Other');
  assert.equal(c.risk, 'Medium');
  assert.ok(c.reasons.some((r) => /MCP defaults/.test(r)));
  assert.equal(classifyTool({ name: 'x' }).category, 'Other');
});

test("the README's seed examples", () => {
  assert.deepEqual(
    ['get_dicom_export_job', 'start_dicom_import_job'].map((name) => {
      const c = classifyTool(tool(name));
      return [c.category, c.risk];
    }),
    [
      ['Read', 'Low'],
      ['Execute', 'High'],
    ],
  );
});

test('orders, batches and self-declared destruction', () => {
  assert.equal(cat(tool('get_order', 'Get a specific order by ID')), 'Financial', '"by ID" is not a sort order');
  assert.notEqual(cat(tool('set_order', 'Set the sort order of the list')), 'Financial');
  const batch = tool('products_batch', 'Batch update products', {
    inputSchema: { type: 'object', properties: { create: { type: 'array' }, update: { type: 'array' }, delete: { type: 'array' } } },
  });
  assert.equal(cat(batch), 'Destructive');
  assert.equal(cat(tool('db_import', 'Imports a dump into the database and is destructive to existing data')), 'Destructive');
  assert.equal(cat(tool('get_email', 'Get an email (non-destructive peek)')), 'Read');
  assert.equal(cat(tool('deployments', 'Manage deployments: get/cancel/list')), 'Execute', 'cancelling a deployment stops what runs');
  assert.equal(cat(tool('service_new', 'Create a new service from a Docker image')), 'Execute', 'it builds and runs');
  for (const [name, description] of [
    ['create_deployment', 'Create a deployment'],
    ['pause_deployment', 'Pause deployment traffic'],
    ['add_cron_job', 'Add a cron job'],
    ['promote_release', 'Promote to production'],
    ['sync_git', 'Sync the git repository'],
  ] as const) {
    assert.equal(cat(tool(name, description)), 'Execute', name);
  }
  assert.equal(cat(tool('set_spending_limit', 'Set the monthly spending limit')), 'Financial');
  assert.equal(cat(tool('port_forward', 'Forward a local port to a pod')), 'Execute');
  assert.equal(cat(tool('pty_create', 'Create a PTY session')), 'Execute');
  assert.equal(
    cat(
      tool('volumes', 'Manage volumes', {
        inputSchema: { type: 'object', properties: { action: { type: 'string', description: "e.g., 'create', 'list', 'remove'" } } },
      }),
    ),
    'Destructive',
  );
  assert.equal(cat(tool('domain_register', 'Register a new domain. Requires USDC payment on Base.')), 'Financial');
  assert.equal(cat(tool('claim_fees', 'Claim accrued fees')), 'Financial');
  assert.equal(cat(tool('ssh_tunnel_create', 'Create a tunnel to the host')), 'Execute');
  assert.equal(
    cat(tool('test_middleware', 'Test the middleware locally', { inputSchema: { type: 'object', properties: { code: { type: 'string' } } } })),
    'Execute',
  );
  assert.equal(cat(tool('query_account_transactions', 'Query all transactions affecting an account')), 'Financial');
  // A read-only remark deep in the description does not make an execute tool a Read.
  assert.equal(cat(tool('execute', 'Run a data-modifying SQL statement. Disabled: the server is read-only.')), 'Execute');
  assert.equal(
    cat(tool('keys', 'Manage keys', { inputSchema: { type: 'object', properties: { action: { type: 'string', enum: ['list', 'accept', 'remove'] } } } })),
    'Destructive',
  );
});

test('risk levels follow the category and its modifiers', () => {
  assert.equal(classifyTool(tool('get_task')).risk, 'Low');
  assert.equal(classifyTool(tool('get_secret', 'Get a secret value')).risk, 'Medium');
  assert.equal(classifyTool(tool('create_task')).risk, 'Medium');
  assert.equal(classifyTool(tool('send_email', 'Send an email')).risk, 'High');
  assert.equal(classifyTool(tool('add_collaborator')).risk, 'High');
  assert.equal(classifyTool(tool('delete_file')).risk, 'High');
  assert.equal(classifyTool(tool('drop_database')).risk, 'Critical');
  assert.equal(classifyTool(tool('wait_for', 'Wait for text to appear')).risk, 'Medium');
});

test('deterministic and pure: the same input gives the same output, input untouched', () => {
  const tools = [tool('create_charge', 'Charge', { annotations: { readOnlyHint: false } }), tool('list_users')];
  const before = JSON.stringify(tools);
  assert.deepEqual(classifyTools(tools), classifyTools(tools));
  assert.equal(JSON.stringify(tools), before);
  for (const c of classifyTools(tools)) assert.ok(c.reasons.length > 0);
});

test('hostile definitions do not throw and stay deterministic', () => {
  const weird: ToolDefinition[] = [
    {
      name: 'x',
      inputSchema: {
        type: 'object',
        properties: { action: { type: 'string', enum: [null, 5, { a: 1 }, 'delete'] as unknown[] }, side: null as unknown as JsonSchema },
      },
    },
    { name: 'y', description: 'list/'.repeat(20_000) + 'delete', inputSchema: { properties: 'nope' as unknown as Record<string, JsonSchema> } },
    { name: '__proto__', description: 'constructor toString', annotations: { destructiveHint: 'yes' as unknown as boolean } },
  ];
  for (const t of weird) {
    const a = classifyTool(t);
    assert.deepEqual(classifyTool(t), a);
    assert.ok(a.confidence >= 0 && a.confidence <= 1);
  }
  assert.equal(cat(weird[0]!), 'Destructive', 'the string "delete" among junk values still counts');
});
