// `toolgate test` runs each case through the gateway's own session
// (GatewaySession), not a copy of its logic: the call is sent as JSON text
// over an in-memory channel pair, admitted, decided, held or forwarded to a
// scripted server exactly as the live gateway would, and the outcome is read
// from the session's own audit records. A policy test and the gateway
// therefore cannot disagree (a non-finite number or a case-variant key is
// refused here as it is there). Intercept's idempotency_window and spend run
// in the session too: a replay is the session's own replay, and a case's
// `price` is a payment credential on the call, priced and reserved by the
// session as a live paid call is.
import { randomUUID } from 'node:crypto';
import type { CompiledPolicy } from '../policy/index.js';
import { DENIAL_PREFIX } from '../policy/index.js';
import { CallGuard, type SettleOutcome } from '../gateway/guard.js';
import { GatewaySession } from '../gateway/session.js';
import { MemoryChannel } from '../mcp/index.js';
import type { AnyEventFields, EventSink, GatewayEvent } from '../events/types.js';
import type { HeldApproval } from '../approval/queue.js';
import type { ApprovalRecord, ApprovalRetries, NewApproval } from '../approval/types.js';
import type { CounterStore, ReservationHandle } from '../state/types.js';
import { silentLogger } from '../log/index.js';
import { IdempotencyGate, MemoryIdempotencyStore } from '../idempotency/index.js';
import { CREDENTIAL_META_KEY, parseBudget, SCALE_DIGITS, SpendLedger } from '../spend/index.js';

export type Upstream = 'ok' | 'error' | 'tool_error';

/** What the gateway did with one call. */
export interface Decided {
  decision: 'allow' | 'deny' | 'approval' | 'would_deny' | 'replay';
  rule?: string;
  pointer?: string;
  message?: string;
  reason?: string;
}

/** One call to run: the tool, its arguments, who calls, and how the scripted server and approver answer. */
export interface CaseCall {
  tool: string;
  args: Record<string, unknown>;
  identity?: string;
  session?: string;
  upstream: Upstream;
  /** For a call held for approval: whether the human approves. */
  approved: boolean;
  /** A paid call: the price its payment credential pays (decimal text). */
  price?: string;
}

/** Settlements in flight (counters, spend, idempotent answers), so a case's state is final before the next case runs. */
class Settling {
  private readonly pending = new Set<Promise<unknown>>();
  track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p)).catch(() => {});
    return p;
  }
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

class SettledGuard extends CallGuard {
  constructor(
    store: CounterStore,
    clock: () => number,
    private readonly settling: Settling,
  ) {
    super(store, clock);
  }
  override settle(handle: ReservationHandle | undefined, outcome: SettleOutcome): Promise<void> {
    return this.settling.track(super.settle(handle, outcome));
  }
}

class SettledLedger extends SpendLedger {
  constructor(
    store: CounterStore,
    clock: () => number,
    private readonly settling: Settling,
  ) {
    super(store, clock);
  }
  override settle(handle: ReservationHandle | undefined, paid: boolean): Promise<void> {
    return this.settling.track(super.settle(handle, paid));
  }
}

/** Answers kept for idempotency_window; a call's answer is kept (or let go) before the next case runs. */
class SettledAnswers extends MemoryIdempotencyStore {
  constructor(private readonly settling: Settling) {
    super();
  }
  override complete(key: string, owner: string, result: string, now: number, windowMs: number): Promise<void> {
    return this.settling.track(super.complete(key, owner, result, now, windowMs));
  }
  override release(key: string, owner: string): Promise<void> {
    return this.settling.track(super.release(key, owner));
  }
}

/**
 * The params of a call whose payment credential pays `price` (a decimal
 * amount): the price in nano-units with SCALE_DIGITS decimals, which the
 * session reads back exactly.
 */
export function paidParams(tool: string, args: Record<string, unknown>, price: string | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = { name: tool, arguments: args };
  const nano = price === undefined ? undefined : parseBudget(price);
  if (nano !== undefined) {
    params._meta = { [CREDENTIAL_META_KEY]: { challenge: { id: 'toolgate-test', request: { amount: nano.toString(), decimals: SCALE_DIGITS } } } };
  }
  return params;
}

