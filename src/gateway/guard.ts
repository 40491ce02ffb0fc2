// The call guard: decide a tools/call, reserve its counters, then settle the
// reservation once the upstream has answered. Shared by the live gateway and
// `toolgate test`, so a policy test exercises exactly the production path.
import { countersFor, decide } from '../policy/index.js';
import type { ApprovalRequirement, CompiledPolicy, Decision, ToolCall } from '../policy/index.js';
import type { CounterStore, ReservationHandle } from '../state/types.js';

export type GuardVerdict =
  | {
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
    }
  | { allowed: false; reason: string; rule: string; pointer?: string; message: string; countersRead: Record<string, number> };

/** How the upstream answered: a JSON-RPC error or a dead transport rolls the counters back. */
export type SettleOutcome = 'ok' | 'tool_error' | 'rpc_error' | 'transport_error';

export class CallGuard {
  constructor(
    private readonly store: CounterStore,
    private readonly clock: () => number = Date.now,
  ) {}

  async check(policy: CompiledPolicy, call: ToolCall, opts: { holdForApproval?: boolean } = {}): Promise<GuardVerdict> {
    const now = this.clock();
    const refs = countersFor(policy, call);
    const snapshot = refs.length > 0 ? await this.store.read(refs, now) : new Map<string, number>();
    const decision = decide(policy, call, snapshot);
    if (!decision.allowed) {
      const { reason, rule, pointer, message, countersRead } = decision;
      return { allowed: false, reason, rule, pointer, message, countersRead };
    }
    if (!decision.approval) return this.reserve(decision, now);
    if (opts.holdForApproval) return { allowed: true, decision, approval: decision.approval };
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

  private async reserve(decision: Extract<Decision, { allowed: true }>, now: number): Promise<GuardVerdict> {
    if (decision.reservations.length === 0) return { allowed: true, decision };
    const result = await this.store.reserve(decision.reservations, now);
    if (!result.ok) {
      const r = decision.reservations[result.refused]!;
      return {
        allowed: false,
        reason: 'rate_limit',
        rule: r.rule,
        pointer: r.pointer,
        message: r.onDeny,
        countersRead: { ...decision.countersRead, [r.key]: result.current },
      };
    }
    return { allowed: true, decision, handle: result.handle };
  }

  async settle(handle: ReservationHandle | undefined, outcome: SettleOutcome): Promise<void> {
    if (!handle) return;
    if (outcome === 'rpc_error' || outcome === 'transport_error') await this.store.rollback(handle);
    else await this.store.commit(handle);
  }
}
