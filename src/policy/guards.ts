// The `guards` block (toolgate extension, the same shape in Intercept YAML and
// PolicyLayer JSON): what the gateway looks for in results and arguments
// (secrets and personal data) and which values may not travel from one tool to
// another (taint). Decoded from one positioned tree for both formats, so an
// error names file:line:col either way. Pure data; the detectors themselves
// live in src/guards (this room only knows their names).
import { isMap, isScalar, isSeq, isPair } from 'yaml';
import { deref, offsetOf, scalarValue, type DecodeContext, type Issue } from '../yamlpos/index.js';
import { jArray, jObject, jString, type JNode } from './jsonnode.js';
import { goQuote } from './govalue.js';
import { closest } from '../yamlpos/index.js';
import { globMatcher } from './glob.js';
import { DEFAULT_APPROVAL_TIMEOUT_MS, formatDuration, MAX_TIMEOUT_MS, parseDuration } from './duration.js';

/** Detector names a policy may use (src/guards implements each; a test checks it). */
export const DETECTORS = ['credentials', 'card_number', 'iban', 'email', 'phone', 'national_id'] as const;
export type DetectorName = (typeof DETECTORS)[number];
/** Names that stand for several detectors. */
export const DETECTOR_GROUPS: Record<string, readonly DetectorName[]> = {
  pii: ['card_number', 'iban', 'email', 'phone', 'national_id'],
  all: DETECTORS,
};
/** Without `detectors`: credentials and the checksum-verified financial numbers (few false positives). */
export const DEFAULT_DETECTORS: readonly DetectorName[] = ['credentials', 'card_number', 'iban'];
export const DETECT_ACTIONS = ['redact', 'block', 'audit', 'off'] as const;
export type DetectAction = (typeof DETECT_ACTIONS)[number];
export const SCAN_TARGETS = ['results', 'arguments'] as const;
export type ScanTarget = (typeof SCAN_TARGETS)[number];
/** hold: the call waits for a human (the approval queue), as a require_approval rule's would. */
export const TAINT_ACTIONS = ['deny', 'hold', 'audit'] as const;
export type TaintAction = (typeof TAINT_ACTIONS)[number];
export const TAINT_SCOPES = ['session', 'identity'] as const;

const GUARDS_KEYS = ['detect', 'taint'] as const;
const DETECT_KEYS = ['action', 'detectors', 'scan', 'tools'] as const;
const DETECT_TOOL_KEYS = ['action', 'detectors', 'scan'] as const;
const TAINT_KEYS = ['sources', 'detected', 'action', 'scope', 'min_length', 'exempt', 'same_server', 'approval_timeout'] as const;
export const SAME_SERVER = ['check', 'allow'] as const;

/** One detect setting (global, or a tool's override of some of it). Plain JSON: the policy cache keeps it. */
export interface RawDetect {
  action?: DetectAction;
  detectors?: DetectorName[];
  scan?: ScanTarget[];
}

export interface RawGuards {
  detect?: RawDetect & { tools: Array<{ pattern: string } & RawDetect> };
  taint?: {
    sources: string[];
    detected: boolean;
    action: TaintAction;
    scope: 'session' | 'identity';
    minLength: number;
    exempt: string[];
    /** `allow`: a value may go back to the server it came from (serve; in the single-server gateway that is every call). */
    sameServer: 'check' | 'allow';
    /** action: hold: how long the call waits for a human (default DEFAULT_APPROVAL_TIMEOUT_MS). */
    approvalTimeoutMs?: number;
  };
}

/** The compiled form the gateway reads. */
export interface DetectSetting {
  action: DetectAction;
  detectors: readonly DetectorName[];
  scan: readonly ScanTarget[];
}

export interface CompiledGuards {
  /** The detect setting for a tool: its first matching override over the global one; undefined when there is no detect block. */
  detectFor(tool: string): DetectSetting | undefined;
  taint?: {
    /** Whether a tool's results are a source of tainted values. */
    isSource(tool: string): boolean;
    detected: boolean;
    action: TaintAction;
    scope: 'session' | 'identity';
    minLength: number;
    /** Tools whose arguments are never checked (e.g. the server that owns the secret). */
    isExempt(tool: string): boolean;
    sameServer: 'check' | 'allow';
    /** action: hold: how long the call waits for a human. */
    approvalTimeoutMs: number;
  };
  /** The raw form, for hashing and convert. */
  raw: RawGuards;
}

// ---------------------------------------------------------------- YAML -> positioned tree

