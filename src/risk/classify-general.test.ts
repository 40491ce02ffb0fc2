// Classifier cases for evidence beyond the verb of the name, found by probing kinds of server the
// development sets do not hold (cloud machines, serverless code, trading, chat): one test per
// rule, with tools written for the test and a contrast case that the rule must leave alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, type JsonSchema, type ToolDefinition } from './index.js';

const cat = (t: ToolDefinition): string => classifyTool(t).category;
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });
const tool = (name: string, description: string, properties: Record<string, JsonSchema> = {}): ToolDefinition => ({
  name,
  description,
  inputSchema: obj(properties),
});
const str: JsonSchema = { type: 'string' };
const num: JsonSchema = { type: 'number' };

test('pausing, suspending or resuming something that runs stops or starts it (Execute)', () => {
  assert.equal(cat(tool('pause_workflow_schedule', 'Pause a schedule so that nothing new is started.', { id: str })), 'Execute');
  assert.equal(cat(tool('suspend_machine', 'Suspend a running machine.', { id: str })), 'Execute');
  assert.equal(cat(tool('resume_queue', 'Resume processing of a queue.', { queue: str })), 'Execute');
  // A paid plan paused is still money.
  assert.equal(cat(tool('pause_subscription', 'Pause billing of a subscription.', { id: str })), 'Financial');
});

test('a machine given a size or a type is provisioned or resized (Execute)', () => {
  assert.equal(cat(tool('create_server', 'Create a server in a location.', { name: str, server_type: str, location: str })), 'Execute');
  assert.equal(cat(tool('update_instance', 'Change the hardware of an instance.', { id: str, instanceType: str })), 'Execute');
  // A server renamed, or a chat "server" made, has no size: a Write.
  assert.equal(cat(tool('update_server', 'Rename a server.', { id: str, name: str })), 'Write');
  assert.equal(cat(tool('create_server', 'Create a community server with a name and an icon.', { name: str, icon: str })), 'Write');
});

test("replacing a function's or a worker's code changes what runs (Execute)", () => {
  assert.equal(cat(tool('update_function_code', 'Replace the code of a function.', { name: str, zip: str })), 'Execute');
  assert.equal(cat(tool('update_worker', 'Update a worker.', { name: str, script: str })), 'Execute');
  assert.equal(cat(tool('update_function_description', 'Change the description of a function.', { name: str, description: str })), 'Write');
});

test('a flag that purges, on a call that stops something, makes it Destructive', () => {
  const purge = { type: 'boolean', description: 'Also purge the job, deleting its history.' } as JsonSchema;
  const grace = { type: 'boolean', description: 'Skip the graceful shutdown.' } as JsonSchema;
  assert.equal(cat(tool('stop_job', 'Stop a running job.', { id: str, purge })), 'Destructive');
  assert.equal(cat(tool('stop_job', 'Stop a running job.', { id: str, force: grace })), 'Execute');
});

test('a change that says it restarts or redeploys what runs is Execute', () => {
  assert.equal(
    cat(tool('set_config_vars', 'Set config vars of an app; this restarts all of its processes.', { app: str, vars: { type: 'object' } })),
    'Execute',
  );
  assert.equal(cat(tool('set_config_vars', 'Set config vars of an app.', { app: str, vars: { type: 'object' } })), 'Write');
});

test('a paid plan, or a charge to the account, is Financial', () => {
  assert.equal(cat(tool('change_workspace_plan', 'Move the workspace to a paid plan.', { plan: str })), 'Financial');
  assert.equal(cat(tool('register_domain', 'Register a domain; the fee will be charged to the account on file.', { domain: str })), 'Financial');
  assert.equal(cat(tool('change_workspace_name', 'Rename the workspace.', { name: str })), 'Write');
});

test('money sent to an address, a closed position, a token swap, staking and selling are Financial', () => {
  assert.equal(cat(tool('send_usdc', 'Send USDC to a wallet.', { recipient: str, amount: str })), 'Financial');
  assert.equal(cat(tool('send_email', 'Send an email to an address.', { to: str, subject: str })), 'Write');
  assert.equal(cat(tool('close_position', 'Close the open position in a symbol at market.', { symbol: str })), 'Financial');
  assert.equal(cat(tool('close_issue', 'Close an issue.', { id: str })), 'Write');
  assert.equal(cat(tool('swap', 'Swap one token for another at the best route.', { from: str, to: str, amountIn: str })), 'Financial');
  assert.equal(cat(tool('swap_panels', 'Swap two panels of a dashboard.', { a: str, b: str })), 'Write');
  assert.equal(cat(tool('stake_sol', 'Stake SOL with a validator.', { validator: str, amount: num })), 'Financial');
  assert.equal(cat(tool('sell_shares', 'Sell shares of a stock at market.', { symbol: str, qty: num })), 'Financial');
  assert.equal(cat(tool('issue_gift_card', 'Issue a gift card.', { initialValue: num })), 'Financial');
});