/**
 * JSON text as a client would write it: a non-finite number becomes the
 * literal a JSON parser turns into one (1e999, -1e999); NaN, which no JSON
 * text can carry, is left invalid (the gateway answers a parse error).
 */
export function clientText(value: unknown): string {
  const mark = `@nonfinite-${randomUUID()}@`;
  const text = JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? `${mark}${Number.isNaN(v) ? 'n' : v > 0 ? '+' : '-'}` : v,
  );
  return text.replaceAll(`"${mark}+"`, '1e999').replaceAll(`"${mark}-"`, '-1e999').replaceAll(`"${mark}n"`, 'NaN');
}

interface Link {
  client: MemoryChannel;
  session: GatewaySession;
}

export class SessionRunner {
  private readonly settling = new Settling();
  private readonly guard: SettledGuard;
  private readonly idempotency: IdempotencyGate;
  private readonly spend: SpendLedger;
  private readonly links = new Map<string, Link>();
  private readonly events: GatewayEvent[] = [];
  private readonly waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  /** How the scripted server and approver answer the call with this request id. */
  private readonly script = new Map<number, CaseCall>();
  private nextId = 1;
  /** The case running now (cases run one at a time). */
  private current?: CaseCall;

  constructor(
    private readonly policy: CompiledPolicy,
    store: CounterStore,
    clock: () => number,
  ) {
    this.guard = new SettledGuard(store, clock, this.settling);
    this.idempotency = new IdempotencyGate(new SettledAnswers(this.settling), { clock });
    this.spend = new SettledLedger(store, clock, this.settling);
  }

  /** Send the call through a session (one per identity and session name, as a client's), wait until it is answered and settled. */
  async run(c: CaseCall): Promise<Decided> {
    const id = this.nextId++;
    this.script.set(id, c);
    this.current = c;
    const link = this.linkFor(c.identity, c.session ?? 'toolgate-test');
    const answered = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    const first = this.events.length;
    link.client.send(clientText({ jsonrpc: '2.0', id, method: 'tools/call', params: paidParams(c.tool, c.args, c.price) }));
    const answer = await answered;
    await this.settling.idle();
    return this.decided(
      this.events.slice(first).filter((e: AnyEventFields) => e.request_id === id),
      answer,
    );
  }

  async close(): Promise<void> {
    for (const l of this.links.values()) await l.client.close();
    await this.settling.idle();
  }

  private decided(events: GatewayEvent[], answer: Record<string, unknown>): Decided {
    const held = events.find((e) => e.type === 'approval_requested');
    if (held) return clean({ decision: 'approval', rule: held.rule, pointer: held.rule_pointer, message: held.message });
    const record = events.filter((e) => e.type === 'tool_call').at(-1);
    if (!record) {
      // Refused before any record could name the call (e.g. text no JSON parser reads as one).
      const error = answer.error as { message?: string } | undefined;
      return { decision: 'deny', rule: '', message: `${DENIAL_PREFIX} ${error?.message ?? 'refused'}`, reason: 'invalid_call' };
    }
    if (record.reason === 'idempotent_replay') return { decision: 'replay' };
    if (record.decision === 'denied' || record.decision === 'error') {
      return clean({
        decision: 'deny',
        rule: record.rule ?? '',
        pointer: record.rule_pointer,
        message: `${DENIAL_PREFIX} ${record.message ?? ''}`,
        reason: record.reason,
      });
    }
    if (record.decision === 'would_deny') {
      return clean({
        decision: 'would_deny',
        rule: record.rule,
        pointer: record.rule_pointer,
        message: `${DENIAL_PREFIX} ${record.message ?? ''}`,
        reason: record.reason,
      });
    }
    return { decision: 'allow' };
  }