/** A YAML subtree as the positioned JSON tree (so both formats decode guards with one decoder). */
export function yamlToJNode(ctx: DecodeContext, n: unknown, fallback: number, depth = 0): JNode {
  const d = deref(ctx, n);
  const at = offsetOf(d, fallback);
  if (!d || depth > 32) return { kind: 'null', at };
  if (isMap(d)) {
    const entries = [];
    for (const p of d.items) {
      if (!isPair(p)) continue;
      const k = deref(ctx, p.key);
      const keyAt = offsetOf(p.key, at);
      const key = k && isScalar(k) ? String(k.source ?? k.value ?? '') : '';
      entries.push({ key, keyAt, value: yamlToJNode(ctx, p.value, keyAt, depth + 1) });
    }
    return { kind: 'object', at, entries };
  }
  if (isSeq(d)) return { kind: 'array', at, items: d.items.map((x) => yamlToJNode(ctx, x, at, depth + 1)) };
  if (isScalar(d)) {
    const g = scalarValue(d);
    if (g.t === 'string') return { kind: 'string', at, value: g.v };
    if (g.t === 'bool') return { kind: 'bool', at, value: g.v };
    if (g.t === 'int' || g.t === 'uint' || g.t === 'float') return { kind: 'number', at, value: g.v, int: g.t !== 'float', text: String(g.v) };
  }
  return { kind: 'null', at };
}

// ---------------------------------------------------------------- decoding (both formats)

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

function names(issues: Issue[], n: JNode, what: string): Array<{ name: string; at: number }> {
  return (jArray(issues, n, what) ?? []).map((x, i) => ({ name: jString(issues, x, `${what}[${i}]`), at: x.at }));
}

function detectors(issues: Issue[], n: JNode, what: string): DetectorName[] {
  const out: DetectorName[] = [];
  const known = [...DETECTORS, ...Object.keys(DETECTOR_GROUPS)];
  for (const d of names(issues, n, what)) {
    const group = DETECTOR_GROUPS[d.name];
    if (group) out.push(...group);
    else if ((DETECTORS as readonly string[]).includes(d.name)) out.push(d.name as DetectorName);
    else {
      const near = closest(d.name, known);
      issues.push({
        offset: d.at,
        message: `${what}: unknown detector ${goQuote(d.name)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`,
        fix: `use one of ${known.join(', ')}`,
      });
    }
  }
  return [...new Set(out)];
}

function decodeDetect(issues: Issue[], n: JNode, where: string, keys: readonly string[]): RawDetect & { tools?: JNode } {
  const out: RawDetect & { tools?: JNode } = {};
  for (const f of jObject(issues, n, where, keys) ?? []) {
    if (f.key === 'action') {
      const a = oneOf(issues, f.value, `${where}.action`, DETECT_ACTIONS);
      if (a) out.action = a;
    } else if (f.key === 'detectors') out.detectors = detectors(issues, f.value, `${where}.detectors`);
    else if (f.key === 'scan') {
      const scan: ScanTarget[] = [];
      for (const x of jArray(issues, f.value, `${where}.scan`) ?? []) {
        const t = oneOf(issues, x, `${where}.scan[]`, SCAN_TARGETS);
        if (t) scan.push(t);
      }
      out.scan = scan;
    } else if (f.key === 'tools') out.tools = f.value;
  }
  return out;
}