test('a price, a product or a discount with an amount and a currency is a catalogue Write', () => {
  const money = { amount: num, currency: str };
  assert.equal(cat(tool('add_price', 'Add a price to a plan.', money)), 'Write');
  assert.equal(cat(tool('edit_coupon', 'Edit a coupon.', money)), 'Write');
  assert.equal(cat(tool('add_charge', 'Add a charge to a customer.', money)), 'Financial');
});

test('removing a person from a group named in the description takes their access away', () => {
  assert.equal(cat(tool('kick_from_room', 'Remove a user from a room.', { room: str, user: str })), 'Destructive');
  assert.equal(cat(tool('remove_label_from_card', 'Remove a label from a card.', { card: str, label: str })), 'Write');
});

test('a deletion said in the passive, or history rewritten, is Destructive', () => {
  assert.equal(cat(tool('merge_records', 'Merge two records; the duplicate record is deleted.', { keep: str, drop: str })), 'Destructive');
  assert.equal(cat(tool('merge_records', 'Merge two records into one.', { keep: str, drop: str })), 'Write');
  assert.equal(cat(tool('list_records', 'List records; the deleted ones are hidden.', {})), 'Read');
  assert.equal(cat(tool('push_branch', 'Push a branch, rewriting the remote history.', { branch: str })), 'Destructive');
  assert.equal(cat(tool('push_branch', 'Push a branch to the remote.', { branch: str })), 'Write');
});

test('pulling an image fetches it (Write): it runs nothing', () => {
  assert.equal(cat(tool('pull_image', 'Pull a container image from a registry.', { image: str })), 'Write');
  assert.equal(cat(tool('update_service', 'Update a service to a new container image.', { service: str, image: str })), 'Execute');
});

test('terminating or aborting a run stops it (Execute); a terminated session or machine is still Destructive', () => {
  assert.equal(cat(tool('terminate_execution', 'Terminate a running execution of a state machine.', { executionId: str })), 'Execute');
  assert.equal(cat(tool('abort_pipeline', 'Abort a pipeline.', { id: str })), 'Execute');
  assert.equal(cat(tool('terminate_session', 'Terminate a running shell session.', { id: str })), 'Destructive');
  assert.equal(cat(tool('terminate_machines', 'Terminate machines.', { ids: { type: 'array' } })), 'Destructive');
});

test('keys or input sent to a terminal or a pane run in its shell (Execute)', () => {
  assert.equal(cat(tool('send_keys_to_pane', 'Send keys to a pane.', { pane: str, keys: str })), 'Execute');
  assert.equal(cat(tool('send_input', 'Send input to a terminal session.', { session: str, text: str })), 'Execute');
  assert.equal(cat(tool('send_message', 'Send a message to a channel.', { channel: str, text: str })), 'Write');
});

test('a create that also deploys or starts what it makes, or one from a repository, is Execute', () => {
  assert.equal(cat(tool('create_project', 'Create a project and deploy it to the edge.', { name: str })), 'Execute');
  assert.equal(cat(tool('new_site', 'Create a site from a GitHub repository.', { repo: str })), 'Execute');
  assert.equal(cat(tool('create_project', 'Create a project.', { name: str })), 'Write');
});

test('rolling back to a previous deploy changes what runs (Execute)', () => {
  assert.equal(cat(tool('rollback_to_deploy', 'Roll back to an earlier deploy.', { id: str })), 'Execute');
});

test('voiding, ending, tapping and minting are known verbs', () => {
  assert.equal(cat(tool('void_contract', 'Void a contract so that nobody can sign it.', { id: str })), 'Destructive');
  assert.equal(cat(tool('void_invoice', 'Void an invoice.', { id: str })), 'Financial');
  assert.equal(cat(tool('end_call', 'End a live call for everyone.', { id: str })), 'Execute');
  assert.equal(cat(tool('tap_element', 'Tap an element on the screen.', { id: str })), 'Write');
  assert.equal(cat(tool('mint_tokens', 'Mint tokens to a wallet.', { to: str, amount: str })), 'Financial');
});

