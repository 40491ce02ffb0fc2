// The `hooks` block (toolgate extension, the same shape in Intercept YAML and
// PolicyLayer JSON): external services a call (and its result) is shown to
// before it goes on — an HTTP webhook, or an interceptor server over MCP (the
// interceptors extension, SEP-2624). Validation hooks allow or deny; mutation
// hooks return changed arguments or a changed result, which the gateway checks
// again (guards, then the policy). Pure data here; src/hooks calls them.
import { jArray, jObject, jString, type JNode } from './jsonnode.js';
import { goQuote } from './govalue.js';
import { closest, type Issue } from '../yamlpos/index.js';
import { globMatcher } from './glob.js';
import { parseGoDuration } from './duration.js';

export const HOOK_TYPES = ['validation', 'mutation'] as const;
export type HookType = (typeof HOOK_TYPES)[number];
export const HOOK_PHASES = ['request', 'response', 'both'] as const;
export type HookPhases = (typeof HOOK_PHASES)[number];
export const HOOK_MODES = ['enforce', 'audit'] as const;
export type HookMode = (typeof HOOK_MODES)[number];

const HOOK_KEYS = [
  'name',
  'type',
  'phases',
  'tools',
  'servers',
  'mode',
  'fail_open',
  'timeout',
  'max_concurrency',
  'breaker',
  'url',
  'secret_env',
  'interceptor',
] as const;
const BREAKER_KEYS = ['failures', 'reset'] as const;
const INTERCEPTOR_KEYS = ['name', 'url', 'command'] as const;

export const HOOK_DEFAULTS = { timeout: '5s', maxConcurrency: 8, failures: 5, reset: '30s' } as const;
const MAX_TIMEOUT_MS = 60_000;

/** One hook as written (defaults not filled in: convert writes back what was written). Plain JSON (the policy cache keeps it). */
export interface RawHook {
  name: string;
  type: HookType;
  phases?: HookPhases;
  tools?: string[];
  servers?: string[];
  mode?: HookMode;
  fail_open?: boolean;
  timeout?: string;
  max_concurrency?: number;
  breaker?: { failures?: number; reset?: string };
  /** An HTTP webhook (POST, JSON). */
  url?: string;
  /** The environment variable holding the webhook's HMAC secret. */
  secret_env?: string;
  /** An interceptor server over MCP: its interceptor's name, and how to reach it. */
  interceptor?: { name: string; url?: string; command?: string[] };
}

/** A hook with its defaults filled in, as the gateway runs it. */
export interface CompiledHook {
  name: string;
  type: HookType;
  request: boolean;
  response: boolean;
  mode: HookMode;
  failOpen: boolean;
  timeoutMs: number;
  maxConcurrency: number;
  breaker: { failures: number; resetMs: number };
  target: { kind: 'webhook'; url: string; secretEnv?: string } | { kind: 'interceptor'; name: string; url?: string; command?: string[] };
  /** Whether the hook applies to a call of `tool` (on `server`, in serve). */
  applies(tool: string, server?: string): boolean;
  /** Identity of what it reaches and how (its breaker and connection are kept per key). */
  key: string;
}

export interface CompiledHooks {
  list: readonly CompiledHook[];
  /** The hooks on one phase of a call, in the order written. */
  on(phase: 'request' | 'response', tool: string, server?: string): CompiledHook[];
  raw: RawHook[];
}

function oneOf<T extends string>(issues: Issue[], n: JNode, what: string, allowed: readonly T[]): T | undefined {
  const s = jString(issues, n, what);
  if ((allowed as readonly string[]).includes(s)) return s as T;
  if (n.kind === 'string') {
    const near = closest(s, allowed);
    issues.push({
      offset: n.at,
      message: `${what} must be one of ${allowed.join(', ')}, got ${goQuote(s)}`,
      fix: near ? `did you mean ${JSON.stringify(near)}?` : `use one of ${allowed.join(', ')}`,
    });
  }
  return undefined;
}

function strings(issues: Issue[], n: JNode, what: string): string[] {
  return (jArray(issues, n, what) ?? []).map((x, i) => {
    const s = jString(issues, x, `${what}[${i}]`);
    if (x.kind === 'string' && s.trim() === '') issues.push({ offset: x.at, message: `${what}[${i}] must not be empty`, fix: 'remove it' });
    return s;
  });
}

