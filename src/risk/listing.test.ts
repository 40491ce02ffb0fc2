// A listing read as a whole (what every tool shares tells nothing), and what a generic create or
// update of an API-generated server does. Tools written for the test, with contrast cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, classifyTools, inListing, type JsonSchema, type ToolDefinition } from './index.js';

const cat = (t: ToolDefinition): string => classifyTool(t).category;
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

test('a sentence that opens every description of a listing is boilerplate: the next one says what the call does', () => {
  const pre = 'Provided by the Acme toolkit. ';
  const listing: ToolDefinition[] = [
    { name: 'add_item', description: `${pre}Charge the customer for the item with the saved card.` },
    { name: 'get_widget', description: `${pre}Get a widget.` },
    { name: 'list_widgets', description: `${pre}List widgets.` },
    { name: 'rename_widget', description: `${pre}Rename a widget.` },
    { name: 'remove_widget', description: `${pre}Remove a widget.` },
  ];
  assert.equal(cat(listing[0]!), 'Write');
  assert.equal(classifyTools(listing)[0]!.category, 'Financial');
  assert.equal(inListing(listing)[1]!.description, 'Get a widget.');
  // Too few tools, or a sentence most tools do not share: nothing is dropped.
  assert.equal(inListing(listing.slice(0, 3))[0]!.description, listing[0]!.description);
  const mixed = listing.map((t, i) => (i < 2 ? t : { ...t, description: t.description!.slice(pre.length) }));
  assert.equal(inListing(mixed)[0]!.description, listing[0]!.description);
});

test('a description opening on a vendor label and "This is the … API." is read from the sentence after', () => {
  const purchase = { name: 'CreateIncomingNumber', description: 'Acme - Api: This is the public Acme REST API. Purchase a phone-number for the account.' };
  assert.equal(cat(purchase), 'Financial');
  assert.equal(cat({ name: 'CreateNumberLabel', description: 'Acme - Api: This is the public Acme REST API. Create a label.' }), 'Write');
});

test('destructiveHint on every tool of a listing, plain reads included, carries no information', () => {
  const h = { destructiveHint: true };
  const listing: ToolDefinition[] = [
    { name: 'list_jobs', description: 'List all jobs', annotations: h },
    { name: 'get_job', description: 'Get job details by ID', annotations: h },
    { name: 'delete_job', description: 'Delete a job', annotations: h },
    { name: 'update_variable', description: 'Update a variable', annotations: h },
  ];
  assert.equal(cat(listing[0]!), 'Write'); // alone, the hint raises a read
  assert.deepEqual(
    classifyTools(listing).map((c) => c.category),
    ['Read', 'Read', 'Destructive', 'Write'],
  );
  assert.notEqual(classifyTools(listing)[1]!.risk, 'High');
  // A hint that discriminates (not on every tool) still raises.
  const some = listing.map((t, i) => (i === 3 ? { ...t, annotations: {} } : t));
  assert.equal(classifyTools(some)[0]!.category, 'Write');
});

test('creating or changing a call, a stream, a recording or a transcription starts or stops something live (Execute)', () => {
  assert.equal(cat({ name: 'CreateCall', description: 'Create a new outgoing call to phones' }), 'Execute');
  assert.equal(cat({ name: 'UpdateStream', description: 'Stop a Stream using its SID' }), 'Execute');
  assert.equal(cat({ name: 'create_conference_recording', description: 'Create a recording of the conference' }), 'Execute');
  assert.equal(cat({ name: 'delete_recording', description: 'Delete a recording' }), 'Destructive');
  assert.equal(cat({ name: 'list_calls', description: 'List calls' }), 'Read');
});

test("the HTTP method an argument names for a callback URL is not among the tool's actions", () => {
  const method = { type: 'string', description: 'The HTTP method we use when calling the `url` parameter. Can be: `GET` or `POST`.' };
  assert.equal(cat({ name: 'update_call', description: 'Redirect a call to new instructions', inputSchema: obj({ Method: method }) }), 'Execute');
  // A free-text action naming its values still counts.
  const action = { type: 'string', description: "One of 'list', 'create' or 'delete'." };
  assert.equal(cat({ name: 'manage_widgets', description: 'Manage widgets', inputSchema: obj({ action }) }), 'Destructive');
});

test('a generic verb of the name yields to a destructive or paying leading verb of the description', () => {
  assert.equal(cat({ name: 'update_entry', description: 'Erase the history of an entry' }), 'Destructive');
  assert.equal(cat({ name: 'update_entry', description: 'Rename an entry' }), 'Write');
});

