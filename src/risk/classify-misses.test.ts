// Classifier cases added for the kinds of miss the held-out sets showed (classify.test.ts holds the
// classifier's core rules): one test per kind, with tools written for the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, type JsonSchema, type ToolDefinition } from './index.js';

const cat = (t: ToolDefinition): string => classifyTool(t).category;
const tool = (name: string, description = '', extra: Partial<ToolDefinition> = {}): ToolDefinition => ({ name, description, ...extra });
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

test('applying a manifest, a create that may start what it creates, a transfer to an address, a manual journal', () => {
  // Server-side apply changes what runs, though the name says create or update.
  assert.equal(
    cat(
      tool('resources_create_or_update', 'Create or update a Kubernetes resource via Server-Side Apply.', {
        inputSchema: obj({ resource: { type: 'string' } }),
      }),
    ),
    'Execute',
  );
  assert.equal(
    cat(tool('resources_create_or_update', 'Create or update a Kubernetes resource.', { inputSchema: obj({ resource: { type: 'string' } }) })),
    'Write',
  );
  // A boolean that starts what the call creates rounds the create up to Execute.
  const vm = (autostart: JsonSchema | undefined): string =>
    cat(
      tool('sandbox_create', 'Create a sandbox with the specified configuration.', {
        inputSchema: obj({ name: { type: 'string' }, ...(autostart ? { autostart } : {}) }),
      }),
    );
  assert.equal(vm({ type: 'boolean' }), 'Execute');
  assert.equal(vm(undefined), 'Write');
  assert.equal(vm({ type: 'string' }), 'Write', 'a string named autostart is not a flag');
  // Transferring an asset to an address moves it to another owner.
  const nft = (props: Record<string, JsonSchema>): string => cat(tool('transfer_nft', 'Transfer an NFT to an address.', { inputSchema: obj(props) }));
  assert.equal(nft({ tokenId: { type: 'string' }, toAddress: { type: 'string' } }), 'Financial');
  assert.equal(nft({ tokenId: { type: 'string' }, folder: { type: 'string' } }), 'Write');
  // Manual journals are accounting records, read or written.
  assert.equal(cat(tool('update-manual-journal', 'Update a manual journal. Only works on drafts.')), 'Financial');
  assert.equal(cat(tool('list-manual-journals', 'List all manual journals.')), 'Financial');
  // A browser attached to is a browser driven.
  assert.equal(cat(tool('puppeteer_connect_active_tab', 'Connect to an existing Chrome instance with remote debugging enabled')), 'Execute');
});

test('salaries, revenue and money records named among the kinds a generic document tool takes are Financial; leverage only among trading words', () => {
  assert.equal(cat(tool('erpnext_salary_slip_list', 'List Salary Slips. Filterable by employee.')), 'Financial');
  assert.equal(cat(tool('revenue_trend', 'Sales revenue trend over time as a line chart.')), 'Financial');
  // A work order is manufacturing, not money.
  assert.equal(cat(tool('work_order_list', 'List Work Orders. Filterable by production item.')), 'Read');
  const submit = (description: string): string =>
    cat(tool('doc_submit', description, { inputSchema: obj({ doctype: { type: 'string' }, name: { type: 'string' } }) }));
  assert.equal(submit('Submit any document. Applies to submittable DocTypes like Sales Order, Purchase Order, Sales Invoice.'), 'Financial');
  assert.equal(submit('Submit any document. Applies to submittable DocTypes like Task and Issue.'), 'Write');
  assert.equal(
    cat(tool('set_leverage', 'Set the leverage for a futures symbol', { inputSchema: obj({ symbol: { type: 'string' }, leverage: { type: 'number' } }) })),
    'Financial',
  );
  assert.equal(cat(tool('computer_use_agent', 'This tool leverages a model to autonomously execute browser tasks.')), 'Execute');
});

test('closing a terminal or session stops what runs in it; a noun-verb name rests on its clear verb; flags are writes', () => {
  assert.equal(cat(tool('terminal_close', 'Close terminal session')), 'Execute');
  assert.equal(cat(tool('close_issue', 'Close an issue')), 'Write');
  assert.equal(cat(tool('log_read', 'Read the current session log.')), 'Read');
  assert.equal(cat(tool('log_event', 'Log an event')), 'Write');
  assert.equal(cat(tool('bulk_flag', 'Flag or unflag emails matching filters')), 'Write');
  assert.equal(cat(tool('browser_use_agent', 'Employs a browser automation agent for specific tasks.')), 'Execute');
});

