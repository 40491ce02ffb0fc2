// Parsing YAML text into a document with source offsets, and turning the offsets of
// problems found while reading it into file:line:col errors.
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Issue } from './node.js';

/** A problem in a file, where it is and how to fix it. */
export interface SourceError {
  file: string;
  line: number;
  column: number;
  message: string;
  fix?: string;
}

export interface ReadYaml {
  doc: Document;
  /** Syntax errors; when there are any, the document is not worth decoding. */
  issues: Issue[];
  lines: LineCounter;
}

/**
 * Parse YAML keeping every node's source range. `uniqueKeys: false` leaves duplicate keys to
 * the caller (to report them in its own words); true makes them syntax errors.
 */
export function readYaml(text: string, opts: { uniqueKeys: boolean }): ReadYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, keepSourceTokens: true, uniqueKeys: opts.uniqueKeys, strict: true, lineCounter: lines });
  const issues: Issue[] = doc.errors.map((e) => ({
    offset: e.pos[0],
    message: `YAML syntax error: ${e.message}`,
    fix: 'fix the YAML syntax at this position',
  }));
  return { doc, issues, lines };
}

/** Map source offsets to `file:line:col` errors, sorted by position (ties keep their order). */
export function issuesToErrors(text: string, file: string, issues: readonly Issue[]): SourceError[] {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
  return issues
    .map((x, order) => ({ x, order }))
    .sort((a, b) => a.x.offset - b.x.offset || a.order - b.order)
    .map(({ x }) => {
      const pos = lc.linePos(Math.max(0, Math.min(x.offset, text.length)));
      const e: SourceError = { file, line: pos.line, column: pos.col, message: x.message };
      if (x.fix) e.fix = x.fix;
      return e;
    });
}
