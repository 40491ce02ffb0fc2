// Finding secrets in text: the secretlint recommended preset's rules (a
// maintained, tested rule set: cloud and SaaS keys, tokens, private keys,
// credentials in URLs, database connection strings), plus toolgate's own
// patterns for what the preset leaves out (JWTs, bearer credentials, Stripe
// and Google keys, cut-off PEM blocks, card numbers). Every place that shows
// or stores arguments goes through here: the audit log, the approval store,
// the approval API and dashboard, the elicitation prompt.
import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';

/** One secret found in a text: `text.slice(start, end)`, and what kind it is. */
export interface SecretMatch {
  kind: string;
  start: number;
  end: number;
}

// The part of a secretlint rule that toolgate drives (the preset's own
// declarations name a package that is not installed with it).
interface Report {
  range: readonly [number, number];
}
interface Context {
  report(d: Report): void;
  ignore(d: unknown): void;
  createTranslator(messages: unknown): (id: string, data?: Record<string, unknown>) => string;
}
interface Rule {
  meta: { id: string };
  create(context: Context, options: Record<string, unknown>): { file?: (source: { content: string; ext: string; contentType: 'text' }) => unknown };
}

// Left out: filter-comments (a `secretlint-disable` comment in an argument
// would let the agent switch detection off) and gcp (it reads key files by path).
const SKIPPED = new Set(['@secretlint/secretlint-rule-filter-comments', '@secretlint/secretlint-rule-gcp']);
/** AWS access key ids (AKIA...) are found only when asked for. */
const OPTIONS: Record<string, Record<string, unknown>> = { '@secretlint/secretlint-rule-aws': { enableIDScanRule: true } };
const RULES = (presetRules as unknown as Rule[]).filter((r) => !SKIPPED.has(r.meta.id));
/** What a redaction says it removed: `[REDACTED:<kind>]`. */
const KINDS: Record<string, string> = {
  aws: 'aws_key',
  github: 'github_token',
  slack: 'slack_token',
  openai: 'openai_key',
  anthropic: 'anthropic_key',
  npm: 'npm_token',
  sendgrid: 'sendgrid_key',
  shopify: 'shopify_token',
  linear: 'linear_key',
  '1password': 'onepassword_token',
  privatekey: 'private_key',
  basicauth: 'url_credentials',
  'database-connection-string': 'connection_string',
};
const kindOf = (id: string) => {
  const name = id.replace('@secretlint/secretlint-rule-', '');
  return KINDS[name] ?? name.replace(/-/g, '_');
};

/** Patterns for what the preset does not cover. */
const OWN: Array<{ kind: string; re: RegExp; check?: (m: string) => boolean }> = [
  // A PEM block, also one cut off before its END line (the preset wants a whole, well-formed key).
  { kind: 'private_key', re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g },
  { kind: 'bearer', re: /\b(?:Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{16,}/gi },
  { kind: 'stripe_key', re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\b/g },
  { kind: 'google_api_key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'gitlab_token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'slack_token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { kind: 'anthropic_key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  // Newer and older OpenAI key shapes than the preset's.
  { kind: 'openai_key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  // user:password@ in any URL (the preset's basicauth rule wants http(s)).
  { kind: 'url_credentials', re: /(?<=[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+(?=@)/gi },
  { kind: 'card_number', re: /(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])/g, check: (m) => luhn(m.replace(/[ -]/g, '')) },
];

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

/** Every secret in `text`, overlapping finds merged, in text order. */
export function findSecrets(text: string): SecretMatch[] {
  const found: SecretMatch[] = [];
  for (const rule of RULES) {
    const kind = kindOf(rule.meta.id);
    // A rule names what it found in its message data too: every occurrence of
    // such a value is masked, so a rule whose range is off cannot leak a part of it.
    const context: Context = {
      report: (d) => found.push({ kind, start: d.range[0], end: d.range[1] }),
      ignore: () => {},
      createTranslator: () => (id, data) => {
        for (const v of Object.values(data ?? {})) {
          if (typeof v !== 'string' || v.length < 8) continue;
          for (let at = text.indexOf(v); at !== -1; at = text.indexOf(v, at + v.length)) found.push({ kind, start: at, end: at + v.length });
        }
        return id;
      },
    };
    try {
      rule.create(context, OPTIONS[rule.meta.id] ?? {}).file?.({ content: text, ext: '', contentType: 'text' });
    } catch {
      // a rule that fails on odd input finds nothing there; the others still run
    }
  }
  for (const p of OWN) {
    for (const m of text.matchAll(p.re)) {
      if (p.check && !p.check(m[0])) continue;
      found.push({ kind: p.kind, start: m.index, end: m.index + m[0].length });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: SecretMatch[] = [];
  for (const f of found) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) last.end = Math.max(last.end, f.end);
    else if (f.end > f.start) merged.push({ ...f });
  }
  return merged;
}

/** `text` with every secret replaced by `[REDACTED:<kind>]`. */
export function redactText(text: string): string {
  const found = findSecrets(text);
  if (found.length === 0) return text;
  let out = '';
  let at = 0;
  for (const f of found) {
    out += `${text.slice(at, f.start)}[REDACTED:${f.kind}]`;
    at = f.end;
  }
  return out + text.slice(at);
}