test('powering machines, creating or resizing what runs, recycling nodes, rotating secrets, snapshots of machines, triggers', () => {
  for (const name of [
    'power-off-droplet',
    'power-cycle-droplet',
    'power-on-droplet',
    'shutdown-droplet',
    'resize-droplet',
    'doks-create-nodepool',
    'droplet-create',
  ]) {
    assert.equal(cat(tool(name, '')), 'Execute', name);
  }
  assert.equal(cat(tool('marketplace-1-click-kubernetes-app-install', 'Install 1-click applications on a Kubernetes cluster')), 'Execute');
  assert.equal(cat(tool('marketplace-1-click-list', 'List available 1-click applications')), 'Read');
  assert.equal(cat(tool('doks-recycle-nodes', 'Recycle specific nodes in a node pool')), 'Destructive');
  assert.equal(cat(tool('rotate-webhook-signing-secret', "Replace a webhook's signing secret with a new one")), 'Destructive');
  assert.equal(cat(tool('rotate_image', 'Rotate an image by 90 degrees')), 'Write');
  assert.equal(cat(tool('snapshot-droplet', 'Take a snapshot of a droplet')), 'Write');
  assert.equal(cat(tool('take_snapshot', 'Take a text snapshot of the currently selected page')), 'Read');
  assert.equal(cat(tool('apps-create-app-from-spec', 'Creates an application from a given app spec.')), 'Execute');
  assert.equal(cat(tool('send-event', 'Fire an event to trigger automations for a contact.')), 'Execute');
});

test('connecting to a remote shell opens a session (Execute); configuring a cluster is a Write, creating one starts it; browser steps without a clear verb', () => {
  assert.equal(cat(tool('ssh_connect', 'Open an SSH connection. Returns a connectionId.')), 'Execute');
  assert.equal(cat(tool('ssh_disconnect', 'Disconnect from an SSH server')), 'Execute');
  assert.equal(cat(tool('connect_all', 'Connect to both IMAP and SMTP servers')), 'Write');
  assert.equal(cat(tool('db-cluster-create', 'Create a new database cluster')), 'Execute');
  assert.equal(cat(tool('db-cluster-update-mysql-config', 'Update the MySQL config for a cluster by its id.')), 'Write');
  assert.equal(cat(tool('functions-create-trigger', 'Create a scheduled trigger for a function.')), 'Execute');
  assert.equal(cat(tool('domain-record-get', 'Get a domain record by domain name and record ID')), 'Read');
  assert.equal(cat(tool('browser_go_back', 'Go back to the previous page')), 'Execute');
  assert.equal(cat(tool('browser_switch_tab', 'Switch to a specific tab')), 'Execute');
  assert.equal(cat(tool('browser_screenshot', 'Take a screenshot of the current page')), 'Read');
  // A weak verb deep in the name is a noun when the description has a verb of its own.
  assert.equal(cat(tool('browser_network_request', 'Returns the request and response details of a network request')), 'Read');
});

test('emptying a cache, detaching a tag and trashing are Writes; a download into the reply reads; a log noun after a name reads', () => {
  assert.equal(cat(tool('purge_cdn_cache', 'Purge the cache of a CDN endpoint')), 'Write');
  assert.equal(cat(tool('flush-cache', 'Flush the cache')), 'Write');
  assert.equal(cat(tool('delete_cache', 'Delete the build cache of a project')), 'Write');
  assert.equal(cat(tool('delete_project', 'Delete a project')), 'Destructive');
  assert.equal(cat(tool('remove_tag', 'Remove a tag from an issue')), 'Write');
  assert.equal(cat(tool('remove_user', 'Remove a user from the organization')), 'Destructive');
  assert.equal(cat(tool('trash_file', 'Move a file to the trash')), 'Write');
  const props = (...names: string[]): JsonSchema => ({ type: 'object', properties: Object.fromEntries(names.map((n) => [n, { type: 'string' }])) });
  assert.equal(cat(tool('download_file', 'Download a file from the server', { inputSchema: props('remotePath') })), 'Read');
  assert.equal(cat(tool('download_file', 'Download a file from the server', { inputSchema: props('remotePath', 'localPath') })), 'Write');
  assert.equal(cat(tool('jobs_log', 'Get the logs of a job')), 'Read');
  assert.equal(cat(tool('replicas_scale', 'Get or update the scale of a deployment')), 'Execute');
});

