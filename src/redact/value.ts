// Redacting a JSON value (a call's arguments) before a human or a file sees
// it: listed paths and secret-named keys are replaced whole, and every
// string is searched for secrets (secrets.ts).
import { luhn, redactText } from './secrets.js';

export const REDACTED = '[REDACTED]';

/** Key names whose values are secrets whatever they look like. */
const SECRET_KEY =
  /(?:^|[_-])(?:pass(?:word|wd|phrase)?|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth(?:orization)?|credentials?|cookie|session[_-]?id|cvv|cvc|pin|ssn|dsn|connection[_-]?string)(?:$|[_-])|^(?:pwd|otp|key)$/i;

/** Whether a key name marks its value as a secret. */
export function isSecretKey(key: string): boolean {
  // camelCase -> snake_case so `apiKey` and `clientSecret` match too.
  return SECRET_KEY.test(key.replace(/([a-z0-9])([A-Z])/g, '$1_$2'));
}

type PathSeg = string;

/** `args.card_number` -> ['card_number']; `args.items.*.pan` -> ['items', '*', 'pan']. A leading `args.` is optional. */
export function parseRedactPath(path: string): PathSeg[] {
  const segs = path.split('.').filter((s) => s !== '');
  if (segs[0] === 'args') segs.shift();
  return segs;
}

/**
 * A redacted deep copy of `value`: the listed paths replaced by `[REDACTED]`,
 * secret-named keys replaced, secrets inside strings replaced. Pure; never
 * changes its input.
 */
export function redactValue(value: unknown, paths: readonly string[] = [], opts: RedactOptions = {}): unknown {
  const parsed = paths.map(parseRedactPath).filter((p) => p.length > 0);
  return walk(value, parsed, opts.keepStructures === true);
}

export interface RedactOptions {
  /**
   * Under a secret-named key, mask only scalars and walk objects and arrays
   * (the approval preview: a structure under `"auth"` could hide what the call
   * does from the approver). Default: the whole value is masked.
   */
  keepStructures?: boolean;
}

function walk(value: unknown, paths: PathSeg[][], keepStructures: boolean): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      const sub = descend(paths, String(i));
      return sub.hit ? REDACTED : walk(v, sub.rest, keepStructures);
    });
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = descend(paths, k);
      out[k] = sub.hit || (isSecretKey(k) && v !== null && !(keepStructures && typeof v === 'object')) ? REDACTED : walk(v, sub.rest, keepStructures);
    }
    return out;
  }
  // A card number may arrive as a number.
  if (typeof value === 'number' && Number.isInteger(value) && luhn(String(value))) return '[REDACTED:card_number]';
  return value;
}

/** The paths that continue below `key`, and whether one ends exactly here. */
function descend(paths: PathSeg[][], key: string): { hit: boolean; rest: PathSeg[][] } {
  let hit = false;
  const rest: PathSeg[][] = [];
  for (const p of paths) {
    const head = p[0];
    if (head !== key && head !== '*') continue;
    if (p.length === 1) hit = true;
    else rest.push(p.slice(1));
  }
  return { hit, rest };
}
