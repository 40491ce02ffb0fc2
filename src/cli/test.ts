import type { Command } from 'commander';
import { formatPolicyError } from '../policy/index.js';
import { runTestFile, summarize } from '../policytest/index.js';
import type { FileResult } from '../policytest/index.js';

/** `toolgate test FILE... [--json]`: run policy unit tests; exit 1 on any failure. */
export function registerTest(program: Command): void {
  program
    .command('test')
    .description('Run policy unit tests (cases of calls with the expected decision)')
    .argument('<files...>', 'test files (YAML or JSON)')
    .option('--policy <file>', 'run the cases against this policy instead of the one each test file names')
    .option('--json', 'print the results as JSON')
    .action(async (files: string[], opts: { json?: boolean; policy?: string }) => {
      const results: FileResult[] = [];
      for (const f of files) results.push(await runTestFile(f, opts.policy !== undefined ? { policy: opts.policy } : {}));
      const sum = summarize(results);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ files: results, ...sum }, null, 2)}\n`);
      } else {
        const out: string[] = [];
        for (const r of results) {
          if (files.length > 1) out.push(`${r.file}`);
          for (const e of r.errors) out.push(formatPolicyError(e));
          for (const n of r.notes ?? []) out.push(`note: ${n}`);
          for (const c of r.cases) {
            out.push(`${c.passed ? '✓' : '✗'} ${c.name}`);
            for (const why of c.failures) out.push(`    ${why}`);
          }
        }
        out.push(`${sum.passed} passed, ${sum.failed} failed`);
        process.stdout.write(`${out.join('\n')}\n`);
      }
      if (sum.failed > 0 || sum.broken > 0) process.exitCode = 1;
    });
}