test('a create or update that carries a start command, a container image or a sync policy changes what runs; a signed chain call is Financial', () => {
  const spec = (inner: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties: { spec: { type: 'object', properties: inner } } });
  const withStart = classifyTool(tool('create_web_service', 'Create a web service', { inputSchema: spec({ startCommand: { type: 'string' } }) }));
  assert.equal(withStart.category, 'Execute');
  assert.match(withStart.reasons.join('\n'), /startCommand/);
  assert.equal(cat(tool('update_app', 'Update an app', { inputSchema: spec({ syncPolicy: { type: 'object' } }) })), 'Execute');
  assert.equal(cat(tool('create_job', 'Create a job', { inputSchema: spec({ image: { type: 'string', description: 'container image to run' } }) })), 'Execute');
  // A product picture is not a container image; a build command alone configures a later build.
  assert.equal(cat(tool('create_item', 'Create a catalogue item', { inputSchema: spec({ image: { type: 'string', description: 'picture URL' } }) })), 'Write');
  assert.equal(cat(tool('update_site', 'Update site settings', { inputSchema: spec({ buildCommand: { type: 'string' } }) })), 'Write');
  assert.equal(cat(tool('write_storage', 'Write a value by calling a state-changing function of a smart contract')), 'Financial');
  assert.equal(cat(tool('expose_service_port', 'Expose a port of a service on a public URL')), 'Execute');
});

test('pipelines, schedules, waits, threads, held deployments, credits and title lines of generated servers', () => {
  assert.equal(cat(tool('create_pipeline', 'Create a new pipeline for a branch')), 'Execute');
  assert.equal(cat(tool('create_pipeline_variable', 'Create a variable for a pipeline')), 'Write');
  assert.equal(cat(tool('update_pipeline_schedule', "Update a pipeline schedule's cron")), 'Execute');
  assert.equal(cat(tool('cancel_build', 'Cancel a running build')), 'Execute');
  assert.equal(cat(tool('pause_cluster', 'Pause a database cluster')), 'Execute');
  assert.equal(cat(tool('wait_for_job', 'Wait for a job to finish')), 'Read');
  assert.equal(cat(tool('resolve_thread', 'Resolve a review thread')), 'Write');
  assert.equal(cat(tool('approve_deployment', 'Approve a deployment waiting on a protected environment')), 'Execute');
  assert.equal(cat(tool('credit_account', 'Credit an account')), 'Financial');
  assert.equal(cat(tool('freeze_account', 'Freeze an account to prevent new transactions')), 'Financial');
  assert.equal(cat(tool('list_commissions', 'List affiliate commissions')), 'Financial');
  // A title line, then the sentence that says what the records are.
  assert.equal(cat(tool('stats_summary_get', 'Get store summary\n\nRetrieve store metrics including revenue and MRR.')), 'Financial');
  // A read that may save its result to a directory writes a file; a hedge weighs less than a statement.
  const out: JsonSchema = { type: 'object', properties: { params: { type: 'object', properties: { outputDir: { type: 'string' } } } } };
  assert.equal(cat(tool('get_logs', 'Get the logs of a build', { inputSchema: out })), 'Write');
  assert.equal(cat(tool('delete_reaction', 'Remove an emoji reaction from an issue. The operation may be irreversible.')), 'Write');
  assert.equal(cat(tool('delete_issue', 'Delete an issue. This cannot be undone.')), 'Destructive');
  // "start_line/line_count" names arguments, not actions; "trigger jobs" after "List" is a noun.
  assert.equal(cat(tool('get_file', 'Read a file, windowed by start_line/line_count.')), 'Read');
  assert.equal(cat(tool('list_bridge_jobs', 'List trigger jobs (bridges) in a pipeline. It is read-only.')), 'Read');
});

