// Reading prices from payment challenges: the Machine Payments Protocol's MCP
// transport (draft-payment-transport-mcp; the mppx SDK). A paid tool answers
// an unpaid tools/call with JSON-RPC error -32042 whose data.challenges each
// carry a `request` with `amount` (an integer string of base units) and
// `currency`; the client pays and repeats the call with its credential, which
// echoes the challenge, in params._meta["org.paymentauth/credential"].
//
// Every assumption about that format is in this file, so it is easy to correct:
// - the price of a challenge is request.amount / 10^decimals, where decimals is
//   request.decimals, else request.methodDetails.decimals, else 2 for a
//   three-letter (ISO 4217) currency code; otherwise the price is unreadable;
// - a -32042 with several challenges costs the most expensive of them (the
//   gateway cannot know which one the agent will pay);
// - currencies are not converted: every price counts in the budget's unit;
// - a credential is a JSON object, or a base64url text of one (as in HTTP's
//   Authorization header); its `challenge` is the one being paid;
// - anything unreadable is refused, never guessed (fail closed).
import { isPlainObject } from '../mcp/index.js';
import { fromBaseUnits, MAX_NANO } from '../policy/index.js';

export const PAYMENT_REQUIRED_CODE = -32042;
export const CREDENTIAL_META_KEY = 'org.paymentauth/credential';

export interface Price {
  /** Nano-units (decimal.ts). */
  nano: bigint;
  currency: string;
  /** The challenge id, for the audit. */
  challenge?: string;
}

export type PriceReading = { ok: true; price: Price } | { ok: false; problem: string };

const BASE_UNITS = /^\d{1,40}$/;
const ISO_CURRENCY = /^[A-Za-z]{3}$/;

function decimalsOf(request: Record<string, unknown>): number | undefined {
  const details = isPlainObject(request.methodDetails) ? request.methodDetails : {};
  for (const d of [request.decimals, details.decimals]) {
    if (d === undefined) continue;
    return typeof d === 'number' && Number.isInteger(d) && d >= 0 && d <= 36 ? d : -1;
  }
  return typeof request.currency === 'string' && ISO_CURRENCY.test(request.currency) ? 2 : undefined;
}

/** The price of one challenge object. */
export function priceOfChallenge(challenge: unknown): PriceReading {
  if (!isPlainObject(challenge) || !isPlainObject(challenge.request)) return { ok: false, problem: 'the payment challenge has no request object' };
  const request = challenge.request;
  const amount = request.amount;
  if (typeof amount !== 'string' || !BASE_UNITS.test(amount))
    return { ok: false, problem: `the payment challenge's amount is not an integer of base units (got ${JSON.stringify(amount)?.slice(0, 40)})` };
  const decimals = decimalsOf(request);
  if (decimals === undefined)
    return { ok: false, problem: `the payment challenge does not say how many decimals its currency ${JSON.stringify(request.currency)?.slice(0, 60)} has` };
  if (decimals < 0) return { ok: false, problem: 'the payment challenge has an invalid decimals value' };
  const nano = fromBaseUnits(BigInt(amount), decimals);
  if (nano > MAX_NANO) return { ok: false, problem: 'the payment challenge asks for more than toolgate can count' };
  const currency = typeof request.currency === 'string' ? request.currency : '';
  return { ok: true, price: { nano, currency, ...(typeof challenge.id === 'string' ? { challenge: challenge.id } : {}) } };
}

/** The price of a -32042 error: the most expensive challenge; unreadable if any is. */
export function priceOfPaymentRequired(error: { code: number; data?: unknown }): PriceReading {
  const data = error.data;
  const challenges = isPlainObject(data) ? data.challenges : undefined;
  if (!Array.isArray(challenges) || challenges.length === 0) return { ok: false, problem: 'the payment-required error carries no challenges' };
  let most: Price | undefined;
  for (const c of challenges) {
    const r = priceOfChallenge(c);
    if (!r.ok) return r;
    if (!most || r.price.nano > most.nano) most = r.price;
  }
  return { ok: true, price: most! };
}

/**
 * The credential a tools/call carries (undefined: none, an unpaid call), or a
 * problem when one is there but cannot be read exactly: a case variant of
 * the key or of `_meta` (a server matching keys case-insensitively could read
 * a credential toolgate did not price), or an unreadable credential.
 */
export function paidPrice(params: Record<string, unknown>): PriceReading | undefined {
  for (const k of Object.keys(params)) {
    if (k !== '_meta' && k.toLowerCase() === '_meta') return { ok: false, problem: `params key ${JSON.stringify(k)} is a case variant of _meta` };
  }
  const meta = params._meta;
  if (!isPlainObject(meta)) return undefined;
  for (const k of Object.keys(meta)) {
    if (k !== CREDENTIAL_META_KEY && k.toLowerCase() === CREDENTIAL_META_KEY)
      return { ok: false, problem: `_meta key ${JSON.stringify(k)} is a case variant of ${CREDENTIAL_META_KEY}` };
  }
  if (!(CREDENTIAL_META_KEY in meta)) return undefined;
  let credential = meta[CREDENTIAL_META_KEY];
  if (typeof credential === 'string') {
    try {
      credential = JSON.parse(Buffer.from(credential, 'base64url').toString('utf8')) as unknown;
    } catch {
      return { ok: false, problem: 'the payment credential is neither a JSON object nor base64url JSON' };
    }
  }
  if (!isPlainObject(credential) || !isPlainObject(credential.challenge))
    return { ok: false, problem: 'the payment credential does not echo the challenge it pays' };
  return priceOfChallenge(credential.challenge);
}
