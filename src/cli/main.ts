#!/usr/bin/env node
// The toolgate command line. Each command lives in its own file and only wires
// objects together; the work happens in the rooms under src/.
//
// Subcommands are loaded on demand: the bare gateway (`toolgate -c p.yaml -- cmd`)
// is on every agent's start-up path and must not pay for the MCP client, the
// classifier or the dashboard.
import type { Command } from 'commander';
import { discardPrestarted, prestart } from './prestart.js';

// The server of a plain stdio gateway starts first (see prestart.ts); the rest loads while it boots.
prestart(process.argv);

type Register = (program: Command) => void;

const SUBCOMMANDS: Record<string, () => Promise<Register>> = {
  validate: async () => (await import('./validate.js')).registerValidate,
  explain: async () => (await import('./explain.js')).registerExplain,
  test: async () => (await import('./test.js')).registerTest,
  convert: async () => (await import('./convert.js')).registerConvert,
  demo: async () => (await import('./demo.js')).registerDemo,
  classify: async () => (await import('./classify.js')).registerClassify,
  scan: async () => (await import('./scan.js')).registerScan,
  pins: async () => (await import('./pins.js')).registerPins,
  grant: async () => (await import('./grant.js')).registerGrant,
  approvals: async () => (await import('./approvals.js')).registerApprovals,
  audit: async () => (await import('./audit.js')).registerAudit,
  status: async () => (await import('./status.js')).registerStatus,
  catalog: async () => (await import('./catalog.js')).registerCatalog,
  dashboard: async () => (await import('./dashboard.js')).registerDashboard,
  serve: async () => (await import('./serve.js')).registerServe,
};

async function main(argv: string[]): Promise<void> {
  const [{ Command }, { registerRun }, { VERSION }] = await Promise.all([import('commander'), import('./run.js'), import('./version.js')]);
  const program = new Command('toolgate')
    .description('Deterministic policy gateway for the Model Context Protocol')
    .version(VERSION)
    .enablePositionalOptions();
  registerRun(program);

  const first = argv[2];
  const wantsHelp = argv.length <= 2 || first === 'help' || argv.includes('--help') || argv.includes('-h');
  const names = first !== undefined && first in SUBCOMMANDS ? [first] : wantsHelp ? Object.keys(SUBCOMMANDS) : [];
  for (const name of names) (await SUBCOMMANDS[name]!())(program);

  await program.parseAsync(argv);
  await discardPrestarted();
}

main(process.argv).catch((err: unknown) => {
  void discardPrestarted();
  process.stderr.write(`toolgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = process.exitCode || 1;
  // A command that failed must end even if something it opened (a watcher, a timer) would keep it alive.
  setTimeout(() => process.exit(process.exitCode), 1000).unref();
});