test('switching a plugin or an extension on or off, or a change that goes live, changes what runs (Execute)', () => {
  assert.equal(cat({ name: 'activate_plugin', description: 'Activate a plugin on the site' }), 'Execute');
  assert.equal(cat({ name: 'disable_extension', description: 'Disable an extension' }), 'Execute');
  assert.equal(cat({ name: 'activate_user', description: 'Activate a user account' }), 'Write');
  assert.equal(cat({ name: 'publish_site', description: 'Publish a site so its latest changes go live' }), 'Execute');
  assert.equal(cat({ name: 'update_core', description: 'Update the core to the security release published upstream' }), 'Execute');
  assert.equal(cat({ name: 'publish_post', description: 'Publish a draft post' }), 'Write');
  // Said of a later step, not of this call.
  const draft = 'Update a workflow draft. Note: the workflow runs only after it is published to live version.';
  assert.equal(cat({ name: 'update_workflow_draft', description: draft }), 'Write');
});

test('a generic create whose description plainly deploys or runs yields to it (not "start a claim")', () => {
  assert.equal(cat({ name: 'create_project', description: 'Deploy a new project from a compose file' }), 'Execute');
  assert.equal(cat({ name: 'create_claim', description: 'Start a claim for a domain' }), 'Write');
});

test('a bare HTTP route names what a generic create acts on; a bare-route tool is read as the tool it extends', () => {
  const route = (path: string) => `Make a POST request to /v1/Accounts/{Sid}/${path}.json`;
  assert.equal(cat({ name: 'CreateMember', description: route('Conferences/{ConferenceSid}/Members') }), 'Execute');
  assert.equal(cat({ name: 'CreateMember', description: route('Teams/{TeamSid}/Members') }), 'Write');
  const listing: ToolDefinition[] = [
    { name: 'CreateNumber', description: 'Purchase a phone number for the account.' },
    { name: 'CreateNumberLocal', description: route('Numbers/Local') },
    { name: 'CreateNumberLabel', description: 'Create a label for a number.' },
    { name: 'ListNumbers', description: 'List the numbers of the account.' },
  ];
  assert.equal(cat(listing[1]!), 'Write');
  assert.deepEqual(
    classifyTools(listing).map((c) => c.category),
    ['Financial', 'Financial', 'Write', 'Read'],
  );
});

test('upkeep of a table or an index (optimize, repair, vacuum) runs an engine job (Execute)', () => {
  assert.equal(cat({ name: 'optimize_table', description: 'Optimizes a table to reclaim unused space.' }), 'Execute');
  assert.equal(cat({ name: 'repair_index', description: 'Repairs a corrupted index.' }), 'Execute');
  assert.notEqual(cat({ name: 'optimize_image', description: 'Optimizes an image for the web.' }), 'Execute');
});

test('a flag that empties the target before a write (truncateFirst, dropExisting) makes it Destructive', () => {
  const flag = (name: string) => obj({ [name]: { type: 'boolean', default: false }, tableName: { type: 'string' } });
  assert.equal(cat({ name: 'import_table_data', description: 'Import data from a CSV file into a table', inputSchema: flag('truncateFirst') }), 'Destructive');
  assert.equal(cat({ name: 'copy_rows', description: 'Copy rows between two databases', inputSchema: flag('dropExisting') }), 'Destructive');
  assert.equal(cat({ name: 'import_table_data', description: 'Import data from a CSV file into a table', inputSchema: flag('skipHeader') }), 'Write');
});

test('a write carrying a cron expression at any depth schedules what runs (Execute)', () => {
  const schedule = obj({
    monitor: { type: 'object', properties: { name: { type: 'string' }, schedule: { type: 'object', properties: { cron: { type: 'string' } } } } },
  });
  assert.equal(cat({ name: 'createMonitor', description: 'Creates a monitor.', inputSchema: schedule }), 'Execute');
  assert.equal(cat({ name: 'createMonitor', description: 'Creates a monitor.', inputSchema: obj({ name: { type: 'string' } }) }), 'Write');
  assert.equal(cat({ name: 'getMonitor', description: 'Gets a monitor.', inputSchema: schedule }), 'Read');
  const cron = obj({ cron: { type: 'string' } });
  assert.equal(cat({ name: 'report_schedule', description: 'Schedules a report to be emailed weekly.', inputSchema: cron }), 'Write');
});

test('with no verb in the name, the HTTP method of a bare route is weak evidence', () => {
  assert.equal(cat({ name: 'keys_sid', description: 'Make a DELETE request to /v1/Keys/{Sid}.json' }), 'Destructive');
  assert.equal(cat({ name: 'keys_sid', description: 'Make a POST request to /v1/Keys/{Sid}.json' }), 'Write');
  assert.equal(cat({ name: 'keys_sid', description: 'Keys by SID' }), 'Other');
});

