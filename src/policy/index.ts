// Front door of the policy room: parse, validate, compile and evaluate policies.
// Everything here is pure except loadPolicyFile, which reads one file.
import { readFileSync } from 'node:fs';
import { LineCounter } from 'yaml';
import { parseIntercept } from './intercept.js';
import { compileConfig } from './compile.js';
import type { CompiledPolicy } from './model.js';

export * from './model.js';
export { decide, countersFor, isToolVisible, rulesFor, isListed, refusedReservation, resolveArgs } from './evaluate.js';
export { globMatcher } from './compile.js';

export interface PolicyError {
  file: string;
  line: number;
  column: number;
  message: string;
  fix?: string;
}

export type LoadResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyError[] };

/** Parse, validate and compile policy text (pure). `file` is only used in errors. Reports all errors, sorted by position. */
export function compilePolicy(text: string, file: string): LoadResult {
  const { config, issues } = parseIntercept(text);
  if (issues.length > 0 || !config) {
    const lc = new LineCounter();
    lc.addNewLine(0);
    let i = 0;
    for (;;) {
      i = text.indexOf('\n', i);
      if (i < 0) break;
      lc.addNewLine(++i);
    }
    const errors = issues
      .map((x, order) => ({ x, order }))
      .sort((a, b) => a.x.offset - b.x.offset || a.order - b.order)
      .map(({ x }) => {
        const pos = lc.linePos(Math.max(0, Math.min(x.offset, text.length)));
        const e: PolicyError = { file, line: pos.line, column: pos.col, message: x.message };
        if (x.fix) e.fix = x.fix;
        return e;
      });
    return { ok: false, errors };
  }
  return { ok: true, policy: compileConfig(config, file) };
}

/** Read a policy file and compile it. A file that cannot be read is one error at 1:1. */
export function loadPolicyFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'policy file not found' : `cannot read policy file: ${(e as Error).message}`;
    return { ok: false, errors: [{ file, line: 1, column: 1, message, fix: 'check the path given with -c/--config' }] };
  }
  return compilePolicy(text, file);
}

/** `file:line:col: message` (and the fix, when known). */
export function formatPolicyError(e: PolicyError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`;
}
