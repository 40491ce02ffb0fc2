// Exact money: amounts are integers of 10^-9 units (nano-units), never floats.
// A budget of 0.10 is 100_000_000 nano-units; adding ten prices of 0.01 gives
// exactly 0.10. Counters hold these integers (the counter stores are exact up
// to 2^53, i.e. about 9 million units in one window).

/** Fraction digits kept. A price with more digits is rounded UP (never under-counted). */
export const SCALE_DIGITS = 9;
const SCALE = 10n ** BigInt(SCALE_DIGITS);
/** The largest amount a counter can hold exactly (Number.MAX_SAFE_INTEGER nano-units). */
export const MAX_NANO = BigInt(Number.MAX_SAFE_INTEGER);

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * A non-negative decimal text ("0.50", "12", "0.000000001") as nano-units;
 * undefined when the text is not one or needs more than SCALE_DIGITS digits.
 */
export function parseBudget(text: string): bigint | undefined {
  const m = DECIMAL.exec(text.trim());
  if (!m) return undefined;
  const frac = m[2] ?? '';
  if (frac.replace(/0+$/, '').length > SCALE_DIGITS) return undefined;
  const v = BigInt(m[1]!) * SCALE + BigInt((frac + '0'.repeat(SCALE_DIGITS)).slice(0, SCALE_DIGITS));
  return v > MAX_NANO ? undefined : v;
}

/**
 * An integer amount of base units with `decimals` fraction digits (a payment
 * challenge's "1500000" with 6 decimals is 1.5) as nano-units, rounded up.
 */
export function fromBaseUnits(amount: bigint, decimals: number): bigint {
  if (decimals <= SCALE_DIGITS) return amount * 10n ** BigInt(SCALE_DIGITS - decimals);
  const div = 10n ** BigInt(decimals - SCALE_DIGITS);
  return (amount + div - 1n) / div;
}

/** Nano-units as the shortest decimal text: 500000000n -> "0.5". */
export function formatAmount(nano: bigint): string {
  const neg = nano < 0n;
  const abs = neg ? -nano : nano;
  const whole = abs / SCALE;
  const frac = (abs % SCALE).toString().padStart(SCALE_DIGITS, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/**
 * The decimal a YAML number scalar was written as. The source text is exact
 * ("0.10"); without it, the shortest text of the double, which is the written
 * decimal for anything with up to 15 significant digits.
 */
export function decimalText(value: number, source?: string): string {
  if (source !== undefined && DECIMAL.test(source.trim().replace(/^-/, ''))) return source.trim();
  if (!Number.isFinite(value)) return String(value);
  const s = String(value);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/i.exec(s);
  if (!m) return s;
  // Expand an exponent form (1e-7, 1.5e+21) into plain digits.
  const digits = m[2]! + (m[3] ?? '');
  const point = m[2]!.length + Number(m[4]);
  const text =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return m[1] + text;
}