function int(issues: Issue[], n: JNode, what: string, min: number, max: number): number | undefined {
  if (n.kind === 'number' && n.int && n.value >= min && n.value <= max) return n.value;
  issues.push({ offset: n.at, message: `${what} must be a whole number from ${min} to ${max}`, fix: `use a number from ${min} to ${max}` });
  return undefined;
}

function duration(issues: Issue[], n: JNode, what: string, maxMs: number): string | undefined {
  const s = jString(issues, n, what);
  if (n.kind !== 'string') return undefined;
  const ms = parseGoDuration(s);
  if (ms !== undefined && ms > 0 && ms <= maxMs) return s;
  issues.push({
    offset: n.at,
    message: `${what} must be a duration above 0 and at most ${maxMs / 1000}s, got ${goQuote(s)}`,
    fix: 'write e.g. "2s" or "500ms"',
  });
  return undefined;
}

function httpUrl(issues: Issue[], n: JNode, what: string): string | undefined {
  const s = jString(issues, n, what);
  if (n.kind !== 'string') return undefined;
  let u: URL | undefined;
  try {
    u = new URL(s);
  } catch {
    u = undefined;
  }
  if (u && (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '') return s;
  issues.push({
    offset: n.at,
    message: `${what} must be an http:// or https:// URL without credentials, got ${goQuote(s)}`,
    fix: 'write e.g. "https://hooks.example.com/toolgate" (a secret goes in secret_env, never in the URL)',
  });
  return undefined;
}

function decodeHook(issues: Issue[], n: JNode, where: string): RawHook | undefined {
  const h: Partial<RawHook> = {};
  for (const f of jObject(issues, n, where, HOOK_KEYS) ?? []) {
    const v = f.value;
    const at = `${where}.${f.key}`;
    switch (f.key) {
      case 'name':
        h.name = jString(issues, v, at);
        break;
      case 'type': {
        const t = oneOf(issues, v, at, HOOK_TYPES);
        if (t) h.type = t;
        break;
      }
      case 'phases': {
        const p = oneOf(issues, v, at, HOOK_PHASES);
        if (p) h.phases = p;
        break;
      }
      case 'mode': {
        const m = oneOf(issues, v, at, HOOK_MODES);
        if (m) h.mode = m;
        break;
      }
      case 'tools':
        h.tools = strings(issues, v, at);
        break;
      case 'servers':
        h.servers = strings(issues, v, at);
        break;
      case 'fail_open':
        if (v.kind === 'bool') h.fail_open = v.value;
        else issues.push({ offset: v.at, message: `${at} must be true or false`, fix: 'use true or false (false: a hook that fails denies the call)' });
        break;
      case 'timeout': {
        const d = duration(issues, v, at, MAX_TIMEOUT_MS);
        if (d) h.timeout = d;
        break;
      }
      case 'max_concurrency': {
        const c = int(issues, v, at, 1, 1000);
        if (c !== undefined) h.max_concurrency = c;
        break;
      }
      case 'breaker': {
        const b: NonNullable<RawHook['breaker']> = {};
        for (const bf of jObject(issues, v, at, BREAKER_KEYS) ?? []) {
          if (bf.key === 'failures') {
            const c = int(issues, bf.value, `${at}.failures`, 1, 1000);
            if (c !== undefined) b.failures = c;
          } else {
            const d = duration(issues, bf.value, `${at}.reset`, 3_600_000);
            if (d) b.reset = d;
          }
        }
        h.breaker = b;
        break;
      }
      case 'url': {
        const u = httpUrl(issues, v, at);
        if (u) h.url = u;
        break;
      }
      case 'secret_env': {
        const s = jString(issues, v, at);
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) h.secret_env = s;
        else if (v.kind === 'string')
          issues.push({
            offset: v.at,
            message: `${at} must name an environment variable, got ${goQuote(s)}`,
            fix: 'write e.g. TOOLGATE_HOOK_SECRET (never the secret itself)',
          });
        break;
      }
      case 'interceptor': {
        const i: Partial<NonNullable<RawHook['interceptor']>> = {};
        for (const inf of jObject(issues, v, at, INTERCEPTOR_KEYS) ?? []) {
          if (inf.key === 'name') i.name = jString(issues, inf.value, `${at}.name`);
          else if (inf.key === 'url') {
            const u = httpUrl(issues, inf.value, `${at}.url`);
            if (u) i.url = u;
          } else {
            const c = strings(issues, inf.value, `${at}.command`);
            if (c.length === 0) issues.push({ offset: inf.value.at, message: `${at}.command must not be empty`, fix: 'write e.g. ["node", "interceptor.js"]' });
            i.command = c;
          }
        }
        if (v.kind === 'object') {
          if (!i.name) issues.push({ offset: v.at, message: `${at}.name is required (the interceptor to invoke)`, fix: 'add name: <interceptor name>' });
          if ((i.url === undefined) === (i.command === undefined))
            issues.push({ offset: v.at, message: `${at} needs exactly one of url (Streamable HTTP) and command (stdio)`, fix: 'keep one of them' });
        }
        h.interceptor = i as RawHook['interceptor'];
        break;
      }
    }
  }
  if (n.kind !== 'object') return undefined;
  if (!h.name || h.name.trim() === '') issues.push({ offset: n.at, message: `${where}.name is required`, fix: 'add name: <a name for the audit log>' });
  if (!h.type) issues.push({ offset: n.at, message: `${where}.type is required`, fix: 'add type: validation (allow/deny) or type: mutation (may rewrite)' });
  if ((h.url === undefined) === (h.interceptor === undefined))
    issues.push({
      offset: n.at,
      message: `${where} needs exactly one of url (an HTTP webhook) and interceptor (an MCP interceptor server)`,
      fix: 'keep one of them',
    });
  if (h.secret_env !== undefined && h.url === undefined)
    issues.push({ offset: n.at, message: `${where}.secret_env signs webhook requests; this hook has no url`, fix: 'remove secret_env' });
  return h.name && h.type ? (h as RawHook) : undefined;
}

