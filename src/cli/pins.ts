// `toolgate pins list | diff | accept`: the pinned tool definitions, what
// changed in the ones waiting for acceptance (field by field), and accepting
// a changed definition (or, after review, all of a server's) so the gateway
// releases the tool. With
// --state-dsn the pins are the gateways' shared ones in Redis: an acceptance is
// published and every instance releases the tool at once.
import { printable } from '../text/index.js';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkRedisDsn, resolveStateDir } from '../state/index.js';
import { describeChange, SqlitePinStore, type Pin } from '../pins/index.js';
import { diffDefinitions, formatChanges } from '../pins/diff.js';

interface PinsOptions {
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  server?: string;
  json?: boolean;
  all?: boolean;
}

interface PinAdmin {
  list(server?: string): Pin[] | Promise<Pin[]>;
  accept(server: string, tool: string, now: Date): boolean | Promise<boolean>;
  close(): void;
}

async function openStore(opts: PinsOptions): Promise<PinAdmin> {
  if (opts.stateDsn) {
    const url = checkRedisDsn(opts.stateDsn);
    const { RedisPinStore } = await import('../pins/redis.js');
    const store = new RedisPinStore({ url, ...(opts.statePrefix !== undefined ? { prefix: opts.statePrefix } : {}) });
    try {
      await store.ready();
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }
  const dir = resolveStateDir({ stateDir: opts.stateDir }, process.env);
  if (!existsSync(join(dir, 'state.db'))) throw new Error(`no toolgate state in ${dir} (use --state-dir)`);
  return SqlitePinStore.inStateDir(dir);
}

const DSN_HELP =
  "the gateways' shared Redis (redis://[user:pass@]host:port[/db], rediss://, or redis+cluster://host:port for a Redis Cluster) instead of the state directory";

export function registerPins(program: Command): void {
  const pins = program.command('pins').description('pinned tool definitions (rug-pull defence)');
  pins
    .command('list')
    .description('list pinned tools; changed definitions waiting for acceptance are marked CHANGED')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', DSN_HELP)
    .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
    .option('--server <name>', 'only this server (its command line, or --server-name)')
    .option('--json', 'print JSON')
    .action(async (opts: PinsOptions) => {
      const list = await listPins(opts);
      if (opts.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      if (list.length === 0) process.stdout.write('no pinned tools\n');
      for (const p of list) {
        const state = p.pending ? `CHANGED (${describeChange(p.definition, p.pending.definition).join(', ')}) seen ${p.pending.seenAt}` : 'pinned';
        process.stdout.write(`${[p.tool, state, p.hash.slice(0, 12), p.server].map(printable).join('\t')}\n`);
      }
    });
  pins
    .command('diff')
    .description('show what changed, field by field, in each definition waiting for acceptance')
    .argument('[tools...]', 'only these tools')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', DSN_HELP)
    .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
    .option('--server <name>', 'only this server (its command line, or --server-name)')
    .option('--json', 'print JSON: [{server, tool, pinned_hash, hash, seen_at, changes: [{path, kind, before, after}]}]')
    .action(async (tools: string[], opts: PinsOptions) => {
      const list = await listPins(opts);
      const pending = list.filter((p) => p.pending && (tools.length === 0 || tools.includes(p.tool)));
      const diffs = pending.map((p) => ({
        server: p.server,
        tool: p.tool,
        pinned_hash: p.hash,
        hash: p.pending!.hash,
        seen_at: p.pending!.seenAt,
        changes: diffDefinitions(p.definition, p.pending!.definition),
      }));
      if (opts.json) {
        process.stdout.write(JSON.stringify(diffs, null, 2) + '\n');
        return;
      }
      if (diffs.length === 0) process.stdout.write('no changed definitions are waiting for acceptance\n');
      for (const d of diffs) {
        // Names, descriptions and schemas come from the server: escaped before they reach a terminal.
        process.stdout.write(
          `${printable(`${d.tool} (server ${d.server}): pinned ${d.pinned_hash.slice(0, 12)}, changed to ${d.hash.slice(0, 12)} seen ${d.seen_at}`)}\n`,
        );
        process.stdout.write(`${formatChanges(d.changes).map(printable).join('\n')}\n`);
      }
    });
  pins
    .command('accept')
    .description('accept the changed definition of a tool (or, with --all, of every changed tool of one server), releasing it')
    .argument('[tool]', 'tool name')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', DSN_HELP)
    .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
    .option('--server <name>', 'the server, when several pin a tool of that name (required with --all)')
    .option('--all', 'accept every changed definition of the --server (review them with toolgate pins diff first)')
    .action(async (tool: string | undefined, opts: PinsOptions) => {
      if (opts.all ? tool !== undefined || !opts.server : tool === undefined) {
        throw new Error(opts.all ? 'use --all with --server NAME and no tool name' : 'name the tool to accept, or use --server NAME --all');
      }
      const store = await openStore(opts);
      try {
        const waiting = (await store.list(opts.server)).filter((p) => p.pending && (opts.all || p.tool === tool));
        if (opts.all) {
          if (waiting.length === 0) throw new Error(`no changed definition of server ${JSON.stringify(opts.server)} is waiting for acceptance`);
          let missed = 0;
          for (const p of waiting) {
            if (await store.accept(p.server, p.tool, new Date()))
              process.stdout.write(`${printable(`accepted the new definition of ${p.tool} (${p.pending!.hash.slice(0, 12)})`)}\n`);
            else {
              missed++;
              process.stderr.write(`${printable(`toolgate: the change of "${p.tool}" was accepted or replaced meanwhile; run pins diff again`)}\n`);
            }
          }
          if (missed > 0) process.exitCode = 1;
          return;
        }
        if (waiting.length === 0) throw new Error(`no changed definition of "${tool}" is waiting for acceptance`);
        if (waiting.length > 1) {
          throw new Error(`"${tool}" changed on several servers; choose one with --server: ${waiting.map((c) => JSON.stringify(c.server)).join(', ')}`);
        }
        if (!(await store.accept(waiting[0]!.server, tool!, new Date())))
          throw new Error(`the change of "${tool}" was accepted or replaced meanwhile; run pins list again`);
        process.stdout.write(`${printable(`accepted the new definition of ${tool} (${waiting[0]!.server})`)}\n`);
      } finally {
        store.close();
      }
    });
}

/** Every pin (of one server with --server), the store closed again. */
async function listPins(opts: PinsOptions): Promise<Pin[]> {
  const store = await openStore(opts);
  try {
    return await store.list(opts.server);
  } finally {
    store.close();
  }
}