test('a subscription to messages or events, or one with a callback URL, is a feed, not a paid plan', () => {
  assert.equal(cat({ name: 'create_message_subscription', description: 'Subscribe to messages of a call.' }), 'Write');
  assert.equal(cat({ name: 'delete_message_subscription', description: 'Delete a message subscription.' }), 'Destructive');
  const callback = obj({ Callback: { type: 'string', description: 'The URL we call with each event.' } });
  assert.equal(cat({ name: 'create_subscription', description: 'Create a subscription.', inputSchema: callback }), 'Write');
  assert.equal(cat({ name: 'create_subscription', description: 'Create a subscription.' }), 'Financial');
});

test('a shared opening is dropped only to raise: a warning repeated on every tool still counts', () => {
  const warn = 'This permanently deletes data. ';
  const listing: ToolDefinition[] = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((n) => ({
    name: `${n}_tool`,
    description: `${warn}Get the ${n} value.`,
  }));
  assert.equal(inListing(listing)[0]!.description, 'Get the alpha value.');
  assert.deepEqual(new Set(classifyTools(listing).map((c) => c.category)), new Set([cat(listing[0]!)]));
  assert.equal(cat(listing[0]!), 'Destructive');
});

test("a verb that opens every tool name, followed by the tools' own verbs, is the product's name", () => {
  // UniFi Protect names every tool protect_…: read as the verb "protect", reads and sirens were Writes.
  const protect = [
    // (Descriptions that open with verbs of their own, not the names' verbs: alone, the name rests on "protect".)
    { name: 'protect_get_info', description: 'Return application information' },
    { name: 'protect_list_cameras', description: 'Show the cameras of the console' },
    { name: 'protect_play_siren', description: 'Activate the siren alarm for a duration' },
    { name: 'protect_delete_rtsp_stream', description: 'Remove an RTSP stream' },
    { name: 'protect_update_light', description: 'Change light settings' },
  ];
  const rules = (tools: ToolDefinition[]) => classifyTools(tools, { rulesOnly: true }).map((c) => c.category);
  assert.deepEqual(
    protect.map((t) => classifyTool(t).category),
    ['Write', 'Write', 'Write', 'Write', 'Write'],
    'alone, each name rests on "protect"',
  );
  assert.deepEqual(rules(protect).slice(0, 2), ['Read', 'Read']);
  assert.notEqual(rules(protect)[2], 'Write');
  assert.equal(rules(protect)[3], 'Destructive');
  assert.equal(inListing(protect)[0]!.name, 'get_info');
  // A shared word that is no verb stays: the rules never read it as one (browser_go_back keeps its browser).
  const browser = ['browser_go_back', 'browser_click', 'browser_close', 'browser_navigate'].map((name) => ({ name, description: '' }));
  assert.equal(inListing(browser)[0]!.name, 'browser_go_back');
  // Nor a verb that the rest of the names do not follow with a verb: a read-only server's get_… tools.
  const gets = ['get_user', 'get_repo', 'get_issue', 'get_commit'].map((name) => ({ name, description: '' }));
  assert.equal(inListing(gets)[0]!.name, 'get_user');
  assert.deepEqual(rules(gets), ['Read', 'Read', 'Read', 'Read']);
  // The tool's own verb may follow a part's name: a shell product's `bash_sandbox_read_file` reads a file,
  // while its bare `bash` and `bash_exec` still run commands.
  const shell = [
    { name: 'bash', description: 'Run a bash command.' },
    { name: 'bash_exec', description: 'Execute a command in the environment.' },
    { name: 'bash_sandbox_read_file', description: 'Read a file from the sandbox.' },
    { name: 'bash_sandbox_list_files', description: 'List files in the sandbox.' },
    { name: 'bash_sandbox_get_env', description: 'Get the environment variables of the sandbox.' },
  ];
  assert.deepEqual(rules(shell), ['Execute', 'Execute', 'Read', 'Read', 'Read']);
  // A server of deletes keeps its verb: its descriptions open with it, or say nothing at all.
  const deletes = ['delete_post', 'delete_comment', 'delete_list', 'delete_report', 'delete_user'];
  for (const describe of [(n: string) => `Delete a ${n.slice(7)}.`, () => '']) {
    const tools = deletes.map((name) => ({ name, description: describe(name) }));
    assert.deepEqual(rules(tools), ['Destructive', 'Destructive', 'Destructive', 'Destructive', 'Destructive']);
  }
});
