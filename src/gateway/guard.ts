// The call guard: decide a tools/call, reserve its counters, then settle the
// reservation once the upstream has answered. Shared by the live gateway and
// `toolgate test`, so a policy test exercises exactly the production path.
import { countersFor, decide } from '../policy/index.js';
import type { ApprovalRequirement, CompiledPolicy, Decision, ToolCall, WouldDeny } from '../policy/index.js';
import type { CounterStore, ReservationHandle } from '../state/types.js';
import { isStateUnavailable, type StateFailMode } from '../state/errors.js';

/** Set on a verdict reached while the counter store was unreachable (audited as `state: 'unavailable'`). */
export type StateFlag = { state?: 'unavailable'; stateError?: string };

export type GuardVerdict =
  | ({
      allowed: true;
      decision: Extract<Decision, { allowed: true }>;
      handle?: ReservationHandle;
      /**
       * Set when a require_approval rule matched. With `holdForApproval` nothing
       * is reserved yet: hold the call, and once approved reserveApproved(decision)
       * reserves and the call is forwarded. Without it (the test runner, where the
       * approval comes at the same instant) the counters are reserved as usual.
       */
      approval?: ApprovalRequirement;
      /** A denial computed but not enforced (monitor mode): the call goes on, recorded as "would deny". */
      wouldDeny?: WouldDeny;
    } & StateFlag)
  | ({ allowed: false; reason: string; rule: string; pointer?: string; message: string; countersRead: Record<string, number> } & StateFlag);

/** The denial text (after the fixed prefix) when the store is down and the fail mode is closed. */
export const STATE_UNAVAILABLE_MESSAGE = 'state store unavailable: the call is denied until toolgate can reach its shared state again (fail-closed)';

export interface CallGuardOptions {
  /** What to do with calls that need state while the store is unreachable. Default 'closed'. */
  failMode?: StateFailMode;
  /**
   * `--mode monitor`: every policy denial is computed and recorded as "would
   * deny" but not enforced; the call goes on without reserving counters, as a
   * denied call would not have used them.
   */
  monitor?: boolean;
}

/** How the upstream answered: a JSON-RPC error or a dead transport rolls the counters back. */
export type SettleOutcome = 'ok' | 'tool_error' | 'rpc_error' | 'transport_error';

export class CallGuard {
  readonly failMode: StateFailMode;
  readonly monitor: boolean;

  constructor(
    private readonly store: CounterStore,
    private readonly clock: () => number = Date.now,
    opts: CallGuardOptions = {},
  ) {
    this.failMode = opts.failMode ?? 'closed';
    this.monitor = opts.monitor ?? false;
  }

  /**
   * A store that cannot answer (StateUnavailableError) gets the fail mode:
   * closed denies the call with STATE_UNAVAILABLE_MESSAGE; open decides it on
   * zero counters and lets it through without a reservation. Both verdicts
   * carry `state: 'unavailable'`. Any other store error propagates (the
   * session denies the call).
   */
  async check(
    policy: CompiledPolicy,
    call: ToolCall,
    opts: {
      holdForApproval?: boolean;
      /** Hold the call for a human even where no rule asks (a guard wants it); a rule's own approval wins. */
      requireApproval?: ApprovalRequirement;
    } = {},
  ): Promise<GuardVerdict> {
    const now = this.clock();
    const refs = countersFor(policy, call);
    let snapshot = new Map<string, number>();
    let down: string | undefined;
    if (refs.length > 0) {
      try {
        snapshot = await this.store.read(refs, now);
      } catch (err) {
        down = this.unavailable(err);
        if (this.failMode === 'closed') return this.closedVerdict(down);
      }
    }
    let decision = decide(policy, call, snapshot);
    if (decision.allowed && !decision.approval && opts.requireApproval) decision = { ...decision, approval: opts.requireApproval };
    if (!decision.allowed) {
      const { reason, rule, pointer, message, countersRead } = decision;
      if (this.monitor) {
        return { allowed: true, decision: { allowed: true, reservations: [], countersRead }, wouldDeny: { reason, rule, pointer, message } };
      }
      return { allowed: false, reason, rule, pointer, message, countersRead, ...(down !== undefined ? { state: 'unavailable', stateError: down } : {}) };
    }
    if (down !== undefined)
      return { allowed: true, decision, state: 'unavailable', stateError: down, ...(decision.approval ? { approval: decision.approval } : {}) };
    if (!decision.approval) return this.reserve(decision, now);
    if (opts.holdForApproval) {
      // Denials still win: a call its counters refuse now is denied now, never put to a human
      // (they are checked again, and reserved, when the approval comes in).
      return this.refusedNow(decision, snapshot) ?? { allowed: true, decision, approval: decision.approval };
    }
    const verdict = await this.reserve(decision, now);
    return verdict.allowed ? { ...verdict, approval: decision.approval } : verdict;
  }

