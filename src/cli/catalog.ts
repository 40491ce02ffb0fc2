// `toolgate catalog list | show NAME | init NAME`: ready policies for popular MCP servers,
// shipped in the package, and the pins of their tools.
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { findEntry, formatCategories, loadCatalogue, readEntryDefinitions, readEntryPolicy, seedPins, type CatalogueEntry } from '../catalogue/index.js';
import type { PinnedDefinition } from '../pins/index.js';
import { classifyToolsDetail, formatToolPage, toolPage, type ToolDefinition } from '../risk/index.js';

interface InitFlags {
  output?: string;
  stateDir?: string;
  serverName?: string;
  force?: boolean;
}

export function registerCatalog(program: Command): void {
  const catalog = program.command('catalog').description('ready policies for popular MCP servers, with the pins of their tools');

  catalog
    .command('list')
    .description('list the catalogue: name, package, version, tools, categories')
    .option('--json', 'print the catalogue index as JSON')
    .action((flags: { json?: boolean }) =>
      guard(() => {
        const cat = loadCatalogue();
        if (flags.json) {
          process.stdout.write(
            JSON.stringify(
              cat.entries.map(({ tools: _tools, ...e }) => e),
              null,
              2,
            ) + '\n',
          );
          return;
        }
        const rows = cat.entries.map((e) => [e.name, e.package, e.version, String(e.toolCount), formatCategories(e.categories)]);
        process.stdout.write(table([['NAME', 'PACKAGE', 'VERSION', 'TOOLS', 'CATEGORIES'], ...rows]));
      }),
    );

  catalog
    .command('show')
    .description(
      'print the policy of a catalogue entry after a summary (as comments, so the output is a valid policy); with a tool name, the page of that tool',
    )
    .argument('<name>', 'entry name (see catalog list) or package name')
    .argument('[tool]', 'a tool of the entry: its class, level, reasons, recommended rule, attack patterns and controls')
    .option('--json', 'machine-readable: the page of the tool, or the pages of every tool of the entry')
    .action((name: string, tool: string | undefined, flags: { json?: boolean }) =>
      guard(() => {
        const cat = loadCatalogue();
        const entry = findEntry(cat, name);
        if (tool === undefined && !flags.json) {
          process.stdout.write(summary(entry) + '\n' + readEntryPolicy(cat, entry));
          return;
        }
        const definitions = readEntryDefinitions(cat, entry);
        // Each tool read within its server's listing, as `scan` reads it.
        const tools = definitions.map(toolDefinition);
        const verdicts = classifyToolsDetail(tools);
        const pages = tools.flatMap((d, i) => (tool === undefined || d.name === tool ? [toolPage(entry.name, d, verdicts[i])] : []));
        if (tool !== undefined && pages.length === 0) {
          throw new Error(`"${entry.name}" has no tool "${tool}"; its tools: ${definitions.map((d) => d.name).join(', ')}`);
        }
        if (flags.json) {
          const { tools: _pins, ...about } = entry;
          process.stdout.write(JSON.stringify(tool === undefined ? { ...about, tools: pages } : pages[0], null, 2) + '\n');
        } else {
          process.stdout.write(formatToolPage(pages[0]!));
        }
      }),
    );

  catalog
    .command('init')
    .description('write the policy of a catalogue entry; with --state-dir also pin its tools for the gateway')
    .argument('<name>', 'entry name (see catalog list) or package name')
    .option('-o, --output <file>', 'where to write the policy ("-" for stdout)', undefined)
    .option('--state-dir <dir>', 'also seed the pins of its tools into this state directory')
    .option('--server-name <name>', 'the server name the pins are recorded under; run the gateway with the same --server-name (default: the entry name)')
    .option('-f, --force', 'overwrite the output file if it exists')
    .action(async (name: string, flags: InitFlags) =>
      guardAsync(async () => {
        const cat = loadCatalogue();
        const entry = findEntry(cat, name);
        const policy = readEntryPolicy(cat, entry);
        // Check the definitions against their pins before writing anything.
        const definitions = flags.stateDir !== undefined ? readEntryDefinitions(cat, entry) : undefined;
        const output = flags.output ?? `${entry.name}.yaml`;
        const toStdout = output === '-';
        const say = (m: string): void => {
          (toStdout ? process.stderr : process.stdout).write(m + '\n');
        };
        if (!toStdout && existsSync(output) && !flags.force) throw new Error(`${output} exists; use --force to overwrite it, or -o FILE`);
        const serverName = flags.serverName ?? entry.name;
        if (flags.serverName !== undefined && flags.stateDir === undefined)
          throw new Error('--server-name names the server the pins are seeded for: it needs --state-dir');
        if (serverName.trim() === '') throw new Error('--server-name must not be empty');

        if (definitions && flags.stateDir !== undefined) {
          const [{ resolveStateDir, ensureStateDir }, { SqlitePinStore }] = await Promise.all([import('../state/index.js'), import('../pins/index.js')]);
          const dir = ensureStateDir(resolveStateDir({ stateDir: flags.stateDir }, process.env));
          const store = SqlitePinStore.inStateDir(dir);
          let report;
          try {
            report = seedPins(store, serverName, definitions, new Date());
          } finally {
            store.close();
          }
          say(
            `pinned ${report.seeded.length} tool definitions of ${entry.package}@${entry.version} for server "${serverName}" in ${dir}` +
              (report.unchanged.length ? ` (${report.unchanged.length} already pinned)` : ''),
          );
          if (report.differing.length > 0) {
            say(`kept ${report.differing.length} existing pins that differ from the catalogue: ${report.differing.join(', ')}`);
          }
        }

        if (toStdout) process.stdout.write(policy);
        else {
          writeFileSync(output, policy);
          say(`wrote ${output} (${entry.toolCount} tools: ${formatCategories(entry.categories)})`);
        }
        const stateArgs =
          flags.stateDir !== undefined ? ` --state-dir ${shellQuote(flags.stateDir)} --server-name ${shellQuote(serverName)} --pin enforce` : '';
        say(`review it, then run: toolgate -c ${toStdout ? 'POLICY' : shellQuote(output)}${stateArgs} -- ${entry.launch.map(shellQuote).join(' ')}`);
      }),
    );
}