  private linkFor(identity: string | undefined, sessionName: string): Link {
    const key = JSON.stringify([identity ?? null, sessionName]);
    const found = this.links.get(key);
    if (found) return found;
    const [client, down] = MemoryChannel.pair();
    const [up, server] = MemoryChannel.pair();
    client.onframe = (f) => {
      const v = f.value as Record<string, unknown> | undefined;
      if (!v || 'method' in v) return;
      // An answer with a null id (text no parser reads) belongs to the case running now.
      const id = typeof v.id === 'number' ? v.id : this.nextId - 1;
      this.waiting.get(id)?.(v);
    };
    server.onframe = (f) => {
      const v = f.value as { id?: unknown; method?: unknown } | undefined;
      if (v?.method === 'tools/call' && typeof v.id === 'number') server.send(JSON.stringify(this.serverAnswer(v.id)));
    };
    const sink: EventSink = { emit: (e) => void this.events.push(e), close: async () => {} };
    const session = new GatewaySession({
      downstream: down,
      upstream: up,
      policy: () => this.policy,
      guard: this.guard,
      events: sink,
      log: silentLogger(),
      instance: 'toolgate-test',
      sessionId: sessionName,
      ...(identity !== undefined ? { identity } : {}),
      approvals: { open: (input) => this.approve(input), ...this.retries },
      idempotency: this.idempotency,
      spend: this.spend,
    });
    const link = { client, session };
    this.links.set(key, link);
    return link;
  }

  /** The scripted server: a result, a tool error or a JSON-RPC error, as the case says. */
  private serverAnswer(id: number): unknown {
    const upstream = this.script.get(id)?.upstream ?? 'ok';
    if (upstream === 'error') return { jsonrpc: '2.0', id, error: { code: -32000, message: 'scripted upstream error' } };
    return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'scripted result' }], ...(upstream === 'tool_error' ? { isError: true } : {}) } };
  }

  /** Every request the scripted approver saw, decided at once (the retry model's operations read them). */
  private readonly requests = new Map<string, ApprovalRecord>();

  /** A request decided at once, as the case says. */
  private decideNow(input: NewApproval): { record: ApprovalRecord; decided: ApprovalRecord; approved: boolean } {
    const now = Date.now();
    const model = input.model === 'retry' ? { model: 'retry' as const } : {};
    const { model: _asked, ...rest } = input;
    const record: ApprovalRecord = {
      ...rest,
      ...model,
      approvers: input.approvers ?? [],
      id: `test-${randomUUID()}`,
      createdAt: now,
      expiresAt: now + input.timeoutMs,
      status: 'pending',
      host: 'toolgate-test',
      pid: process.pid,
    };
    const approved = this.current?.approved !== false;
    const decided: ApprovalRecord = { ...record, status: approved ? 'approved' : 'denied', decidedAt: now, decidedBy: 'toolgate-test', channel: 'cli' };
    this.requests.set(record.id, decided);
    return { record, decided, approved };
  }

  /** The scripted approver for held calls. */
  private approve(input: NewApproval): HeldApproval {
    const { record, decided, approved } = this.decideNow(input);
    return {
      record,
      outcome: Promise.resolve({
        status: approved ? 'approved' : 'denied',
        record: decided,
        message: approved ? '' : 'denied by the test case (approved: false)',
      }),
      abandon: () => {},
      detach: () => {},
    };
  }

  /** The retry model's operations over the scripted requests (as the stores do them, in memory). */
  private readonly retries: ApprovalRetries = {
    request: (input) => ({ record: this.decideNow(input).decided, reused: false }),
    pending: () => undefined,
    consume: (fingerprint) => {
      for (const r of this.requests.values()) {
        if (r.fingerprint === fingerprint && r.status === 'approved' && r.consumedAt === undefined) {
          r.consumedAt = Date.now();
          return r;
        }
      }
      return undefined;
    },
    consumeById: (id) => {
      const r = this.requests.get(id);
      if (!r || r.status !== 'approved' || r.consumedAt !== undefined) return false;
      r.consumedAt = Date.now();
      return true;
    },
    rollback: (id) => {
      const r = this.requests.get(id);
      if (!r || r.consumedAt === undefined) return false;
      delete r.consumedAt;
      return true;
    },
    latest: (fingerprint) => [...this.requests.values()].reverse().find((r) => r.fingerprint === fingerprint),
  };
}

function clean(d: Decided): Decided {
  const out: Decided = { decision: d.decision };
  for (const k of ['rule', 'pointer', 'message', 'reason'] as const) if (d[k] !== undefined) out[k] = d[k];
  return out;
}