test('a hedged "may be irreversible" is weighed the same on every call (no regex state between calls)', () => {
  const hedged = tool('remove_note', 'Remove a note. The operation may be irreversible.');
  const first = classifyTool(hedged);
  for (let i = 0; i < 3; i++) assert.deepEqual(classifyTool(hedged), first);
  assert.match(first.reasons.join('\n'), /may be irreversible/);
});

test('market data reads are Read, and "trading" or "traded" in prose is not the noun "trade"', () => {
  assert.equal(cat(tool('fetch_quote_book', 'Fetch the order book for a trading pair on the exchange')), 'Read');
  assert.equal(cat(tool('get_candles', 'Get OHLCV candles for a trading pair')), 'Read');
  assert.equal(cat(tool('list_watch_rules', 'List the trading alerts configured for a portfolio')), 'Read');
  // Orders of the account stay Financial beside market words; placing one is Financial.
  assert.equal(cat(tool('get_open_orders', 'Get open orders for a trading pair')), 'Financial');
  assert.equal(
    cat(
      tool('submit_order', 'Submit a limit order', {
        inputSchema: { type: 'object', properties: { side: { enum: ['buy', 'sell'] }, quantity: { type: 'number' } } },
      }),
    ),
    'Financial',
  );
});

test('a preview or an estimate records nothing: Read, though it names money', () => {
  assert.equal(cat(tool('preview_invoice_update', 'Preview the effect of a change to an invoice without applying it')), 'Read');
  assert.equal(cat(tool('estimate_fee', 'Estimate the network fee for a payment')), 'Read');
  assert.equal(cat(tool('get_refund_quote', 'Compute a refund without creating it')), 'Read');
  // A create that merely mentions previews is still the act.
  assert.equal(cat(tool('create_refund', 'Create a refund; call preview_refund first to see the amount')), 'Financial');
});

test('HTTP methods of a stored request are not the tool’s acts; a strategy enum is', () => {
  const method = { type: 'object', properties: { method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'DELETE'] }, url: { type: 'string' } } };
  assert.equal(cat(tool('save_request', 'Save a request into a folder', { inputSchema: method })), 'Write');
  const strategy = { type: 'object', properties: { strategy: { type: 'string', enum: ['keepBranch', 'deleteBranch'] } } };
  assert.equal(cat(tool('merge_branch_back', 'Merge a branch into its parent', { inputSchema: strategy })), 'Destructive');
});

test('a transfer is Financial only when it moves an asset: an amount, an address, tokens', () => {
  const toTeam = { type: 'object', properties: { board: { type: 'string' }, destination: { type: 'string' } } };
  assert.equal(cat(tool('transfer_board', 'Transfer a board to another team', { inputSchema: toTeam })), 'Write');
  const toAddress = { type: 'object', properties: { to: { type: 'string' }, tokenId: { type: 'string' } } };
  assert.equal(cat(tool('transfer_collectible', 'Transfer an NFT to an address', { inputSchema: toAddress })), 'Financial');
});

test('removing something from another thing the tool names detaches it (Write); from a service, or people, it deletes', () => {
  assert.equal(cat(tool('group_remove_hosts', 'Remove hosts from a group')), 'Write');
  assert.equal(cat(tool('remove_card_from_board', 'Take a card off a board')), 'Write');
  assert.equal(cat(tool('remove_widget', 'Remove a widget from the Acme service')), 'Destructive');
  assert.equal(cat(tool('group_remove_members', 'Remove members from a group')), 'Destructive');
  // Taking something out of what runs is not a plain Write.
  assert.notEqual(cat(tool('container_remove_volume', 'Remove a volume from a container')), 'Write');
});

test('a create acts on its own object: a topic of a cluster is a Write, a cluster is started', () => {
  assert.equal(cat(tool('cluster_create_topic', 'Create a topic for a cluster')), 'Write');
  assert.equal(cat(tool('create_note', 'Create a note on a deployment')), 'Write');
  assert.equal(cat(tool('create_cluster', 'Create a cluster')), 'Execute');
  assert.equal(cat(tool('db_instance_create', 'Create a database instance')), 'Execute');
  assert.equal(cat(tool('new_instance', 'Start a new managed instance')), 'Execute');
});

