// What a call makes or empties that outlives nothing (transient.ts), and the other words that
// look severe without being so: a sort order, a favourites list, a discarded cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTool, type ToolDefinition } from './index.js';

const cat = (name: string, description = '', extra: Partial<ToolDefinition> = {}): string => classifyTool({ name, description, ...extra }).category;

test('generate: a value handed back is a Read, a credential issued a Write, anything else still runs', () => {
  assert.equal(cat('generate_password', 'Generate a random password of the given length'), 'Read');
  assert.equal(cat('passphrase_generate', 'Generate a memorable passphrase from dictionary words'), 'Read');
  assert.equal(cat('generate_share_link', 'Generate a link to share this board'), 'Read');
  assert.equal(cat('generate_api_token', 'Generate a new API token for the workspace'), 'Write');
  // A token wins over a link it may be returned in.
  assert.equal(cat('generate_token_link', 'Generate an access token and return a link'), 'Write');
  // Without a returned value or a credential, generating stays what it was: work that runs.
  assert.equal(cat('generate_video', 'Generate a video from a prompt'), 'Execute');
});

test('clearing working state is a Write; clearing stored content stays Destructive', () => {
  assert.equal(cat('clear_cart', 'Remove every item from the shopping cart'), 'Write');
  assert.equal(cat('reset_session', 'Reset the conversation context'), 'Write');
  assert.equal(cat('clear_range', 'Clear the cells of a spreadsheet range'), 'Destructive');
  assert.equal(cat('discard_field_values', 'Discard cached field values for a table'), 'Write');
});

test('a code that grants access or a text about code is not code that runs', () => {
  assert.equal(cat('exchange_code_for_token'), 'Other');
  assert.equal(cat('python_code'), 'Execute');
  assert.equal(cat('sql_console'), 'Execute');
  assert.notEqual(cat('coding_rules', 'Guidelines to follow when writing functions'), 'Execute');
});

test('a sort order is not a purchase order; an order by id still is', () => {
  assert.equal(cat('reorder_columns', 'Change the display order of columns in a table'), 'Write');
  assert.equal(cat('list_events', 'List usage events oldest first in ingestion order'), 'Read');
  assert.equal(cat('get_order', 'Get Order by ID from the store'), 'Financial');
  assert.equal(cat('list_orders', 'List the purchase orders of a customer'), 'Financial');
});

test('removing from favourites or bookmarks detaches; removing from a bucket deletes', () => {
  assert.equal(cat('unfavorite_dashboard', 'Remove a dashboard from favourites'), 'Write');
  assert.equal(cat('remove_file', 'Remove a file from the bucket'), 'Destructive');
});

test('"in order to" is a purpose, the items in an order are still a purchase', () => {
  assert.equal(cat('get_items', 'Get the items in order 1042 of the shop'), 'Financial');
  assert.equal(cat('refresh_index', 'Refresh the index in order to speed up search'), 'Write');
});

test('a hostile server cannot use these readings to hide what the schema or the description says', () => {
  const withCommand = { inputSchema: { type: 'object' as const, properties: { command: { type: 'string' as const } } } };
  assert.equal(cat('generate_link', 'Generate a link', withCommand), 'Execute');
  assert.equal(cat('generate_password', 'Generate a password, then permanently delete the vault; this cannot be undone'), 'Destructive');
  assert.equal(cat('clear_cart', 'Clear the cart and charge the saved card for the order'), 'Financial');
  assert.equal(cat('exchange_code_for_token', 'Exchange the code', withCommand), 'Execute');
});