  /**
   * Reserve the counters of a decision whose approval came in. The counters
   * are checked now, against their values now: a quota used up while the call
   * waited still refuses it.
   */
  async reserveApproved(decision: Extract<Decision, { allowed: true }>): Promise<GuardVerdict> {
    return this.reserve(decision, this.clock());
  }

  /** The first enforced limit the snapshot already refuses (what `reserve` would answer), if any. */
  private refusedNow(decision: Extract<Decision, { allowed: true }>, snapshot: ReadonlyMap<string, number>): GuardVerdict | undefined {
    if (this.monitor) return undefined;
    for (const r of decision.reservations) {
      const current = snapshot.get(r.key) ?? 0;
      if (r.monitor || current + r.amount <= r.limit) continue;
      return {
        allowed: false,
        reason: 'rate_limit',
        rule: r.rule,
        pointer: r.pointer,
        message: r.onDeny,
        countersRead: { ...decision.countersRead, [r.key]: current },
      };
    }
    return undefined;
  }

  private async reserve(decision: Extract<Decision, { allowed: true }>, now: number): Promise<GuardVerdict> {
    let wouldDeny = decision.wouldDeny;
    let requests = decision.reservations;
    // A refused monitor-mode counter is noted and dropped; the others are tried again.
    for (;;) {
      if (requests.length === 0) return { allowed: true, decision, ...(wouldDeny ? { wouldDeny } : {}) };
      let result;
      try {
        result = await this.store.reserve(requests, now);
      } catch (err) {
        const down = this.unavailable(err);
        if (this.failMode === 'closed') return this.closedVerdict(down);
        return { allowed: true, decision, state: 'unavailable', stateError: down, ...(wouldDeny ? { wouldDeny } : {}) };
      }
      if (result.ok) return { allowed: true, decision, handle: result.handle, ...(wouldDeny ? { wouldDeny } : {}) };
      const r = requests[result.refused]!;
      const refusal = { reason: 'rate_limit' as const, rule: r.rule, pointer: r.pointer, message: r.onDeny };
      if (r.monitor || this.monitor) {
        wouldDeny ??= refusal;
        // Under --mode monitor a denied call uses no quota; a monitor rule only drops its own counter.
        requests = this.monitor ? [] : requests.filter((_, i) => i !== result.refused);
        continue;
      }
      return { allowed: false, ...refusal, countersRead: { ...decision.countersRead, [r.key]: result.current } };
    }
  }

  /** The error's message when it means "store unreachable"; rethrows anything else. */
  private unavailable(err: unknown): string {
    if (!isStateUnavailable(err)) throw err;
    return err.message;
  }

  private closedVerdict(stateError: string): GuardVerdict {
    return {
      allowed: false,
      reason: 'state_unavailable',
      rule: '',
      message: STATE_UNAVAILABLE_MESSAGE,
      countersRead: {},
      state: 'unavailable',
      stateError,
    };
  }

  async settle(handle: ReservationHandle | undefined, outcome: SettleOutcome): Promise<void> {
    if (!handle) return;
    if (outcome === 'rpc_error' || outcome === 'transport_error') await this.store.rollback(handle);
    else await this.store.commit(handle);
  }
}
