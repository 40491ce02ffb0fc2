// `toolgate classify FILE|-`: classify tool definitions and print a table or JSON.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { classifyTools, formatTable, parseToolList } from '../risk/index.js';
import { printable } from '../text/index.js';

export function registerClassify(program: Command): void {
  program
    .command('classify')
    .description('Classify MCP tools by risk (Read, Write, Execute, Destructive, Financial)')
    .argument('<file>', 'a JSON array of tool definitions or a tools/list result {"tools": [...]}; - reads stdin')
    .option('--json', 'print a JSON array of {name, category, risk, reasons} in input order')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const source = file === '-' ? 'stdin' : file;
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (err) {
          throw new Error(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        const tools = parseToolList(text, source);
        // One listing: what all its tools share (a preamble, a hint on every tool) tells nothing.
        const classified = classifyTools(tools);
        const rows = tools.map((t, i) => ({ name: t.name, ...classified[i]! }));
        // Names and reasons come from the server's definitions: escaped before they reach a terminal.
        process.stdout.write(
          opts.json
            ? JSON.stringify(rows, null, 2) + '\n'
            : formatTable(rows.map((r) => ({ ...r, name: printable(r.name), reasons: r.reasons.map(printable) }))),
        );
      } catch (err) {
        process.stderr.write(`toolgate classify: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
      }
    });
}
