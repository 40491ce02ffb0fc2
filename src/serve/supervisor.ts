// Upstream supervision: a MessageChannel toward one MCP server that survives
// the server's death. When the child exits (or the HTTP upstream closes), every
// request still waiting gets a JSON-RPC error (the gateway session then rolls
// its counters back, exactly as for any error answer), the connection is
// reopened after an exponential backoff, initialized again by the gateway, and
// messages sent meanwhile wait for it (requests for at most `holdMs`).
//
// Two ways to initialize:
// - pass-through (a client session at /mcp/<server>): the client's own
//   initialize crosses untouched; the channel remembers it and replays it
//   under a `toolgate-` id after a restart, swallowing the answer;
// - gateway-initialized (the aggregate endpoint): the channel initializes the
//   server itself with the given params, and reports the server's answer.
//
// Health is reported to a HealthBoard shared by every connection of a server.
import type { Logger } from 'pino';
import { classify, ErrorCode, errorResponse, idKey, isPlainObject } from '../mcp/index.js';
import type { Frame, MessageChannel, SendOptions, JsonRpcId, UpstreamHandle } from '../mcp/index.js';

export type ConnectionState = 'idle' | 'starting' | 'up' | 'restarting' | 'down' | 'closed';

export interface BackoffOptions {
  /** First delay (ms), default 250. */
  initialMs?: number;
  /** Largest delay (ms), default 30000. */
  maxMs?: number;
  /** Up this long without dying resets the backoff (ms), default 30000. */
  resetAfterMs?: number;
  /** After this many consecutive failures the server is reported down (still retried), default 5. */
  downAfter?: number;
}

export interface SupervisorOptions {
  server: string;
  open: () => UpstreamHandle;
  log: Logger;
  health?: HealthReporter;
  /** Gateway-initialized: initialize with these params on every start. */
  initParams?: Record<string, unknown>;
  /** The server's initialize answer (gateway-initialized mode, and after replays). */
  onInitialized?: (result: Record<string, unknown>) => void;
  /** After a restart (the tools may have changed). */
  onRestarted?: () => void;
  backoff?: BackoffOptions;
  /** How long a request waits for a (re)start before it is answered with an error (ms), default 30000. */
  holdMs?: number;
  /** How long an initialize may take before the connection counts as failed (ms), default 30000. */
  initTimeoutMs?: number;
}

/** What a connection tells its server's health entry. */
export interface HealthReporter {
  stateChanged(conn: SupervisedUpstream, state: ConnectionState): void;
  restarted(conn: SupervisedUpstream): void;
  failed(conn: SupervisedUpstream, message: string): void;
}

const OWN_PREFIX = 'toolgate-sup-';
const QUEUE_LIMIT = 1000;

interface Queued {
  text: string;
  id?: JsonRpcId;
  timer?: NodeJS.Timeout;
}

let counter = 0;

export class SupervisedUpstream implements MessageChannel {
  onframe?: (frame: Frame) => void;
  onclose?: (reason?: Error) => void;
  state: ConnectionState = 'idle';
  private handle: UpstreamHandle | undefined;
  private generation = 0;
  /** Requests sent on the current connection and not yet answered. */
  private readonly inflight = new Map<string, JsonRpcId>();
  private queue: Queued[] = [];
  /** Whether messages may go straight to the connection. */
  private ready = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private resetTimer: NodeJS.Timeout | undefined;
  private initTimer: NodeJS.Timeout | undefined;
  /** Pass-through mode: the client's initialize, and whether it sent notifications/initialized. */
  private clientInit: { id: JsonRpcId; params: unknown } | undefined;
  private clientInitialized = false;
  private ownInitId: string | undefined;
  private startedAt = 0;
  readonly id = ++counter;

  constructor(private readonly o: SupervisorOptions) {}

  get pid(): number | undefined {
    return this.handle?.child?.pid;
  }

  /** Open the connection now (eager), instead of on the first message. */
  start(): void {
    if (this.state === 'idle') this.connect(false);
  }

