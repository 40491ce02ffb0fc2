// `toolgate pins list | accept TOOL`: the pinned tool definitions, and
// accepting a changed definition so the gateway releases the tool. With
// --state-dsn the pins are the gateways' shared ones in Redis: an acceptance is
// published and every instance releases the tool at once.
import { printable } from '../text/index.js';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkRedisDsn, resolveStateDir } from '../state/index.js';
import { describeChange, SqlitePinStore, type Pin } from '../pins/index.js';

interface PinsOptions {
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  server?: string;
  json?: boolean;
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

const DSN_HELP = "the gateways' shared Redis (redis://[user:pass@]host:port[/db], rediss://, or redis+cluster://host:port for a Redis Cluster) instead of the state directory";

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
      const store = await openStore(opts);
      let list: Pin[];
      try {
        list = await store.list(opts.server);
      } finally {
        store.close();
      }
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
    .command('accept')
    .description('accept the changed definition of a tool, releasing it')
    .argument('<tool>', 'tool name')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', DSN_HELP)
    .option('--state-prefix <prefix>', 'key prefix of the shared state (default "toolgate:")')
    .option('--server <name>', 'the server, when several pin a tool of that name')
    .action(async (tool: string, opts: PinsOptions) => {
      const store = await openStore(opts);
      try {
        const candidates = (await store.list(opts.server)).filter((p) => p.tool === tool && p.pending);
        if (candidates.length === 0) throw new Error(`no changed definition of "${tool}" is waiting for acceptance`);
        if (candidates.length > 1) {
          throw new Error(`"${tool}" changed on several servers; choose one with --server: ${candidates.map((c) => JSON.stringify(c.server)).join(', ')}`);
        }
        if (!(await store.accept(candidates[0]!.server, tool, new Date()))) throw new Error(`the change of "${tool}" was accepted or replaced meanwhile; run pins list again`);
        process.stdout.write(`${printable(`accepted the new definition of ${tool} (${candidates[0]!.server})`)}\n`);
      } finally {
        store.close();
      }
    });
}
