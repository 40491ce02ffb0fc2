// What the gateway needs from the audit room in one call: the writer, with
// retention pruning at start-up and then every hour when asked for.
import { openAuditWriter, type OpenAuditWriterOptions } from './open.js';
import { parseDuration } from './duration.js';
import type { AuditLog } from './writer.js';

export interface GatewayAuditOptions extends OpenAuditWriterOptions {
  /** `--audit-retention 30d`: prune records older than this. */
  retention?: string;
  /** How often to prune again (ms). Default 1 hour. */
  pruneEveryMs?: number;
  onPruned?: (deleted: number) => void;
  onPruneError?: (err: unknown) => void;
}

/** Open the gateway's audit writer; start retention pruning if asked. Bad flags throw before anything is written. */
export async function openGatewayAudit(opts: GatewayAuditOptions): Promise<AuditLog> {
  const retentionMs = opts.retention ? parseDuration(opts.retention) : undefined;
  if (retentionMs !== undefined && retentionMs < 60_000) throw new Error(`--audit-retention ${opts.retention} is too short; keep at least 1m`);
  const log = await openAuditWriter(opts);
  if (retentionMs !== undefined) {
    const prune = () => {
      log
        .prune(Date.now() - retentionMs)
        .then((r) => r.deleted && opts.onPruned?.(r.deleted))
        .catch((err: unknown) => opts.onPruneError?.(err));
    };
    // After start-up, so the startup record is the first thing this instance writes.
    setTimeout(prune, 1000).unref();
    const timer = setInterval(prune, opts.pruneEveryMs ?? 3_600_000);
    timer.unref();
    const close = log.close.bind(log);
    log.close = async () => {
      clearInterval(timer);
      await close();
    };
  }
  return log;
}
