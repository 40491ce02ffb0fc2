// The `classify` table: aligned columns, one tool a line.
import type { Classification } from './types.js';

/** An aligned text table of tool name, category, risk and top reason. */
export function formatTable(rows: ReadonlyArray<{ name: string } & Classification>): string {
  const head = { name: 'TOOL', category: 'CATEGORY', risk: 'RISK', reason: 'REASON' };
  const lines = rows.map((r) => ({
    name: r.name.replace(/\s+/g, ' '),
    category: r.category,
    risk: r.risk,
    reason: r.reasons[0] ?? '',
  }));
  const wName = Math.max(head.name.length, ...lines.map((l) => l.name.length));
  const wCat = Math.max(head.category.length, ...lines.map((l) => l.category.length));
  const wRisk = Math.max(head.risk.length, ...lines.map((l) => l.risk.length));
  const fmt = (l: typeof head): string =>
    `${l.name.padEnd(wName)}  ${l.category.padEnd(wCat)}  ${l.risk.padEnd(wRisk)}  ${l.reason}`.trimEnd();
  return [fmt(head), ...lines.map(fmt)].join('\n') + '\n';
}