test('a create whose description starts a job runs it; a replay of a notification sends it again', () => {
  assert.equal(cat(tool('create_export', 'Starts an export job for the chosen dataset')), 'Execute');
  assert.equal(cat(tool('create_claim', 'Start a claim for a handle someone else holds')), 'Write');
  assert.equal(cat(tool('replay_delivery', 'Replay a webhook event to its endpoint')), 'Write');
  assert.equal(cat(tool('replay_job', 'Replay a failed job')), 'Execute');
});

test('a later clause that deletes what the call acts on, and reports of sales or costs', () => {
  assert.equal(cat(tool('cancel_post', 'Cancel a queued post. Takes it off the schedule and deletes the stored draft.')), 'Destructive');
  assert.equal(cat(tool('cancel_post', 'Cancel a queued post. It can be queued again later.')), 'Write');
  assert.equal(cat(tool('get_sales_report', 'Get the sales report for a month')), 'Financial');
  assert.equal(cat(tool('get_cost_breakdown', 'Get cost breakdown per project')), 'Financial');
  assert.equal(cat(tool('get_test_report', 'Get the report of a test run')), 'Read');
});

test('triggering a sync, a scan or a backup starts a job (Execute); listing trigger jobs reads', () => {
  assert.equal(cat(tool('sync_index', 'Trigger an index sync for one collection')), 'Execute');
  assert.equal(cat(tool('backup_now', 'Triggers a database backup')), 'Execute');
  assert.equal(cat(tool('list_trigger_jobs', 'List trigger jobs in a pipeline')), 'Read');
});

test('training and orchestrating run work; a bracketed group label is no verb; a deploy order is no purchase', () => {
  assert.equal(cat(tool('model_train', 'Train a classifier on the uploaded dataset')), 'Execute');
  assert.equal(cat(tool('jobs_orchestrate', 'Orchestrate a task across the worker pool')), 'Execute');
  // "[Build Management]" opens every description of such a server; the sentence after it says what runs.
  assert.equal(cat(tool('create_build_run', '[Build Management] Run a build of the project.')), 'Execute');
  assert.equal(cat(tool('stop_deploy_order', 'Stop a deploy order of the release')), 'Execute');
  assert.equal(cat(tool('get_deploy_order', 'Get a deploy order with its machines')), 'Read');
  assert.equal(cat(tool('cancel_order', 'Cancel a customer order before it ships')), 'Financial');
});

test("deciding a pipeline's manual gate runs or stops the run; upgrading a plan pays", () => {
  assert.equal(cat(tool('approve_stage', 'Approve a held stage of a pipeline run')), 'Execute');
  assert.equal(cat(tool('reject_checkpoint', 'Reject the manual checkpoint of a pipeline')), 'Execute');
  assert.equal(cat(tool('approve_pull_request', 'Approve a pull request')), 'Write');
  assert.equal(cat(tool('account_upgrade', 'Upgrade the account to a higher tier')), 'Financial');
  assert.equal(cat(tool('upgrade_cluster', 'Upgrade a cluster to the next Kubernetes version')), 'Execute');
});

test('a start-up script, or a statement said to be SQL, is code the create runs', () => {
  assert.equal(
    cat(
      tool('vm_create', 'Create a virtual machine', {
        inputSchema: obj({ name: { type: 'string' }, startup_script: { type: 'string', description: 'Runs at boot' } }),
      }),
    ),
    'Execute',
  );
  assert.equal(
    cat(tool('create_statement', 'Create a statement.', { inputSchema: obj({ statement: { type: 'string', description: 'The SQL text of the statement' } }) })),
    'Execute',
  );
  // A statement of account is no code.
  assert.equal(
    cat(tool('create_note', 'Create a note.', { inputSchema: obj({ statement: { type: 'string', description: 'What the customer said' } }) })),
    'Write',
  );
});

test("a tool's operations listed at the end of its sentence count; a pair or a file name does not", () => {
  assert.equal(cat(tool('recipe', 'Recipe ops: list/get/create/update/delete.')), 'Destructive');
  assert.equal(cat(tool('job', 'Job ops: list/get/log/build/abort. get is the default.')), 'Execute');
  assert.equal(cat(tool('create_event', 'Create an event with its start/end.')), 'Write');
  assert.equal(cat(tool('read_doc', 'Read docs/skill.md.')), 'Read');
});
