// `toolgate audit verify|query|export|prune|flush`: read and maintain the audit log.
import { createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import {
  CHECKPOINT_FILE,
  csvHeader,
  formatRecordLine,
  formatVerify,
  newMaintenanceInstance,
  openAuditReader,
  openAuditWriter,
  parseDuration,
  parseSince,
  journaledRecords,
  readCheckpoints,
  readHmacKeyFile,
  storeId,
  toCsvLine,
  UNKNOWN_OUTCOME,
  unknownOutcomes,
  toJsonLine,
  verifyRecords,
  type AuditFilter,
  type AuditKind,
  type AuditLocation,
} from '../audit/index.js';
import { resolveStateDir } from '../state/index.js';

export interface AuditLocationOptions {
  stateDir?: string;
  auditDsn?: string;
  auditSchema?: string;
}

/** `--state-dir`, `--audit-dsn`, `--audit-schema`: where the log is. */
export function addAuditLocationOptions(cmd: Command): Command {
  return cmd
    .option('--state-dir <dir>', 'state directory holding audit.db (default ~/.toolgate, or $TOOLGATE_HOME)')
    .option('--audit-dsn <dsn>', 'PostgreSQL audit store (postgres://...); default the SQLite log in the state directory')
    .option('--audit-schema <schema>', "PostgreSQL schema of the audit tables (default: the DSN's ?schema=, else public)");
}

export function auditLocation(opts: AuditLocationOptions): AuditLocation {
  return {
    stateDir: resolveStateDir({ stateDir: opts.stateDir }, process.env),
    ...(opts.auditDsn ? { dsn: opts.auditDsn } : {}),
    ...(opts.auditSchema ? { schema: opts.auditSchema } : {}),
  };
}

interface QueryOptions extends AuditLocationOptions {
  since?: string;
  until?: string;
  tool?: string;
  decision?: string;
  identity?: string;
  instance?: string;
  kind?: string;
  limit?: string;
  json?: boolean;
}

function filterOf(o: QueryOptions): AuditFilter {
  const f: AuditFilter = {};
  if (o.since) f.sinceMs = parseSince(o.since);
  if (o.until) f.untilMs = parseSince(o.until);
  if (o.tool) f.tool = o.tool;
  if (o.decision) f.decision = o.decision;
  if (o.identity) f.identity = o.identity;
  if (o.instance) f.instance = o.instance;
  if (o.kind) f.kind = o.kind.split(',').map((k) => k.trim()) as AuditKind[];
  if (o.limit) {
    const n = Number(o.limit);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--limit must be a positive whole number, got "${o.limit}"`);
    f.limit = n;
  }
  return f;
}

function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--since <when>', 'only records since a duration back (1h, 30m, 7d) or an ISO time')
    .option('--until <when>', 'only records before a duration back or an ISO time')
    .option('--tool <name>', 'only calls of this tool')
    .addOption(
      new Option('--decision <decision>', 'only this decision').choices([
        'allowed',
        'denied',
        'error',
        'approval_requested',
        'approval_approved',
        'approval_denied',
        'approval_expired',
        'would_deny',
      ]),
    )
    .option('--identity <who>', 'only calls by this identity')
    .option('--instance <id>', 'only records of this gateway instance')
    .option('--kind <kinds>', 'only these record kinds (decision,outcome,startup,shutdown,config_reload,checkpoint)');
}

export function registerAudit(program: Command): void {
  const audit = new Command('audit').description('Read, verify and maintain the audit log');

  addAuditLocationOptions(
    audit
      .command('verify')
      .description('Check every hash chain; name the first changed, deleted, inserted or reordered record (exit 1 if any)')
      .option('--hmac-key-file <file>', 'the HMAC key the gateway signed with (--audit-hmac-key-file)')
      .option('--no-checkpoints', 'do not require the signed checkpoints (a SQLite log written before toolgate kept them)')
      .option('--json', 'print the result as JSON'),
  ).action(async (o: AuditLocationOptions & { hmacKeyFile?: string; checkpoints: boolean; json?: boolean }) => {
    const key = o.hmacKeyFile ? readHmacKeyFile(o.hmacKeyFile) : undefined;
    const loc = auditLocation(o);
    const reader = await openAuditReader(loc);
    try {
      const records = await reader.chainRecords();
      const cps = readCheckpoints(loc.stateDir, storeId(loc));
      const res = verifyRecords(records, {
        ...(key ? { key } : {}),
        ...(cps.file || cps.checkpoints.length > 0 ? { checkpoints: cps.checkpoints, pending: journaledRecords(loc.stateDir) } : {}),
      });
      // Every writer of a SQLite log keeps the checkpoint file beside it (audit.db exists, so one ran): its absence hides any truncation.
      if (!cps.file && reader.kind === 'sqlite' && o.checkpoints) {
        res.ok = false;
        res.problems.push({
          kind: 'unverifiable',
          instance: '*',
          message: `no checkpoint file (${CHECKPOINT_FILE}) in ${loc.stateDir}: deleted records at the end of a chain, or whole chains, cannot be ruled out`,
        });
      }
      // Not a failure of the log: calls whose gateway died in flight, not yet closed by a next gateway.
      const unknown = [...(await unknownOutcomes(reader, records, { host: hostname(), now: Date.now() }))];
      if (cps.unreadable > 0)
        process.stderr.write(`toolgate: ${cps.unreadable} line(s) of the checkpoint file or event log could not be read as checkpoints\n`);
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ ...res, unknown_outcomes: unknown.map((r) => ({ instance: r.instance, n: r.n, session: r.session, request_id: r.request_id, tool: r.tool, ts: r.ts })) }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(`${formatVerify(res)}\n`);
        if (unknown.length > 0) {
          process.stdout.write(
            `note: ${unknown.length} call(s) were in flight when their gateway died (outcome unknown until the next gateway on this store records it):\n`,
          );
          for (const r of unknown) process.stdout.write(`  ${formatRecordLine(r)}\n`);
        }
      }
      if (!res.ok) process.exitCode = 1;
    } finally {
      await reader.close();
    }
  });

  addFilterOptions(
    addAuditLocationOptions(
      audit
        .command('query')
        .description('Print audit records, oldest first')
        .option('--limit <n>', 'only the newest N records')
        .option('--json', 'one JSON object per line'),
    ),
  ).action(async (o: QueryOptions) => {
    const filter = filterOf(o);
    const reader = await openAuditReader(auditLocation(o));
    try {
      const recs = await reader.records(filter);
      // A call forwarded by a gateway that died, not yet closed by a next gateway: its outcome is unknown.
      const unknown = await unknownOutcomes(reader, recs, { host: hostname(), now: Date.now() });
      const lines = recs.map((r) =>
        o.json
          ? toJsonLine(r, unknown.has(r) ? { outcome: UNKNOWN_OUTCOME, outcome_derived: true } : undefined)
          : formatRecordLine(r) + (unknown.has(r) ? `  outcome=${UNKNOWN_OUTCOME} (its gateway died)` : ''),
      );
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
      else if (!o.json) process.stderr.write('no records match\n');
    } finally {
      await reader.close();
    }
  });

  addFilterOptions(
    addAuditLocationOptions(
      audit
        .command('export')
        .description('Write audit records (with their hashes) as JSON lines or CSV')
        .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
        .option('-o, --output <file>', 'write to a file instead of stdout'),
    ),
  ).action(async (o: QueryOptions & { format: 'jsonl' | 'csv'; output?: string }) => {
    const filter = filterOf(o);
    const reader = await openAuditReader(auditLocation(o));
    try {
      const recs = await reader.records(filter);
      const out = o.output ? createWriteStream(o.output, { mode: 0o600 }) : process.stdout;
      const body = o.format === 'csv' ? [csvHeader(), ...recs.map(toCsvLine)] : recs.map((r) => toJsonLine(r));
      await new Promise<void>((resolve, reject) => {
        const text = body.length ? `${body.join('\n')}\n` : '';
        if (out === process.stdout) {
          out.write(text, (err) => (err ? reject(err) : resolve()));
        } else {
          out.on('error', reject);
          out.end(text, () => resolve());
        }
      });
      if (o.output) process.stderr.write(`wrote ${recs.length} record(s) to ${o.output}\n`);
    } finally {
      await reader.close();
    }
  });

  addAuditLocationOptions(
    audit
      .command('prune')
      .description('Delete records older than a duration; a checkpoint record keeps the rest verifiable')
      .requiredOption('--older-than <duration>', 'e.g. 30d')
      .option('--audit-hmac-key-file <file>', 'sign the checkpoint record with this HMAC key'),
  ).action(async (o: AuditLocationOptions & { olderThan: string; auditHmacKeyFile?: string }) => {
    const ms = parseDuration(o.olderThan);
    const writer = await openAuditWriter({
      ...auditLocation(o),
      instance: newMaintenanceInstance(),
      heartbeatMs: 0,
      ...(o.auditHmacKeyFile ? { hmacKeyFile: o.auditHmacKeyFile } : {}),
    });
    try {
      const res = await writer.prune(Date.now() - ms);
      process.stdout.write(res.deleted ? `pruned ${res.deleted} record(s); checkpoint written by ${writer.instance}\n` : 'nothing to prune\n');
    } finally {
      await writer.close();
    }
  });

  addAuditLocationOptions(audit.command('flush').description('Ship records waiting in the local spool to PostgreSQL (after a crash or an outage)')).action(
    async (o: AuditLocationOptions) => {
      const loc = auditLocation(o);
      if (!loc.dsn) throw new Error('flush needs --audit-dsn postgres://... (the SQLite log has no spool)');
      const writer = await openAuditWriter({ ...loc, instance: newMaintenanceInstance(), heartbeatMs: 0 });
      await writer.flush();
      await writer.close();
      process.stdout.write('spool flushed\n');
    },
  );

  program.addCommand(audit);
}