  send(text: string, opts?: SendOptions): void {
    if (this.state === 'closed') return;
    if (this.state === 'idle') this.connect(false);
    let value: unknown = opts?.value;
    if (value === undefined) {
      try {
        value = JSON.parse(text);
      } catch {
        value = undefined;
      }
    }
    const c = value === undefined || Array.isArray(value) ? undefined : classify(value);
    const id = c?.kind === 'request' ? c.msg.id : undefined;
    if (c?.kind === 'request' && c.msg.method === 'initialize' && this.o.initParams === undefined) {
      this.clientInit = { id: c.msg.id, params: c.msg.params };
    }
    if (c?.kind === 'notification' && c.msg.method === 'notifications/initialized' && this.o.initParams === undefined) {
      this.clientInitialized = true;
    }
    // Pass-through mode: until the first start is done, the client's own
    // messages go straight on (its initialize is the first of them).
    const passThroughFirst = this.o.initParams === undefined && this.generation === 1 && this.state === 'starting';
    if ((this.ready || passThroughFirst) && this.handle) {
      if (id !== undefined) this.inflight.set(idKey(id), id);
      this.handle.channel.send(text, opts);
      return;
    }
    if (this.queue.length >= QUEUE_LIMIT) {
      if (id !== undefined) this.answerError(id, `Upstream MCP server "${this.o.server}" is not available (too many messages waiting)`);
      return;
    }
    const q: Queued = { text, ...(id !== undefined ? { id } : {}) };
    if (id !== undefined) {
      q.timer = setTimeout(() => {
        this.queue = this.queue.filter((x) => x !== q);
        this.answerError(id, `Upstream MCP server "${this.o.server}" did not come back in time; try again`);
      }, this.o.holdMs ?? 30_000);
      q.timer.unref();
    }
    this.queue.push(q);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    for (const q of this.queue) if (q.timer) clearTimeout(q.timer);
    this.queue = [];
    const h = this.handle;
    this.handle = undefined;
    if (h) {
      h.channel.onframe = undefined;
      h.channel.onclose = undefined;
      await h.close().catch(() => undefined);
    }
    this.onclose?.();
  }

  // ---- connection -----------------------------------------------------------

