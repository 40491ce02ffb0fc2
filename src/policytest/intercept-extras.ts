// `toolgate test` for Intercept's idempotency_window and spend: the same rooms
// the gateway uses (src/idempotency, src/spend), on the runner's simulated clock
// and in memory. A case with `price:` is a paid call (its credential pays that
// price); `expect: replay` says the call is answered from the window.
import { decide, parseBudget, type CompiledPolicy, type ToolCall } from '../policy/index.js';
import { idempotencyKey, MemoryIdempotencyStore } from '../idempotency/index.js';
import { budgetOf, SpendLedger, type SpendVerdict } from '../spend/index.js';
import type { CounterStore, ReservationHandle } from '../state/types.js';
import { sha256Hex, canonicalJson } from '../audit/canonical.js';

export class InterceptExtras {
  private readonly answers = new MemoryIdempotencyStore();
  private readonly ledger: SpendLedger;

  constructor(
    store: CounterStore,
    private readonly clock: () => number,
  ) {
    this.ledger = new SpendLedger(store, clock);
  }

  private key(policy: CompiledPolicy, call: ToolCall): string | undefined {
    if (policy.idempotencyWindowMs === undefined) return undefined;
    const pure = decide(policy, call, new Map());
    if (!pure.allowed || pure.approval) return undefined;
    return idempotencyKey({ identity: call.identity, tool: call.tool, argsSha256: sha256Hex(canonicalJson(call.args, 'escape') ?? 'null') });
  }

  /** Whether a successful identical call inside the window answers this one. */
  async replayed(policy: CompiledPolicy, call: ToolCall): Promise<boolean> {
    const key = this.key(policy, call);
    if (key === undefined) return false;
    const r = await this.answers.claim(key, 'peek', this.clock(), 0);
    return r.kind === 'done';
  }

  /** The call ran and succeeded: keep it for the window. */
  async succeeded(policy: CompiledPolicy, call: ToolCall): Promise<void> {
    const key = this.key(policy, call);
    if (key === undefined) return;
    await this.answers.claim(key, 'runner', this.clock(), 1);
    await this.answers.complete(key, 'runner', '{}', this.clock(), policy.idempotencyWindowMs!);
  }

  /** A paid call's price against the policy's budgets (no budget: nothing to check). */
  async pay(policy: CompiledPolicy, call: ToolCall, price: string): Promise<SpendVerdict> {
    const budget = budgetOf(policy);
    const nano = parseBudget(price);
    if (!budget || nano === undefined) return { ok: true };
    return this.ledger.reserve(budget, call.identity, { nano, currency: '' });
  }

  async settlePayment(handle: ReservationHandle | undefined, paid: boolean): Promise<void> {
    await this.ledger.settle(handle, paid);
  }
}
