// Spend budgets (Intercept's `spend:` block) kept in the counter store that
// holds the policy's counters (memory, SQLite or Redis): the day's spend is a
// `day` counter of nano-units, per identity where calls have one. A paid call
// reserves its price atomically against `daily` before it is forwarded (so
// concurrent calls can never pass the budget together) and gives it back when
// the server refuses the payment (a JSON-RPC error); a price above `per_call`
// is refused outright. The store failing refuses paid calls (money fails closed,
// whatever --state-fail-mode says).
import type { CounterStore, ReservationHandle } from '../state/types.js';
import type { CompiledPolicy } from '../policy/index.js';
import { formatAmount, parseBudget } from '../policy/index.js';
import type { Price } from './challenge.js';

export interface SpendBudget {
  perCall?: bigint;
  daily?: bigint;
}

/** The policy's budgets in nano-units; undefined when it has none. */
export function budgetOf(policy: CompiledPolicy): SpendBudget | undefined {
  const s = policy.spend;
  if (!s) return undefined;
  const b: SpendBudget = {};
  if (s.perCall !== undefined) b.perCall = parseBudget(s.perCall);
  if (s.daily !== undefined) b.daily = parseBudget(s.daily);
  return b.perCall === undefined && b.daily === undefined ? undefined : b;
}

export type SpendVerdict = { ok: true; handle?: ReservationHandle } | { ok: false; reason: 'spend_per_call' | 'spend_daily'; message: string };

export class SpendLedger {
  constructor(
    private readonly store: CounterStore,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The day's spend counter of one identity (or of everyone, without identities). */
  static counterKey(identity: string | undefined): string {
    return identity === undefined ? '$spend.daily' : `$spend.daily@${identity}`;
  }

  /** What the identity has spent today, in nano-units. */
  async spentToday(identity: string | undefined): Promise<bigint> {
    const key = SpendLedger.counterKey(identity);
    const read = await this.store.read([{ key, window: 'day' }], this.clock());
    return BigInt(read.get(key) ?? 0);
  }

  /** Whether paying `price` now would break a budget (checked when the server asks for payment). */
  async refusal(budget: SpendBudget, identity: string | undefined, price: Price): Promise<SpendVerdict | undefined> {
    const perCall = perCallRefusal(budget, price);
    if (perCall) return perCall;
    if (budget.daily === undefined) return undefined;
    const spent = await this.spentToday(identity);
    return spent + price.nano > budget.daily ? dailyRefusal(budget.daily, spent, price) : undefined;
  }

  /** Reserve a paid call's price (all or nothing, atomic across processes sharing the store). */
  async reserve(budget: SpendBudget, identity: string | undefined, price: Price): Promise<SpendVerdict> {
    const perCall = perCallRefusal(budget, price);
    if (perCall) return perCall;
    if (budget.daily === undefined || price.nano === 0n) return { ok: true };
    const key = SpendLedger.counterKey(identity);
    const r = await this.store.reserve([{ key, window: 'day', amount: Number(price.nano), limit: Number(budget.daily) }], this.clock());
    if (r.ok) return { ok: true, handle: r.handle };
    return dailyRefusal(budget.daily, BigInt(r.current), price);
  }

  /** The server refused the payment (a JSON-RPC error, or the call never left): give the amount back. */
  async settle(handle: ReservationHandle | undefined, paid: boolean): Promise<void> {
    if (!handle) return;
    if (paid) await this.store.commit(handle);
    else await this.store.rollback(handle);
  }
}

function perCallRefusal(budget: SpendBudget, price: Price): SpendVerdict | undefined {
  if (budget.perCall === undefined || price.nano <= budget.perCall) return undefined;
  return {
    ok: false,
    reason: 'spend_per_call',
    message: `spend budget: this call costs ${formatAmount(price.nano)}${price.currency ? ` ${price.currency}` : ''}, more than spend.per_call ${formatAmount(budget.perCall)}; refused before paying`,
  };
}

function dailyRefusal(daily: bigint, spent: bigint, price: Price): SpendVerdict {
  return {
    ok: false,
    reason: 'spend_daily',
    message: `spend budget: this call costs ${formatAmount(price.nano)}${price.currency ? ` ${price.currency}` : ''} and ${formatAmount(spent)} of spend.daily ${formatAmount(daily)} is spent today (UTC); refused before paying`,
  };
}