  private connect(isRestart: boolean): void {
    const gen = ++this.generation;
    this.ready = false;
    this.setState('starting');
    this.startedAt = Date.now();
    let h: UpstreamHandle;
    try {
      h = this.o.open();
    } catch (err) {
      this.died(gen, `cannot start: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.handle = h;
    h.channel.onframe = (f) => {
      if (gen === this.generation) this.fromUpstream(f);
    };
    const exitMessage = (exit: { code: number | null; signal: NodeJS.Signals | null }) =>
      exit.signal ? `the process was killed by ${exit.signal}` : `the process exited with code ${exit.code}`;
    h.channel.onclose = (reason) => {
      // A child's stdout usually closes just before its exit is known: wait a moment for the better reason.
      if (!h.exited) return this.died(gen, reason?.message ?? 'the connection closed');
      const t = setTimeout(() => this.died(gen, reason?.message ?? 'the process closed its output'), 500);
      void h.exited.then(() => clearTimeout(t));
    };
    void h.exited?.then((exit) => this.died(gen, exitMessage(exit)));

    const gatewayInit = this.o.initParams !== undefined;
    if (gatewayInit || (isRestart && this.clientInit)) {
      this.ownInitId = `${OWN_PREFIX}init-${this.id}-${gen}`;
      const params = gatewayInit ? this.o.initParams : this.clientInit!.params;
      h.channel.send(JSON.stringify({ jsonrpc: '2.0', id: this.ownInitId, method: 'initialize', params }));
      this.initTimer = setTimeout(() => this.died(gen, 'the server did not answer initialize in time'), this.o.initTimeoutMs ?? 30_000);
      this.initTimer.unref();
    } else if (!isRestart) {
      // Pass-through, first start: the client initializes; we are up when it is answered.
      this.ownInitId = undefined;
    } else {
      // A restart before the client ever initialized: nothing to replay.
      this.becomeReady(gen);
    }
  }

  private fromUpstream(frame: Frame): void {
    const v = frame.value;
    const c = v === undefined || Array.isArray(v) ? undefined : classify(v);
    if (c?.kind === 'response' && c.msg.id !== null) {
      if (this.ownInitId !== undefined && c.msg.id === this.ownInitId) {
        this.ownInitId = undefined;
        if (this.initTimer) clearTimeout(this.initTimer);
        if (c.msg.error) {
          this.died(this.generation, `initialize failed: ${c.msg.error.message}`);
          return;
        }
        if (isPlainObject(c.msg.result)) this.o.onInitialized?.(c.msg.result);
        if (this.o.initParams !== undefined || this.clientInitialized)
          this.handle?.channel.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
        this.becomeReady(this.generation);
        return;
      }
      this.inflight.delete(idKey(c.msg.id));
      if (this.clientInit && c.msg.id === this.clientInit.id && this.generation === 1 && this.state === 'starting') {
        if (!c.msg.error) this.becomeReady(this.generation);
      }
    }
    this.onframe?.(frame);
  }

  private becomeReady(gen: number): void {
    if (gen !== this.generation || this.state === 'closed') return;
    this.ready = true;
    this.setState('up');
    const restarted = gen > 1;
    const queue = this.queue;
    this.queue = [];
    for (const q of queue) {
      if (q.timer) clearTimeout(q.timer);
      if (q.id !== undefined) this.inflight.set(idKey(q.id), q.id);
      this.handle?.channel.send(q.text);
    }
    this.resetTimer = setTimeout(() => (this.failures = 0), this.o.backoff?.resetAfterMs ?? 30_000);
    this.resetTimer.unref();
    if (restarted) this.o.onRestarted?.();
  }

  private died(gen: number, why: string): void {
    if (gen !== this.generation || this.state === 'closed' || this.state === 'restarting' || this.state === 'down') return;
    this.ready = false;
    this.clearTimers();
    const h = this.handle;
    this.handle = undefined;
    if (h) {
      h.channel.onframe = undefined;
      h.channel.onclose = undefined;
      void h.close().catch(() => undefined);
    }
    this.failures++;
    const message = `upstream "${this.o.server}" ${why}`;
    this.o.log.warn({ server: this.o.server, failures: this.failures, uptime_ms: Date.now() - this.startedAt }, message);
    this.o.health?.failed(this, why);
    // Never silence: every request the server will not answer now gets an error.
    const lost = [...this.inflight.values()];
    this.inflight.clear();
    if (this.ownInitId !== undefined) this.ownInitId = undefined;
    for (const id of lost) this.answerError(id, `Upstream MCP server "${this.o.server}" closed before answering (${why}); it is being restarted`);
    const b = this.o.backoff ?? {};
    const delay = Math.min(b.maxMs ?? 30_000, (b.initialMs ?? 250) * 2 ** (this.failures - 1));
    this.setState(this.failures >= (b.downAfter ?? 5) ? 'down' : 'restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state === 'closed') return;
      this.o.health?.restarted(this);
      this.connect(true);
    }, delay);
    this.restartTimer.unref();
  }

  private answerError(id: JsonRpcId, message: string): void {
    const text = JSON.stringify(errorResponse(id, ErrorCode.UpstreamUnavailable, message));
    this.onframe?.({ text, value: JSON.parse(text) as unknown, own: true });
  }

  private clearTimers(): void {
    for (const t of [this.restartTimer, this.resetTimer, this.initTimer]) if (t) clearTimeout(t);
    this.restartTimer = this.resetTimer = this.initTimer = undefined;
  }

  private setState(s: ConnectionState): void {
    if (this.state === s) return;
    this.state = s;
    this.o.health?.stateChanged(this, s);
  }
}

// ---- health -----------------------------------------------------------------

export interface ServerHealthView {
  server: string;
  kind: 'command' | 'url';
  target: string;
  start: 'lazy' | 'eager';
  policy: string;
  policy_hash: string;
  /** Summary over the server's connections: down > restarting > starting > up > idle. */
  state: 'idle' | 'starting' | 'up' | 'restarting' | 'down';
  connections: number;
  by_state: Partial<Record<ConnectionState, number>>;
  restarts: number;
  last_error: string | null;
  last_error_at: string | null;
  last_started_at: string | null;
  pids: number[];
}

interface Entry {
  info: Pick<ServerHealthView, 'kind' | 'target' | 'start' | 'policy' | 'policy_hash'>;
  conns: Set<SupervisedUpstream>;
  restarts: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastStartedAt: string | null;
}

const RANK: ConnectionState[] = ['down', 'restarting', 'starting', 'up', 'idle'];

/** Health of every server behind the gateway, for /api/servers and the dashboard panel. */
export class HealthBoard {
  private readonly entries = new Map<string, Entry>();
  onchange?: () => void;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Add or update a server (on start and on every config reload). */
  define(server: string, info: Entry['info']): void {
    const e = this.entries.get(server);
    if (e) e.info = info;
    else this.entries.set(server, { info, conns: new Set(), restarts: 0, lastError: null, lastErrorAt: null, lastStartedAt: null });
    this.onchange?.();
  }

  remove(server: string): void {
    this.entries.delete(server);
    this.onchange?.();
  }

  reporter(server: string): HealthReporter {
    const entry = () => this.entries.get(server);
    return {
      stateChanged: (conn, state) => {
        const e = entry();
        if (!e) return;
        if (state === 'closed') e.conns.delete(conn);
        else e.conns.add(conn);
        if (state === 'starting') e.lastStartedAt = new Date(this.clock()).toISOString();
        this.onchange?.();
      },
      restarted: () => {
        const e = entry();
        if (e) e.restarts++;
        this.onchange?.();
      },
      failed: (_conn, message) => {
        const e = entry();
        if (!e) return;
        e.lastError = message;
        e.lastErrorAt = new Date(this.clock()).toISOString();
        this.onchange?.();
      },
    };
  }

  snapshot(): ServerHealthView[] {
    const out: ServerHealthView[] = [];
    for (const [server, e] of this.entries) {
      const byState: Partial<Record<ConnectionState, number>> = {};
      for (const c of e.conns) byState[c.state] = (byState[c.state] ?? 0) + 1;
      const state = (RANK.find((s) => (byState[s] ?? 0) > 0) ?? 'idle') as ServerHealthView['state'];
      out.push({
        server,
        ...e.info,
        state,
        connections: e.conns.size,
        by_state: byState,
        restarts: e.restarts,
        last_error: e.lastError,
        last_error_at: e.lastErrorAt,
        last_started_at: e.lastStartedAt,
        pids: [...e.conns].map((c) => c.pid).filter((p): p is number => p !== undefined),
      });
    }
    return out.sort((a, b) => a.server.localeCompare(b.server));
  }
}
