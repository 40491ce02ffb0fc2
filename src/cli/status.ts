// `toolgate status`: instances (alive, dead, stopped), totals, deny rate,
// calls per minute over the last 5 minutes, top deny rules and recent
// denials, across every instance writing to the audit log.
import type { Command } from 'commander';
import { computeStatus, formatStatus, openAuditReader, parseSince } from '../audit/index.js';
import { addAuditLocationOptions, auditLocation, type AuditLocationOptions } from './audit.js';

export function registerStatus(program: Command): void {
  addAuditLocationOptions(
    program
      .command('status')
      .description('Show gateway instances and recent decisions from the audit log')
      .option('--since <when>', 'count calls since a duration back or an ISO time', '24h')
      .option('--recent <n>', 'how many recent denials to show', '10')
      .option('--json', 'print the status as JSON'),
  ).action(async (o: AuditLocationOptions & { since: string; recent: string; json?: boolean }) => {
    const now = Date.now();
    const sinceMs = Math.min(parseSince(o.since, now), now - 5 * 60_000);
    const reader = await openAuditReader(auditLocation(o));
    try {
      const [records, instances] = await Promise.all([reader.records({ sinceMs, kind: ['decision', 'outcome', 'startup', 'shutdown'] }), reader.instances()]);
      const report = computeStatus(records, instances, { now, sinceMs, recent: Number(o.recent) || 10 });
      process.stdout.write(`${o.json ? JSON.stringify(report, null, 2) : formatStatus(report)}\n`);
    } finally {
      await reader.close();
    }
  });
}
