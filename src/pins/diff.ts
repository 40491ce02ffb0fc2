// What changed between a pinned tool definition and the one a server shows
// now, field by field, for a person deciding whether to accept it.
import diff from 'microdiff';
import type { PinnedDefinition } from './index.js';

export interface FieldChange {
  /** Dotted path into the definition, e.g. `inputSchema.properties.path.type`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** Every leaf that differs, in a stable order (by path). */
export function diffDefinitions(before: PinnedDefinition, after: PinnedDefinition): FieldChange[] {
  const changes = diff(before as unknown as Record<string, unknown>, after as unknown as Record<string, unknown>).map((d): FieldChange => {
    const path = d.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$-]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`))
      .join('')
      .replace(/^\./, '');
    if (d.type === 'CREATE') return { path, kind: 'added', after: d.value };
    if (d.type === 'REMOVE') return { path, kind: 'removed', before: d.oldValue };
    return { path, kind: 'changed', before: d.oldValue, after: d.value };
  });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const show = (v: unknown) => JSON.stringify(v);

/** Lines for a terminal: long texts (descriptions) as -/+ lines, the rest as `path: before -> after`. */
export function formatChanges(changes: readonly FieldChange[], indent = '  '): string[] {
  const lines: string[] = [];
  for (const c of changes) {
    const long = [c.before, c.after].some((v) => typeof v === 'string' && v.length > 60);
    if (c.kind === 'added') lines.push(`${indent}${c.path}: added ${show(c.after)}`);
    else if (c.kind === 'removed') lines.push(`${indent}${c.path}: removed (was ${show(c.before)})`);
    else if (long) lines.push(`${indent}${c.path}:`, `${indent}  - ${show(c.before)}`, `${indent}  + ${show(c.after)}`);
    else lines.push(`${indent}${c.path}: ${show(c.before)} -> ${show(c.after)}`);
  }
  return lines;
}