test('balances, positions and prices are Read, whatever money words describe them', () => {
  assert.equal(cat(tool('get_coin_balance', 'Get the balance of a coin held in a wallet.', { address: str })), 'Read');
  assert.equal(cat(tool('list_plan_pricing', 'List the pricing of each plan.', {})), 'Read');
  // A money record named in the name is still read as one.
  assert.equal(cat(tool('get_invoice_balance', 'Get the balance due on an invoice.', { id: str })), 'Financial');
});

test('general verbs the vocabulary lacked: read, write, run, remove and pay', () => {
  assert.equal(cat(tool('forecast_demand', 'Forecast demand for the next quarter.', { sku: str })), 'Read');
  assert.equal(cat(tool('reschedule_visit', 'Reschedule a visit to another day.', { id: str, date: str })), 'Write');
  assert.equal(cat(tool('reindex_collection', 'Reindex a collection in the background.', { name: str })), 'Execute');
  assert.equal(cat(tool('deregister_target', 'Deregister a target from the service.', { id: str })), 'Destructive');
  assert.equal(cat(tool('repay_loan', 'Repay part of a loan.', { loanId: str, amount: num })), 'Financial');
  assert.equal(cat(tool('top_up_wallet', 'Top up the prepaid balance.', { amount: num })), 'Financial');
  // A verb that is usually a noun later in a name stays a noun there.
  assert.equal(cat(tool('forecast_list', 'List saved forecasts.', {})), 'Read');
});

test('suspending or resuming a person or an account changes access (Write), not what runs', () => {
  assert.equal(cat(tool('suspend_user', 'Suspend a user so they cannot sign in.', { id: str })), 'Write');
  assert.equal(cat(tool('resume_account', 'Resume a suspended account.', { id: str })), 'Write');
  assert.equal(cat(tool('suspend_worker', 'Suspend a worker process.', { id: str })), 'Execute');
});

test('a report whose description names money records later is a financial report', () => {
  const later = 'Fetch the download link of an export.\n\nExports list individual refunds and transactions for reconciliation.';
  assert.equal(cat(tool('get_export_report', later, { id: str })), 'Financial');
  assert.equal(cat(tool('get_export_report', 'Fetch the download link of an export.\n\nExports list page views.', { id: str })), 'Read');
});

test('a read of what a money noun only qualifies (gateways, settings, employees) reads no money record', () => {
  assert.equal(cat(tool('list_payment_providers', 'List the payment providers configured for the shop.', {})), 'Read');
  assert.equal(cat(tool('get_billing_settings', 'Get billing settings.', {})), 'Read');
  assert.equal(cat(tool('list_payroll_employees', 'List payroll employees.', {})), 'Read');
  // The records themselves, and any change to such configuration, stay Financial.
  assert.equal(cat(tool('list_payments', 'List payments received.', {})), 'Financial');
  assert.equal(cat(tool('update_payment_provider', 'Update a payment provider.', { id: str, key: str })), 'Financial');
});

test('a write whose description says what it makes is deployed or started runs it (Execute)', () => {
  assert.equal(cat(tool('create_version', 'Create a version of a service. The version is deployed immediately.', { service: str })), 'Execute');
  assert.equal(cat(tool('create_version', 'Create a version of a document.', { doc: str })), 'Write');
});

test('opening or exposing a port runs a way in (Execute); running a health check reads (Read)', () => {
  assert.equal(cat(tool('open_port', 'Open a port of a container to the internet.', { id: str, port: num })), 'Execute');
  assert.equal(cat(tool('open_file', 'Open a file and return its text.', { path: str })), 'Read');
  assert.equal(cat(tool('run_health_check', 'Run the health check of a site.', { site: str })), 'Read');
  assert.equal(cat(tool('run_tests', 'Run the test suite of a project.', { project: str })), 'Execute');
});

test('a checkout link is a payment link (Financial); silencing an alert is a Write', () => {
  assert.equal(cat(tool('create_checkout_link', 'Create a checkout link for a cart.', { cart: str })), 'Financial');
  assert.equal(cat(tool('silence_alarm', 'Silence an alarm for an hour.', { id: str })), 'Write');
});

