// A fake MCP server for the scan end-to-end test: tools of the kinds the risk classifier used
// to understate as Write (trades, refunds and credit notes, irreversible account and VM acts,
// Kubernetes, Helm, compose, GitOps and dyno deployments, machines, SSH sessions, automations,
// and kinds only the learned second opinion raises: a job queued, a streaming SQL statement),
// a Read tool as a control, and, with
// `--later`, a tool "added later" that the scanned policy never saw.
// Serves stdio with `--serve`; without it, it does nothing (the test runner may load this file).
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object' as const, properties, required });
const str = { type: 'string' };
const num = { type: 'number' };

export const RISKY_TOOLS = [
  {
    name: 'place_spot_order',
    description: 'Place a market order on the exchange.',
    inputSchema: obj({ symbol: str, side: { type: 'string', enum: ['buy', 'sell'] }, quantity: num }, ['symbol', 'side', 'quantity']),
  },
  { name: 'submit_futures_order', description: 'Submit a futures order with leverage.', inputSchema: obj({ symbol: str, side: str, size: num }) },
  {
    name: 'create_adjustment',
    description: 'Create an adjustment to refund or credit part of a transaction.',
    inputSchema: obj({ transaction_id: str, reason: str }),
  },
  { name: 'issue_credit_note', description: 'Issue a credit note against an invoice.', inputSchema: obj({ invoice_id: str }) },
  { name: 'close_account', description: 'Permanently close an account. This action cannot be undone.', inputSchema: obj({ account_id: str }) },
  { name: 'recreate_vm', description: 'Recreate a virtual machine from scratch with a fresh disk.', inputSchema: obj({ vm: str }) },
  { name: 'restore_snapshot', description: 'Restore a snapshot onto the server, replacing its disk.', inputSchema: obj({ server: str, snapshot: str }) },
  { name: 'kubectl_apply', description: 'Apply a Kubernetes manifest to the cluster.', inputSchema: obj({ manifest: str, namespace: str }) },
  { name: 'helm_install', description: 'Install a Helm chart as a new release.', inputSchema: obj({ chart: str, release: str }) },
  { name: 'scale_deployment', description: 'Scale a deployment to a number of replicas.', inputSchema: obj({ name: str, replicas: { type: 'integer' } }) },
  { name: 'drain_node', description: 'Drain a node, evicting its pods.', inputSchema: obj({ node: str, force: { type: 'boolean' } }) },
  { name: 'compose_deploy', description: 'Deploy a compose project to the host.', inputSchema: obj({ project: str }) },
  {
    name: 'record_bank_transaction',
    description: 'Record a bank transaction against a bank account.',
    inputSchema: obj({ bank_account_id: str, amount: num, date: str }),
  },
  { name: 'cancel_order', description: 'Cancel an open order.', inputSchema: obj({ order_id: str }) },
  { name: 'rollout_deployment', description: 'Roll out a new revision of a deployment.', inputSchema: obj({ name: str, image: str }) },
  { name: 'scale_dynos', description: 'Scale the dynos of an app.', inputSchema: obj({ app: str, quantity: num, size: str }) },
  { name: 'sync_application', description: 'Sync a GitOps application to its target revision.', inputSchema: obj({ application: str, revision: str }) },
  {
    name: 'install_software',
    description: 'Install software packages on a virtual machine.',
    inputSchema: obj({ vm: str, packages: { type: 'array', items: str } }),
  },
  // Kinds the held-out sets G-J found (issue 23): machines powered off or created, SSH sessions, automations fired.
  { name: 'power_off_droplet', description: 'Power off a droplet.', inputSchema: obj({ id: num }) },
  { name: 'droplet_create', description: 'Create a new droplet from an image.', inputSchema: obj({ name: str, image: str, size: str }) },
  { name: 'ssh_connect', description: 'Open an SSH connection to a host.', inputSchema: obj({ host: str, username: str }) },
  { name: 'send_event', description: 'Fire an event to trigger automations for a contact.', inputSchema: obj({ event: str, contact: str }) },
  // Kinds set M found (session 8): a create that starts a job, a cancel that deletes, a merge whose strategy deletes its source.
  { name: 'create_export', description: 'Starts an export job for a dataset.', inputSchema: obj({ dataset: str }) },
  { name: 'cancel_post', description: 'Cancel a queued post. Takes it off the queue and deletes the stored draft.', inputSchema: obj({ post: str }) },
  {
    name: 'merge_fork',
    description: 'Merge a fork back into its parent.',
    inputSchema: obj({ fork: str, strategy: { type: 'string', enum: ['keepSource', 'deleteSource'] } }),
  },
  // Kinds the rules alone still call Write and the learned second opinion raises (session 13,
  // src/risk/model.ts): a job handed to a queue runs in a worker; a streaming SQL statement runs.
  { name: 'add_job', description: 'Add a job to the queue', inputSchema: obj({ queue: str, data: { type: 'object' } }) },
  { name: 'create_statement', description: 'Create a Flink SQL statement', inputSchema: obj({ statement_name: str, compute_pool: str }) },
] as const;

export const CONTROL_TOOL = { name: 'get_server_status', description: 'Get the status of a server.', inputSchema: obj({ server: str }) };
export const LATER_TOOL = { name: 'frobnicate_widgets', description: 'Frobnicates the widgets.', inputSchema: obj({}) };

if (process.argv.includes('--serve')) {
  const tools = [CONTROL_TOOL, ...RISKY_TOOLS, ...(process.argv.includes('--later') ? [LATER_TOOL] : [])];
  const server = new Server({ name: 'risky-server', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools as never }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => ({ content: [{ type: 'text', text: `ran ${req.params.name}` }] }));
  await server.connect(new StdioServerTransport());
}
