// `toolgate pins list | accept TOOL`: the pinned tool definitions, and
// accepting a changed definition so the gateway releases the tool.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveStateDir } from '../state/index.js';
import { describeChange, SqlitePinStore } from '../pins/index.js';

interface PinsOptions {
  stateDir?: string;
  server?: string;
  json?: boolean;
}

function openStore(opts: PinsOptions): SqlitePinStore {
  const dir = resolveStateDir({ stateDir: opts.stateDir }, process.env);
  if (!existsSync(join(dir, 'state.db'))) throw new Error(`no toolgate state in ${dir} (use --state-dir)`);
  return SqlitePinStore.inStateDir(dir);
}

export function registerPins(program: Command): void {
  const pins = program.command('pins').description('pinned tool definitions (rug-pull defence)');
  pins
    .command('list')
    .description('list pinned tools; changed definitions waiting for acceptance are marked CHANGED')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate or $TOOLGATE_HOME)')
    .option('--server <name>', 'only this server (its command line, or --server-name)')
    .option('--json', 'print JSON')
    .action((opts: PinsOptions) => {
      const store = openStore(opts);
      const list = store.list(opts.server);
      store.close();
      if (opts.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      if (list.length === 0) process.stdout.write('no pinned tools\n');
      for (const p of list) {
        const state = p.pending ? `CHANGED (${describeChange(p.definition, p.pending.definition).join(', ')}) seen ${p.pending.seenAt}` : 'pinned';
        process.stdout.write(`${p.tool}\t${state}\t${p.hash.slice(0, 12)}\t${p.server}\n`);
      }
    });
  pins
    .command('accept')
    .description('accept the changed definition of a tool, releasing it')
    .argument('<tool>', 'tool name')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate or $TOOLGATE_HOME)')
    .option('--server <name>', 'the server, when several pin a tool of that name')
    .action((tool: string, opts: PinsOptions) => {
      const store = openStore(opts);
      try {
        const candidates = store.list(opts.server).filter((p) => p.tool === tool && p.pending);
        if (candidates.length === 0) throw new Error(`no changed definition of "${tool}" is waiting for acceptance`);
        if (candidates.length > 1) {
          throw new Error(`"${tool}" changed on several servers; choose one with --server: ${candidates.map((c) => JSON.stringify(c.server)).join(', ')}`);
        }
        store.accept(candidates[0]!.server, tool, new Date());
        process.stdout.write(`accepted the new definition of ${tool} (${candidates[0]!.server})\n`);
      } finally {
        store.close();
      }
    });
}