test('renewing a paid term, paying with a stored card, or fees that apply are Financial', () => {
  assert.equal(cat(tool('renew_license', 'Renew a software license for a year.', { id: str })), 'Financial');
  assert.equal(cat(tool('renew_token', 'Renew an access token before it expires.', { id: str })), 'Write');
  assert.equal(cat(tool('book_room', 'Book a hotel room and pay with the saved card.', { roomId: str })), 'Financial');
  assert.equal(cat(tool('book_room', 'Book a meeting room.', { roomId: str })), 'Write');
  assert.equal(cat(tool('cancel_reservation', 'Cancel a reservation. Late cancellation fees may apply.', { id: str })), 'Financial');
});

test('creating a job runs it; upgrading to the latest version or releasing what was submitted is Execute', () => {
  assert.equal(cat(tool('create_training_job', 'Create a training job.', { dataset: str })), 'Execute');
  assert.equal(cat(tool('create_job_posting', 'Create a job posting.', { title: str })), 'Write');
  assert.equal(cat(tool('update_extension', 'Update an extension to the latest version.', { id: str })), 'Execute');
  assert.equal(cat(tool('update_extension', 'Update the settings of an extension.', { id: str })), 'Write');
  assert.equal(cat(tool('submit_build', 'Submit a build for review and release it when approved.', { id: str })), 'Execute');
});

test('restoring an earlier version overwrites the current one (Destructive)', () => {
  assert.equal(cat(tool('restore_page_version', 'Restore a page to an earlier version.', { id: str, version: num })), 'Destructive');
  assert.equal(cat(tool('restore_page', 'Restore a page from the trash.', { id: str })), 'Write');
});

test('noun-then-verb names in the third person: tear down, extend, allow, stream; process and estimate as nouns', () => {
  assert.equal(cat(tool('stack_teardown', 'Tears down a stack and frees its resources.', { id: str })), 'Destructive');
  assert.equal(cat(tool('lease_extend', 'Extends a lease by some hours.', { id: str, hours: num })), 'Write');
  assert.equal(cat(tool('port_allow', 'Allows inbound traffic on a port.', { port: num })), 'Write');
  assert.equal(cat(tool('job_logs', 'Streams the logs of a job.', { id: str })), 'Read');
  assert.equal(cat(tool('process_list', 'Lists running processes.', {})), 'Read');
  assert.equal(cat(tool('quote_estimate_send', 'Sends an estimate to a client.', { id: str })), 'Write');
  assert.equal(cat(tool('deploy_key_create', 'Adds a deploy key to a repository.', { key: str })), 'Write');
});

test('formatting a disk, signalling a process, and data that "is lost" are Destructive', () => {
  assert.equal(cat(tool('partition_format', 'Formats a partition with a filesystem.', { device: str })), 'Destructive');
  assert.equal(cat(tool('format_code', 'Format source code and return it.', { code: str })), 'Read');
  assert.equal(cat(tool('process_signal', 'Sends a signal to a process.', { pid: num, signal: str })), 'Destructive');
  assert.equal(cat(tool('branch_move', 'Moves a branch to a commit; commits only on the old tip are lost.', { branch: str, sha: str })), 'Destructive');
  assert.equal(cat(tool('branch_move', 'Moves a branch to a commit.', { branch: str, sha: str })), 'Write');
});

test('with nothing telling in the name or the leading words, the first clear verb of the description decides, unsure', () => {
  const t = tool('zone_sweeper', 'Housekeeping for a zone: removes stale records older than a day.', { zone: str });
  const c = classifyTool(t);
  assert.equal(c.category, 'Destructive');
  assert.ok(c.confidence < 0.5, 'so that the scaffold says to review it by hand');
  assert.equal(cat(tool('zone_overview', 'Overview of a zone.', { zone: str })), 'Other');
  // A guess that reads is no guess at all: the tool stays unclassified (scan rate-limits it) instead of Read (no rules).
  assert.equal(cat(tool('zone_sweeper', 'Housekeeping for a zone. Always list the zones first to find its id.', { zone: str })), 'Other');
});

test("an action's own object decides its class; a command chosen from a list is an action, not code", () => {
  const action = (values: string[]): JsonSchema => ({ type: 'string', enum: values });
  assert.equal(cat(tool('agenda', 'Read and modify the agenda.', { action: action(['list_meetings', 'add_meeting', 'cancel_meeting']) })), 'Destructive');
  assert.equal(cat(tool('workspace_files', 'Files of the workspace.', { command: action(['read', 'write', 'delete']), path: str })), 'Destructive');
  assert.equal(cat(tool('workspace_files', 'Files of the workspace.', { command: action(['read', 'write']), path: str })), 'Write');
  assert.equal(cat(tool('workspace_shell', 'A shell in the workspace.', { command: str })), 'Execute');
});

