// `toolgate approvals list|show|approve|deny|expire|serve`: decide held calls from any
// process that shares the gateway's state directory (the waiting gateway
// notices a decision within its poll interval, 250 ms), or with --state-dsn
// the gateways' Redis (the decision is published: the waiting instance, on any
// machine, releases the call at once).
import { printable } from '../text/index.js';
import { Command, Option } from 'commander';
import { createServer } from 'node:http';
import { userInfo } from 'node:os';
import {
  APPROVAL_STATUSES,
  approvalJson,
  createApprovalApi,
  formatDuration,
  openApprovalStore,
  type ApprovalDecider,
  type ApprovalRecord,
  type ApprovalStatus,
  type DecideResult,
} from '../approval/index.js';
import { checkRedisDsn, resolveStateDir } from '../state/index.js';

interface Common {
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  json?: boolean;
}

type Decider = ApprovalDecider & { close(): void | Promise<void> };

/** The reason recorded by `approvals expire` (and shown to the agent). */
const EXPIRED_BY_HAND = 'expired by hand before its timeout (toolgate approvals expire)';

function defaultApprover(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/**
 * Approvers proven by their own grant token (`toolgate grant create finance-lead`),
 * when the state directory has grants: a live grant's name, else nothing.
 */
async function grantApprovers(opts: Common): Promise<((token: string) => string | undefined) | undefined> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { GrantStore, GRANTS_DB_FILE, grantStatus } = await import('../identity/grants.js');
  const path = join(resolveStateDir({ stateDir: opts.stateDir }), GRANTS_DB_FILE);
  if (!existsSync(path)) return undefined;
  const grants = new GrantStore({ path });
  return (token) => {
    const g = grants.findByToken(token);
    return g && grantStatus(g, Date.now()) === 'active' ? g.name : undefined;
  };
}