/** Decode and check a `hooks` list; problems go to `issues` with their offsets. */
export function decodeHooks(issues: Issue[], n: JNode): RawHook[] {
  const out: RawHook[] = [];
  const seen = new Set<string>();
  for (const [i, item] of (jArray(issues, n, 'hooks') ?? []).entries()) {
    const h = decodeHook(issues, item, `hooks[${i}]`);
    if (!h) continue;
    if (seen.has(h.name))
      issues.push({
        offset: item.at,
        message: `hooks[${i}]: the name ${goQuote(h.name)} is used twice`,
        fix: 'give each hook its own name (the audit log names it)',
      });
    seen.add(h.name);
    out.push(h);
  }
  return out;
}

export function compileHooks(raw: RawHook[]): CompiledHooks {
  const list: CompiledHook[] = raw.map((h) => {
    const tools = (h.tools ?? ['*']).map(globMatcher);
    const servers = h.servers;
    const phases = h.phases ?? 'request';
    const target: CompiledHook['target'] = h.url
      ? { kind: 'webhook', url: h.url, ...(h.secret_env ? { secretEnv: h.secret_env } : {}) }
      : {
          kind: 'interceptor',
          name: h.interceptor!.name,
          ...(h.interceptor!.url ? { url: h.interceptor!.url } : {}),
          ...(h.interceptor!.command ? { command: [...h.interceptor!.command] } : {}),
        };
    const c: Omit<CompiledHook, 'key' | 'applies'> = {
      name: h.name,
      type: h.type,
      request: phases !== 'response',
      response: phases !== 'request',
      mode: h.mode ?? 'enforce',
      failOpen: h.fail_open ?? false,
      timeoutMs: parseGoDuration(h.timeout ?? HOOK_DEFAULTS.timeout)!,
      maxConcurrency: h.max_concurrency ?? HOOK_DEFAULTS.maxConcurrency,
      breaker: { failures: h.breaker?.failures ?? HOOK_DEFAULTS.failures, resetMs: parseGoDuration(h.breaker?.reset ?? HOOK_DEFAULTS.reset)! },
      target,
    };
    return {
      ...c,
      key: JSON.stringify([c.name, c.target, c.maxConcurrency, c.breaker]),
      applies: (tool: string, server?: string) => tools.some((m) => m(tool)) && (servers === undefined || (server !== undefined && servers.includes(server))),
    };
  });
  return {
    list,
    raw,
    on: (phase, tool, server) => list.filter((h) => (phase === 'request' ? h.request : h.response) && h.applies(tool, server)),
  };
}

/** The `hooks` list as a plain document (the same in YAML and JSON), for convert. */
export function hooksDocument(raw: RawHook[]): Array<Record<string, unknown>> {
  return raw.map((h) => JSON.parse(JSON.stringify(h)) as Record<string, unknown>);
}