test('releasing an address or a number gives it up (Destructive); power is an Execute verb', () => {
  assert.equal(cat(tool('floating_ip_release', 'Release a floating IP.', { ip: str })), 'Destructive');
  assert.equal(cat(tool('release_list', 'List the releases of a project.', {})), 'Read');
  assert.equal(cat(tool('server_power', 'Control the power of a server.', { id: str, on: { type: 'boolean' } })), 'Execute');
});

test('the status or history of a run is read; deleting a history is not', () => {
  assert.equal(cat(tool('rollout_status', 'Shows the status of a rollout.', { name: str })), 'Read');
  assert.equal(cat(tool('deploy_history', 'Shows past deploys of an app.', { app: str })), 'Read');
  assert.equal(cat(tool('delete_history', 'Delete the history of a chat.', { chat: str })), 'Destructive');
  assert.equal(cat(tool('update_status', 'Update the status of a ticket.', { id: str, status: str })), 'Write');
});

test('migrations applied or run, a cost confirmed, a paused thing restored', () => {
  assert.equal(cat(tool('stage_schema_change', 'Stage a schema change: the migration is applied to a scratch copy first.', { sql: str })), 'Execute');
  assert.equal(cat(tool('sync_dev_db', 'Sync a dev database with main. This runs any pending migrations on it.', { db: str })), 'Execute');
  assert.equal(cat(tool('sync_dev_db', 'Sync the settings of a dev database with main.', { db: str })), 'Write');
  assert.equal(cat(tool('create_workspace', 'Create a workspace.', { name: str, confirmCostId: str })), 'Financial');
  assert.equal(cat(tool('restore_instance', 'Restore a paused instance.', { id: str })), 'Execute');
  assert.equal(cat(tool('restore_instance', 'Restore an instance from a snapshot.', { id: str, snapshot: str })), 'Destructive');
});

test('a noun-like read verb before a destructive verb at the end of the name: the last word is the act', () => {
  assert.equal(cat(tool('monitor_delete', 'Deletes a monitor.', { id: num })), 'Destructive');
  assert.equal(cat(tool('check_remove', 'Removes an uptime check.', { id: num })), 'Destructive');
  assert.equal(cat(tool('get_commit', 'Get a commit.', { sha: str })), 'Read');
  assert.equal(cat(tool('monitor_list', 'Lists monitors.', {})), 'Read');
});

test('machine classes, node groups, pipelines named noun-first, unrecoverable data', () => {
  assert.equal(cat(tool('modify_db_instance', 'Modifies a database instance.', { id: str, dbInstanceClass: str })), 'Execute');
  assert.equal(cat(tool('update_nodegroup', 'Updates a node group.', { id: str, labels: { type: 'object' } })), 'Execute');
  assert.equal(cat(tool('pipeline_create', 'Creates a pipeline.', { name: str })), 'Execute');
  assert.equal(cat(tool('schedule_key_removal', 'Schedules a key for removal; what it encrypted becomes unrecoverable.', { id: str })), 'Destructive');
});

test('turning something on or off runs or stops it; a read that saves its result to a path writes a file', () => {
  assert.equal(cat(tool('turn_off_heater', 'Turn off a heater.', { id: str })), 'Execute');
  assert.equal(cat(tool('export_sheet', 'Export a sheet as CSV and save it to a path.', { id: str, path: str })), 'Write');
  assert.equal(cat(tool('export_sheet', 'Export a sheet as CSV and return it.', { id: str })), 'Read');
});

test('ad spend and bank or account statements are money records', () => {
  assert.equal(cat(tool('get_ad_metrics', 'Get clicks and spend of the ad groups.', { id: str })), 'Financial');
  assert.equal(cat(tool('download_statement', 'Download the bank statement of a month.', { month: str })), 'Financial');
  assert.equal(cat(tool('get_ad_groups', 'Get the ad groups of a campaign.', { id: str })), 'Read');
});

test('"share" after another word is usually a noun (a file share), first it is the verb', () => {
  assert.equal(cat(tool('smb_file_share_get', 'Get a file share by name.', { name: str })), 'Read');
  assert.equal(cat(tool('share_folder', 'Share a folder with a colleague.', { id: str, email: str })), 'Write');
});

test('a read verb naming a purpose yields to a description that writes', () => {
  assert.equal(cat(tool('verify_phone', 'Sends a code by SMS to verify a phone number.', { phone: str })), 'Write');
  assert.equal(cat(tool('verify_phone', 'Checks whether a phone number is valid.', { phone: str })), 'Read');
  // A plain read keeps its class whatever the description says first.
  assert.equal(cat(tool('get_upload_url', 'Create a signed URL to download a file.', { id: str })), 'Read');
});