/** A pinned definition as the classifier reads it (fields of the wrong type are left out). */
function toolDefinition(d: PinnedDefinition): ToolDefinition {
  const def: ToolDefinition = { name: d.name };
  if (typeof d.description === 'string') def.description = d.description;
  if (d.inputSchema !== null && typeof d.inputSchema === 'object') def.inputSchema = d.inputSchema as ToolDefinition['inputSchema'];
  if (d.annotations !== null && typeof d.annotations === 'object') def.annotations = d.annotations as ToolDefinition['annotations'];
  return def;
}

function summary(e: CatalogueEntry): string {
  const lines = [
    `# ${e.name}: ${e.package}@${e.version}${e.description ? ` (${e.description})` : ''}`,
    ...(e.server?.name ? [`#   server:   ${e.server.name}${e.server.version ? ` ${e.server.version}` : ''}`] : []),
    `#   scanned:  ${e.scannedAt} (${e.scan})`,
    `#   launch:   ${e.launch.join(' ')}`,
    `#   tools:    ${e.toolCount} (${formatCategories(e.categories) || 'none'})`,
  ];
  const w = Math.max(0, ...e.tools.map((t) => t.name.length));
  for (const t of e.tools) lines.push(`#     ${t.name.padEnd(w)}  ${t.category.padEnd(11)}  ${t.risk.padEnd(8)}  pin ${t.hash.slice(0, 12)}`);
  return lines.join('\n') + '\n';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function fail(err: unknown): void {
  process.stderr.write(`toolgate catalog: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    fail(err);
  }
}

async function guardAsync(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    fail(err);
  }
}
