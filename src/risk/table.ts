// The `classify` table: aligned columns, one tool a line.
import type { Classification } from './types.js';

/** An aligned text table of tool name, category, risk, confidence and the reasons. */
export function formatTable(rows: ReadonlyArray<{ name: string } & Classification>): string {
  const head = { name: 'TOOL', category: 'CATEGORY', risk: 'RISK', confidence: 'CONF', reason: 'REASONS' };
  const lines = rows.map((r) => ({
    name: r.name.replace(/\s+/g, ' '),
    category: r.category,
    risk: r.risk,
    confidence: r.confidence.toFixed(2),
    // The reasons that decided, most important first; the rest are in --json.
    reason: r.reasons.slice(0, 2).join('; ').replace(/\s+/g, ' '),
  }));
  const wName = Math.max(head.name.length, ...lines.map((l) => l.name.length));
  const wCat = Math.max(head.category.length, ...lines.map((l) => l.category.length));
  const wRisk = Math.max(head.risk.length, ...lines.map((l) => l.risk.length));
  const fmt = (l: typeof head): string =>
    `${l.name.padEnd(wName)}  ${l.category.padEnd(wCat)}  ${l.risk.padEnd(wRisk)}  ${l.confidence.padEnd(4)}  ${l.reason}`.trimEnd();
  return [fmt(head), ...lines.map(fmt)].join('\n') + '\n';
}