test('a slash list in a description is a list of actions only when every part is a verb', () => {
  // Things named in pairs ("release/cycle", "null/empty") are not operations of the tool.
  assert.equal(cat(tool('fetch_test_cases', 'Fetch test cases of a release/cycle; a null/empty filter returns all.', { project: str })), 'Read');
  // "list/get/delete" are operations: the most severe decides.
  assert.equal(cat(tool('manage_webhooks', 'Webhooks: list/get/delete.', { id: str })), 'Destructive');
});

test('"ordered" and "ordering" in prose sort things; they are not purchase orders', () => {
  assert.equal(cat(tool('create_test', 'Create a new test which contains an ordered list of steps.', { name: str })), 'Write');
  assert.equal(cat(tool('list_documents', 'List documents from a collection with filtering and ordering.', { collection: str })), 'Read');
  // The noun still is money.
  assert.equal(cat(tool('create_order', 'Create an order for a customer.', { customer: str, amount: num })), 'Financial');
});

test('a read verb yields to a description that opens by setting work off', () => {
  assert.equal(cat(tool('search_missing', 'Trigger a search for all missing episodes in a series.', { seriesId: num })), 'Execute');
  assert.equal(cat(tool('lookup_build', 'Launch a build of the given commit.', { sha: str })), 'Execute');
  // A search that only answers stays a Read.
  assert.equal(cat(tool('search_series', 'Search for a series by its title.', { term: str })), 'Read');
});

test('a subscription or billing plan is a catalogue object (Write, Read); a subscription is money', () => {
  assert.equal(cat(tool('list_subscription_plans', 'List subscription plans of the product.', { page: num })), 'Read');
  assert.equal(cat(tool('create_billing_plan', 'Create a billing plan with a name and an interval.', { name: str, interval: str })), 'Write');
  assert.equal(cat(tool('create_subscription', 'Create a subscription for a customer to a plan.', { customer: str, plan: str })), 'Financial');
  // Changing a plan may move a customer to another price: it stays money.
  assert.equal(cat(tool('update_subscription_plan', 'Change the subscription plan of a customer.', { customer: str, plan: str })), 'Financial');
});

test('of two verbs in a name, the later one is the verb when the description opens with it', () => {
  assert.equal(cat(tool('trash_list_profiles', 'List the quality profiles the guides recommend.', { app: str })), 'Read');
  assert.equal(cat(tool('change_requests_list', 'List the change requests of a workplace.', { workplace: str })), 'Read');
  // The description opens with the first verb: the later word is the object.
  assert.equal(cat(tool('delete_list', 'Delete a list and all its items.', { listId: str })), 'Destructive');
  // A delete or a stop first in the name keeps it, whatever the description opens with.
  assert.equal(cat(tool('delete_list_items', 'List the items of a list and delete them.', { listId: str })), 'Destructive');
  assert.equal(cat(tool('stop_list_jobs', 'List running jobs and stop them all.', {})), 'Execute');
});

test('a tool whose remove action takes a link or a tag off detaches it (Write); a remove of the thing itself deletes it', () => {
  const action = { type: 'string', enum: ['add', 'remove', 'list'] } as JsonSchema;
  assert.equal(cat(tool('manage_work_item_link', 'Add or remove links between work items.', { action, source: str, target: str })), 'Write');
  assert.equal(cat(tool('manage_work_items', 'Add, list or remove work items.', { action, id: str })), 'Destructive');
});

test('a query argument its own description calls DDL or DML is SQL that runs (Execute)', () => {
  assert.equal(
    cat(tool('create_table', 'Create new tables in the database.', { connectionId: str, query: { type: 'string', description: 'CREATE TABLE statement' } })),
    'Execute',
  );
  // A create whose query argument is not SQL stays a Write.
  assert.equal(cat(tool('create_saved_search', 'Create a saved search.', { name: str, query: { type: 'string', description: 'The search terms' } })), 'Write');
});

test('a plain read by its name reads about the pair its description names ("create/delete"); other tools act on it', () => {
  assert.equal(cat(tool('get_webhook_history', 'Get the history of a webhook: create/delete events, before and after.', { id: str })), 'Read');
  assert.equal(cat(tool('manage_webhook', 'Manage a webhook: create/delete it.', { id: str })), 'Destructive');
});
