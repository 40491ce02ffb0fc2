// Secret redaction for captured arguments. Arguments are not stored unless a
// policy opts in (`audit: {capture_args: true, redact: [args.card_number]}`);
// when they are, the listed paths are replaced, and values that look like
// secrets are always replaced, listed or not: API keys and tokens, private
// keys, JWTs, bearer credentials, card numbers (Luhn-valid), and every value
// under a key whose name says it is a secret (password, token, api_key...).

export const REDACTED = '[REDACTED]';

/** What a policy may say about the audit log (the `audit:` key of a policy file). */
export interface AuditCaptureConfig {
  /** Store the (redacted) arguments with each tool_call record. Default false. */
  captureArgs?: boolean;
  /** Paths to always redact, as written in a policy: `args.card_number`, `args.customer.*.ssn`. */
  redact?: readonly string[];
}

interface SecretPattern {
  name: string;
  re: RegExp;
  /** Extra check of a match (Luhn for card numbers). */
  check?: (match: string) => boolean;
}

/** Patterns searched anywhere inside a string; each match is replaced by `[REDACTED:<name>]`. */
const PATTERNS: SecretPattern[] = [
  { name: 'private_key', re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g },
  { name: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { name: 'aws_access_key', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b/g },
  { name: 'github_token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b/g },
  { name: 'gitlab_token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { name: 'slack_token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { name: 'stripe_key', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}\b/g },
  { name: 'anthropic_key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { name: 'openai_key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { name: 'google_api_key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { name: 'npm_token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { name: 'bearer', re: /\b(?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{16,}/gi },
  { name: 'url_credentials', re: /(?<=[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+(?=@)/gi },
  { name: 'card_number', re: /(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])/g, check: (m) => luhn(m.replace(/[ -]/g, '')) },
];

/** Key names whose values are secrets whatever they look like. */
const SECRET_KEY = /(?:^|[_-])(?:pass(?:word|wd|phrase)?|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth(?:orization)?|credentials?|cookie|session[_-]?id|cvv|cvc|pin|ssn)(?:$|[_-])|^(?:pwd|otp)$/i;

/** The Luhn checksum of a string of 13 to 19 digits. */
export function luhn(digits: string): boolean {
  if (!/^[0-9]{13,19}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Whether a key name marks its value as a secret. */
export function isSecretKey(key: string): boolean {
  // camelCase -> snake_case so `apiKey` and `clientSecret` match too.
  return SECRET_KEY.test(key.replace(/([a-z0-9])([A-Z])/g, '$1_$2'));
}

/** Replace every secret-looking part of a string. */
export function redactString(s: string): string {
  let out = s;
  for (const p of PATTERNS) {
    out = out.replace(p.re, (m) => (p.check && !p.check(m) ? m : `[REDACTED:${p.name}]`));
  }
  return out;
}

type PathSeg = string;

/** `args.card_number` -> ['card_number']; `args.items.*.pan` -> ['items', '*', 'pan']. A leading `args.` is optional. */
export function parseRedactPath(path: string): PathSeg[] {
  const segs = path.split('.').filter((s) => s !== '');
  if (segs[0] === 'args') segs.shift();
  return segs;
}

/**
 * A redacted deep copy of `args`: the listed paths replaced by `[REDACTED]`,
 * secret-named keys replaced, secret-looking substrings replaced. Pure; never
 * changes its input.
 */
export function redactArgs(args: unknown, paths: readonly string[] = []): unknown {
  const parsed = paths.map(parseRedactPath).filter((p) => p.length > 0);
  return walk(args, parsed);
}

function walk(value: unknown, paths: PathSeg[][]): unknown {
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) {
    return value.map((v, i) => {
      const sub = descend(paths, String(i));
      if (sub.hit) return REDACTED;
      return walk(v, sub.rest);
    });
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = descend(paths, k);
      if (sub.hit || (isSecretKey(k) && v !== null && typeof v !== 'object')) out[k] = REDACTED;
      else if (isSecretKey(k) && v !== null && typeof v === 'object') out[k] = REDACTED;
      else out[k] = walk(v, sub.rest);
    }
    return out;
  }
  // Numbers: a card number may arrive as a number.
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

/** What to store for a call's arguments under a policy's audit settings: nothing unless capture is on. */
export function captureArgs(config: AuditCaptureConfig | undefined, args: unknown): unknown {
  if (!config?.captureArgs) return undefined;
  return redactArgs(args, config.redact ?? []);
}
