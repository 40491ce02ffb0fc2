// The listener's live sessions: the Streamable HTTP and legacy SSE sessions
// by id, and the stateless (2026-07-28) lanes, one per endpoint and caller.
// It starts them (through the listener's openSession), ends them once, and
// ends the idle ones.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type LegacySseDownstream, StatelessHttpDownstream, StreamableHttpDownstream } from '../http/index.js';
import type { Caller, ListenerOptions, SessionBinding } from './listener-options.js';

export type Downstream = StreamableHttpDownstream | LegacySseDownstream | StatelessHttpDownstream;

export interface Live {
  id: string;
  endpoint: string;
  downstream: Downstream;
  binding?: SessionBinding;
  lastActive: number;
  closing?: Promise<void>;
  /** The identity the session was opened by; every later request must be the same caller. */
  caller?: string;
}

/** The key a session or lane of this caller is bound to. */
export function bindingOf(caller: Caller | undefined): string | undefined {
  return caller === undefined ? undefined : (caller.binding ?? caller.name);
}

/** One stateless lane per endpoint and caller. */
export function laneKey(endpoint: string, caller: string | undefined): string {
  return `${endpoint}\u0000${caller ?? ''}`;
}

export class SessionTable {
  readonly sessions = new Map<string, Live>();
  /**
   * The modern (stateless) lanes: one gateway session and upstream per caller
   * for the sessionless 2026-07-28 requests (callers never share an identity,
   * a policy or quotas). Keyed by laneKey.
   */
  readonly lanes = new Map<string, Live>();

  constructor(private readonly o: { log: Logger; idleMs: number; openSession: ListenerOptions['openSession'] }) {}

  /** Every session and lane. */
  all(): Live[] {
    return [...this.sessions.values(), ...this.lanes.values()];
  }

  /** End the sessions idle for longer than the idle timeout (a busy one is never idle). */
  sweep(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values(), ...this.lanes.values()]) {
      const busy = s.downstream instanceof StreamableHttpDownstream || s.downstream instanceof StatelessHttpDownstream ? s.downstream.busy : true;
      const last = s.downstream instanceof StreamableHttpDownstream ? Math.max(s.lastActive, s.downstream.lastClosed) : s.lastActive;
      if (!busy && now - last >= this.o.idleMs) {
        this.o.log.info({ session: s.id }, 'session idle; closing it');
        void this.end(s, 'idle timeout');
      }
    }
  }

  /** End a session: its downstream, then its binding (the upstream); once. */
  end(s: Live, why: string): Promise<void> {
    if (s.closing) return s.closing;
    this.sessions.delete(s.id);
    if (this.lanes.get(laneKey(s.endpoint, s.caller)) === s) this.lanes.delete(laneKey(s.endpoint, s.caller));
    s.closing = (async () => {
      await s.downstream.close();
      try {
        await s.binding?.close();
      } catch (err) {
        this.o.log.warn({ err, session: s.id }, 'closing the upstream failed');
      }
      this.o.log.info({ session: s.id, why }, 'session closed');
    })();
    return s.closing;
  }

  /** A new session (or stateless lane) on `downstream`, wired by the listener's openSession. */
  start(downstream: Downstream, caller: Caller | undefined, endpoint = ''): Live {
    const id = randomUUID();
    const live: Live = { id, endpoint, downstream, lastActive: Date.now() };
    if (caller) live.caller = bindingOf(caller);
    if (downstream instanceof StatelessHttpDownstream) this.lanes.set(laneKey(endpoint, bindingOf(caller)), live);
    else this.sessions.set(id, live);
    live.binding = this.o.openSession(id, downstream, (why) => void this.end(live, why), caller, endpoint);
    return live;
  }

  /** End every session of the endpoints `which` selects (e.g. a server removed from the config). */
  async endWhere(which: (endpoint: string) => boolean, why: string): Promise<void> {
    await Promise.all([...this.sessions.values(), ...this.lanes.values()].filter((s) => which(s.endpoint)).map((s) => this.end(s, why)));
  }
}