async function open(opts: Common): Promise<Decider> {
  if (opts.stateDsn) {
    const url = checkRedisDsn(opts.stateDsn);
    const { RedisApprovalStore } = await import('../approval/redis-store.js');
    const store = new RedisApprovalStore({ url, ...(opts.statePrefix !== undefined ? { prefix: opts.statePrefix } : {}) });
    try {
      await store.ready();
      await store.sweep();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }
  const store = openApprovalStore(resolveStateDir({ stateDir: opts.stateDir }));
  store.sweep();
  return store;
}

function when(r: ApprovalRecord, now: number): string {
  if (r.status === 'pending') return `expires in ${formatDuration(Math.max(0, Math.round((r.expiresAt - now) / 1000) * 1000))}`;
  const by = r.decidedBy ? ` by ${r.decidedBy}` : '';
  const used = r.consumedAt !== undefined ? ', used by a call' : r.status === 'approved' && r.model === 'retry' ? ', waiting for the retry' : '';
  return `${r.status}${by}${used}${r.reason ? `: ${r.reason}` : ''}`;
}

function printDecision(r: DecideResult, json: boolean | undefined): void {
  if (!r.ok) {
    if (json) process.stdout.write(`${JSON.stringify({ error: r.code, message: r.message })}\n`);
    throw new Error(r.message);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(approvalJson(r.record))}\n`);
    return;
  }
  process.stdout.write(
    `${printable(`${r.record.id} ${r.record.status} by ${r.record.decidedBy}${r.record.reason ? `: ${r.record.reason}` : ''} (${r.record.tool})`)}\n`,
  );
}

export function registerApprovals(program: Command): void {
  const cmd = new Command('approvals').description('list and decide tool calls held for approval');
  const common = (c: Command) =>
    c
      .option('--state-dir <dir>', 'state directory of the gateway (default ~/.toolgate, or $TOOLGATE_HOME)')
      .option(
        '--state-dsn <dsn>',
        "the gateways' shared Redis (redis://[user:pass@]host:port[/db], rediss://, or redis+cluster://host:port for a Redis Cluster) instead of the state directory",
      )
      .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
      .option('--json', 'print JSON');

  common(cmd.command('list'))
    .description('list approval requests, newest first')
    .option('--pending', 'only the ones still waiting')
    .addOption(new Option('--status <status>', 'only this status').choices(APPROVAL_STATUSES))
    .option('--limit <n>', 'at most this many', '50')
    .action(async (opts: Common & { pending?: boolean; status?: ApprovalStatus; limit: string }) => {
      const store = await open(opts);
      try {
        const status = opts.pending ? 'pending' : opts.status;
        const list = await store.list({ ...(status ? { status } : {}), limit: Math.max(1, Number(opts.limit) || 50) });
        if (opts.json) {
          for (const r of list) process.stdout.write(`${JSON.stringify(approvalJson(r))}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write(status === 'pending' ? 'no pending approvals\n' : 'no approvals\n');
          return;
        }
        const now = Date.now();
        const rows = list.map((r) =>
          [r.id, r.status, r.tool, r.identity ?? '-', new Date(r.createdAt).toISOString(), when(r, now), clip(JSON.stringify(r.argsPreview ?? {}), 60)].map(
            printable,
          ),
        );
        const head = ['ID', 'STATUS', 'TOOL', 'IDENTITY', 'CREATED', 'STATE', 'ARGS'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
      } finally {
        await store.close();
      }
    });

  common(cmd.command('show'))
    .description('show one approval request')
    .argument('<id>', 'the approval id (or a unique prefix)')
    .action(async (id: string, opts: Common) => {
      const store = await open(opts);
      try {
        const r = await store.get(id);
        if (!r) throw new Error(`no approval request ${id}`);
        const j = approvalJson(r);
        if (opts.json) process.stdout.write(`${JSON.stringify(j)}\n`);
        else
          for (const [k, v] of Object.entries(j))
            if (v !== null) process.stdout.write(`${k.padEnd(12)} ${printable(typeof v === 'string' ? v : JSON.stringify(v))}\n`);
      } finally {
        await store.close();
      }
    });

  common(cmd.command('approve'))
    .description('approve a held call: the gateway forwards exactly that call')
    .argument('<id>', 'the approval id (or a unique prefix)')
    .option('--reason <text>', 'why (recorded)')
    .option('--as <name>', "who approves (must be one of the rule's approvers, when it names them)", defaultApprover())
    .action(async (id: string, opts: Common & { reason?: string; as: string }) => {
      const store = await open(opts);
      try {
        printDecision(await store.decide(id, { approve: true, by: opts.as, channel: 'cli', ...(opts.reason ? { reason: opts.reason } : {}) }), opts.json);
      } finally {
        await store.close();
      }
    });

  // Intercept's `approvals expire`: end a request before its timeout (a pending one, or an
  // approved one no retry has used yet). A waiting (held) call is refused.
  common(cmd.command('expire'))
    .description("expire an approval request now (Intercept's approvals expire): it can no longer be approved or used by a retry")
    .argument('<id>', 'the approval id (or a unique prefix)')
    .option('--as <name>', 'who expires it', defaultApprover())
    .action(async (id: string, opts: Common & { as: string }) => {
      const store = await open(opts);
      try {
        const s = store as Decider & { expireNow?(id: string, by: string, reason: string): DecideResult | Promise<DecideResult> };
        printDecision(
          s.expireNow
            ? await s.expireNow(id, opts.as, EXPIRED_BY_HAND)
            : await store.decide(id, { approve: false, by: opts.as, reason: EXPIRED_BY_HAND, channel: 'cli' }),
          opts.json,
        );
      } finally {
        await store.close();
      }
    });

  common(cmd.command('deny'))
    .description('deny a held call: the agent gets your reason')
    .argument('<id>', 'the approval id (or a unique prefix)')
    .requiredOption('--reason <text>', 'why (sent to the agent and recorded)')
    .option('--as <name>', 'who denies', defaultApprover())
    .action(async (id: string, opts: Common & { reason: string; as: string }) => {
      const store = await open(opts);
      try {
        printDecision(await store.decide(id, { approve: false, by: opts.as, reason: opts.reason, channel: 'cli' }), opts.json);
      } finally {
        await store.close();
      }
    });

  cmd
    .command('serve')
    .description('serve the approval HTTP API (GET /api/approvals, POST /api/approvals/ID/approve|deny) for this state directory')
    .option('--state-dir <dir>', 'state directory of the gateway')
    .option('--state-dsn <dsn>', "the gateways' shared Redis instead of the state directory")
    .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
    .option('--bind <addr>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', '8787')
    .option('--admin-key <key>', 'the bearer key callers must send (default $TOOLGATE_ADMIN_KEY)')
    .action(async (opts: Common & { bind: string; port: string; adminKey?: string }) => {
      const adminKey = opts.adminKey ?? process.env.TOOLGATE_ADMIN_KEY;
      if (!adminKey) throw new Error('give the admin key with --admin-key or $TOOLGATE_ADMIN_KEY');
      const store = await open(opts);
      const approverOf = await grantApprovers(opts);
      const api = createApprovalApi({ approvals: store, adminKey, ...(approverOf ? { approverOf } : {}) });
      const server = createServer((req, res) => {
        void api(req, res).then((handled) => {
          if (handled) return;
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"error":"not_found"}');
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(opts.port), opts.bind, resolve);
      });
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      process.stderr.write(`toolgate approvals API on http://${opts.bind}:${port}/api/approvals\n`);
      const stop = () => server.close(() => void store.close());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program.addCommand(cmd);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
