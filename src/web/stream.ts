// GET /api/stream: Server-Sent Events that follow the audit log. It polls the
// store (every gateway writes there, in any process) and sends each new call
// row once, in order; a heartbeat comment keeps idle proxies from closing it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallFilter } from './calls.js';
import type { DashboardData } from './data.js';

export interface StreamOptions {
  pollMs: number;
  heartbeatMs: number;
  /** Where the stream puts its stop function while it runs (the dashboard's close ends them all). */
  streams: Set<() => void>;
}

/** Follow the calls after `after` (default: the newest now) that match `f`, until either side closes. */
export async function followCalls(req: IncomingMessage, res: ServerResponse, data: DashboardData, f: CallFilter, after: number | undefined, o: StreamOptions) {
  let last = after ?? (await data.lastSeq());
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ last_seq: last })}\n\n`);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const heartbeat = setInterval(() => res.write(': ping\n\n'), o.heartbeatMs);
  heartbeat.unref();
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(heartbeat);
    if (timer) clearTimeout(timer);
    o.streams.delete(stop);
    res.end();
  };
  o.streams.add(stop);
  req.on('close', stop);
  res.on('close', stop);
  let failing = false;
  const tick = async () => {
    if (stopped) return;
    try {
      const { rows, lastSeq } = await data.callsAfter(last, f);
      last = lastSeq;
      for (const row of rows) res.write(`id: ${row.seq ?? last}\nevent: call\ndata: ${JSON.stringify(row)}\n\n`);
      if (failing) res.write(`event: recovered\ndata: {}\n\n`);
      failing = false;
    } catch (err) {
      if (!failing) res.write(`event: problem\ndata: ${JSON.stringify({ message: err instanceof Error ? err.message : String(err) })}\n\n`);
      failing = true;
    }
    if (!stopped) timer = setTimeout(() => void tick(), o.pollMs);
  };
  timer = setTimeout(() => void tick(), 0);
}
