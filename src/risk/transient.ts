// What a call makes or empties that outlives nothing: a password generated into the reply, a cart
// emptied before an order, a code that grants access rather than runs. The rubric's "no effect
// outside the call" is Read, and emptying working state that holds no record is a Write; the verbs
// (generate, clear, code) alone would say Execute or Destructive.
import type { VerbClass } from './lexicon.js';

/** Values a generate call computes and hands back in its reply: nothing is stored or started. */
const RETURNED_VALUES: ReadonlySet<string> = new Set(
  'password passwords passphrase passphrases link links deeplink deeplinks url urls uri number suggestion suggestions uuid uuids slug slugs preview previews'.split(
    ' ',
  ),
);

/** Credentials a generate call issues: something new can now log in (Write). */
const ISSUED_CREDENTIALS: ReadonlySet<string> = new Set('token tokens key keys apikey apikeys secret secrets credential credentials certificate'.split(' '));

/** Working state of a session: emptying it loses no record (a cart before its order, a session's log). */
const WORKING_STATE: ReadonlySet<string> = new Set('cart carts basket baskets session context selection draft scratchpad'.split(' '));

/** Verbs that empty something. */
const EMPTIES: ReadonlySet<string> = new Set(['clear', 'empty', 'reset']);

/** `generate` by what it generates, `clear` by what it empties. */
export function transientInContext(verb: string, objects: readonly string[]): { verbClass: VerbClass; why: string } | undefined {
  if (verb === 'generate') {
    // A credential wins over a returned value ("generate a token and return its link").
    const issued = objects.find((t) => ISSUED_CREDENTIALS.has(t));
    if (issued) return { verbClass: 'write', why: `a "${issued}" issues a credential` };
    const value = objects.find((t) => RETURNED_VALUES.has(t));
    if (value) return { verbClass: 'read', why: `a "${value}" returns a value: nothing is stored or started` };
  }
  if (EMPTIES.has(verb)) {
    const state = objects.find((t) => WORKING_STATE.has(t));
    if (state) return { verbClass: 'write', why: `a "${state}" empties working state: no record is lost` };
  }
  return undefined;
}

/** Codes that grant or identify rather than run: an OAuth code, a promo code, a short code. */
const ACCESS_CODE_WORDS: ReadonlySet<string> = new Set(
  'auth authorization oauth verification verify promo discount coupon short country postal zip currency exchange token invite invitation access qr status error epp transfer'.split(
    ' ',
  ),
);

/** Texts about code rather than code to run: rules, guides, outlines. */
const ABOUT_CODE_WORDS: ReadonlySet<string> = new Set(
  'rule rules guide guidelines instruction instructions outline outlines planner sample samples example examples'.split(' '),
);

/** Whether a code noun in a name means code that runs (not an access code, not a text about code). */
export function runsAsCode(nameTokens: readonly string[]): boolean {
  return !nameTokens.some((t) => ACCESS_CODE_WORDS.has(t) || ABOUT_CODE_WORDS.has(t));
}