/** Decode and check a `guards` block; problems go to `issues` with their offsets. */
export function decodeGuards(issues: Issue[], n: JNode): RawGuards {
  const g: RawGuards = {};
  for (const f of jObject(issues, n, 'guards', GUARDS_KEYS) ?? []) {
    if (f.key === 'detect') {
      const { tools, ...base } = decodeDetect(issues, f.value, 'guards.detect', DETECT_KEYS);
      const perTool: Array<{ pattern: string } & RawDetect> = [];
      if (tools) {
        for (const t of jObject(issues, tools, 'guards.detect.tools', null) ?? []) {
          if (t.key.trim() === '')
            issues.push({ offset: t.keyAt, message: 'guards.detect.tools: a tool name must not be empty', fix: 'name a tool or a glob such as fs_*' });
          const { tools: _ignored, ...own } = decodeDetect(issues, t.value, `guards.detect.tools.${t.key}`, DETECT_TOOL_KEYS);
          perTool.push({ pattern: t.key, ...own });
        }
      }
      g.detect = { ...base, tools: perTool };
    } else {
      const taint: NonNullable<RawGuards['taint']> = {
        sources: [],
        detected: true,
        action: 'deny',
        scope: 'session',
        minLength: 12,
        exempt: [],
        sameServer: 'check',
      };
      let sourcesSeen = false;
      for (const tf of jObject(issues, f.value, 'guards.taint', TAINT_KEYS) ?? []) {
        const v = tf.value;
        const where = `guards.taint.${tf.key}`;
        if (tf.key === 'sources') {
          sourcesSeen = true;
          taint.sources = names(issues, v, where).map((x) => x.name);
        } else if (tf.key === 'exempt') taint.exempt = names(issues, v, where).map((x) => x.name);
        else if (tf.key === 'detected') {
          if (v.kind === 'bool') taint.detected = v.value;
          else issues.push({ offset: v.at, message: `${where} must be true or false`, fix: 'use true or false' });
        } else if (tf.key === 'action') taint.action = oneOf(issues, v, where, TAINT_ACTIONS) ?? 'deny';
        else if (tf.key === 'same_server') taint.sameServer = oneOf(issues, v, where, SAME_SERVER) ?? 'check';
        else if (tf.key === 'approval_timeout') {
          const ms = v.kind === 'string' ? parseDuration(v.value) : undefined;
          if (ms !== undefined && ms >= 1000 && ms <= MAX_TIMEOUT_MS) taint.approvalTimeoutMs = ms;
          else
            issues.push({
              offset: v.at,
              message: `${where} must be a duration from 1s to 168h such as "10m", got ${v.kind === 'string' ? goQuote(v.value) : v.kind}`,
              fix: 'use e.g. "10m" or "1h30m"',
            });
        } else if (tf.key === 'scope') taint.scope = oneOf(issues, v, where, TAINT_SCOPES) ?? 'session';
        else if (tf.key === 'min_length') {
          if (v.kind === 'number' && v.int && v.value >= 4 && v.value <= 4096) taint.minLength = v.value;
          else
            issues.push({
              offset: v.at,
              message: `${where} must be a whole number from 4 to 4096`,
              fix: 'use e.g. 12 (shorter values would match ordinary words)',
            });
        }
      }
      if (taint.approvalTimeoutMs !== undefined && taint.action !== 'hold')
        issues.push({
          offset: f.value.at,
          message: `guards.taint.approval_timeout applies only to action: hold (action is ${taint.action})`,
          fix: 'set action: hold, or remove approval_timeout',
        });
      if (!sourcesSeen && !taint.detected)
        issues.push({
          offset: f.value.at,
          message: 'guards.taint has no sources and detected: false, so it never taints anything',
          fix: 'list source tools under sources, or set detected: true',
        });
      g.taint = taint;
    }
  }
  return g;
}

// ---------------------------------------------------------------- compiling

export function compileGuards(raw: RawGuards): CompiledGuards {
  const detect = raw.detect;
  const base: DetectSetting | undefined = detect
    ? { action: detect.action ?? 'redact', detectors: detect.detectors ?? DEFAULT_DETECTORS, scan: detect.scan ?? SCAN_TARGETS }
    : undefined;
  const overrides = (detect?.tools ?? []).map((t) => ({ matches: globMatcher(t.pattern), t }));
  const out: CompiledGuards = {
    raw,
    detectFor(tool) {
      if (!base) return undefined;
      const o = overrides.find((x) => x.matches(tool))?.t;
      return o ? { action: o.action ?? base.action, detectors: o.detectors ?? base.detectors, scan: o.scan ?? base.scan } : base;
    },
  };
  if (raw.taint) {
    const t = raw.taint;
    const sources = t.sources.map(globMatcher);
    const exempt = t.exempt.map(globMatcher);
    out.taint = {
      isSource: (tool) => sources.some((m) => m(tool)),
      isExempt: (tool) => exempt.some((m) => m(tool)),
      detected: t.detected,
      action: t.action,
      scope: t.scope,
      minLength: t.minLength,
      sameServer: t.sameServer,
      approvalTimeoutMs: t.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS,
    };
  }
  return out;
}

// ---------------------------------------------------------------- writing (convert)

/** The `guards` block as a plain document (the same in YAML and JSON), for convert. */
export function guardsDocument(raw: RawGuards): Record<string, unknown> {
  const detect = (d: RawDetect): Record<string, unknown> => ({
    ...(d.action ? { action: d.action } : {}),
    ...(d.detectors ? { detectors: [...d.detectors] } : {}),
    ...(d.scan ? { scan: [...d.scan] } : {}),
  });
  const out: Record<string, unknown> = {};
  if (raw.detect) {
    const tools = Object.fromEntries(raw.detect.tools.map(({ pattern, ...d }) => [pattern, detect(d)]));
    out.detect = { ...detect(raw.detect), ...(raw.detect.tools.length > 0 ? { tools } : {}) };
  }
  if (raw.taint) {
    const t = raw.taint;
    out.taint = {
      sources: [...t.sources],
      detected: t.detected,
      action: t.action,
      scope: t.scope,
      min_length: t.minLength,
      same_server: t.sameServer,
      ...(t.approvalTimeoutMs !== undefined ? { approval_timeout: formatDuration(t.approvalTimeoutMs) } : {}),
      ...(t.exempt.length > 0 ? { exempt: [...t.exempt] } : {}),
    };
  }
  return out;
}
