// Intercept's spend budgets in the call flow (the budgets themselves: src/spend).
// Two moments: the server asks for payment (-32042) — the agent sees the
// challenge only when paying it keeps every budget, otherwise a denial, so it
// never pays; and a paid call (it carries a credential) — its price is checked
// against per_call and reserved against daily before it may leave, given back
// when the server refuses the payment. Unreadable prices fail closed.
import { isPlainObject, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../mcp/index.js';
import { formatAmount, type CompiledPolicy } from '../policy/index.js';
import { budgetOf, paidPrice, PAYMENT_REQUIRED_CODE, priceOfPaymentRequired, type SpendLedger } from '../spend/index.js';
import type { ReservationHandle } from '../state/types.js';
import type { Logger } from '../log/index.js';
import { denialResult, type CallFields } from './call-record.js';

export type PaidVerdict = { ok: true; handle?: ReservationHandle; spend?: string } | { ok: false; reason: string; message: string };

export interface PaymentsOptions {
  ledger?: SpendLedger;
  identity?: string;
  log: Logger;
  record: (fields: CallFields) => void;
}

export class Payments {
  constructor(private readonly o: PaymentsOptions) {}

  /** A server answer to screen: a payment request under a policy with `spend:`. */
  static screens(res: JsonRpcResponse, policy: CompiledPolicy): boolean {
    return res.error?.code === PAYMENT_REQUIRED_CODE && policy.spend !== undefined;
  }

  /** A call carrying a payment credential: checked and reserved (no credential or no budget: nothing to do). */
  async reserve(req: JsonRpcRequest, policy: CompiledPolicy): Promise<PaidVerdict> {
    const budget = budgetOf(policy);
    const price = budget && isPlainObject(req.params) ? paidPrice(req.params) : undefined;
    if (!budget || !price) return { ok: true };
    if (!price.ok) return { ok: false, reason: 'spend_unreadable', message: `spend budget: ${price.problem}; refused before paying` };
    if (!this.o.ledger) return { ok: false, reason: 'spend_unavailable', message: 'spend budget: this gateway keeps no spend ledger; refused before paying' };
    try {
      const v = await this.o.ledger.reserve(budget, this.o.identity, price.price);
      return v.ok
        ? { ok: true, ...(v.handle ? { handle: v.handle } : {}), spend: formatAmount(price.price.nano) }
        : { ok: false, reason: v.reason, message: v.message };
    } catch (err) {
      this.o.log.error({ err }, 'reserving spend failed');
      return {
        ok: false,
        reason: 'decision_error',
        message: 'toolgate could not reserve this payment against spend.daily (state store unavailable); refused before paying',
      };
    }
  }

  /** The server refused the payment or never got it: give the amount back; otherwise it stays spent. */
  async settle(handle: ReservationHandle | undefined, paid: boolean): Promise<void> {
    await this.o.ledger?.settle(handle, paid);
  }

  /** What the agent gets for a payment request: the server's answer, or a denial (recorded). */
  async screen(res: JsonRpcResponse, policy: CompiledPolicy, generation: (r: JsonRpcResponse) => JsonRpcResponse): Promise<JsonRpcResponse> {
    const budget = budgetOf(policy);
    let refusal: { reason: string; message: string } | undefined;
    const price = priceOfPaymentRequired(res.error!);
    if (!budget) return res;
    if (!price.ok) refusal = { reason: 'spend_unreadable', message: `spend budget: ${price.problem}; the payment request is not passed on` };
    else if (!this.o.ledger)
      refusal = { reason: 'spend_unavailable', message: 'spend budget: this gateway keeps no spend ledger; the payment request is not passed on' };
    else {
      try {
        const v = await this.o.ledger.refusal(budget, this.o.identity, price.price);
        if (v && !v.ok) refusal = { reason: v.reason, message: v.message };
      } catch (err) {
        this.o.log.error({ err }, 'reading spend failed');
        refusal = { reason: 'decision_error', message: 'toolgate could not read spend.daily (state store unavailable); the payment request is not passed on' };
      }
    }
    if (!refusal) return res;
    this.o.record({
      stage: 'payment',
      request_id: res.id ?? undefined,
      decision: 'denied',
      reason: refusal.reason,
      message: refusal.message,
      spend: price.ok ? formatAmount(price.price.nano) : undefined,
      policy_hash: policy.hash,
    });
    return generation(resultResponse(res.id!, denialResult(refusal.message)));
  }
}
