// The hash chain: each record's hash covers its fields and the previous
// record's hash (per instance), over canonical JSON (RFC 8785). With a key the
// hash is an HMAC-SHA256, so nobody without the key can rebuild a chain.
//
// verifyRecords walks every chain in store order and names the first bad
// record of each: changed (content differs from what was hashed), deleted
// (positions missing), inserted (a record that does not belong between its
// neighbours, or a second record claiming a taken position) or reordered (a
// record stored out of its chain order).
import { createHmac } from 'node:crypto';
import { canonicalJson, canonicalNumber, canonicalString, sha256Hex } from './canonical.js';
import { checkTruncation, type ChainCheckpoint } from './checkpoint.js';
import { GENESIS_HASH, RECORD_FIELDS, type AuditRecord, type CheckpointAnchor, type HashAlg } from './types.js';

function hashInputGeneric(r: Omit<AuditRecord, 'hash' | 'seq'>): string {
  const body: Record<string, unknown> = { alg: r.alg, instance: r.instance, n: r.n, prev_hash: r.prev_hash };
  for (const f of RECORD_FIELDS) {
    const v = r[f];
    if (v !== undefined && v !== null) body[f] = v;
  }
  return canonicalJson(body) ?? '';
}

/** Thrown by `part` when a field holds something other than a string, number or null. */
const NOT_FLAT = new Error('not a flat record');

// The canonical text of the last value seen in each field (by hashInput's
// field index). Consecutive records mostly repeat instance, session, server,
// tool, decision, policy and argument hashes, so most fields are one
// comparison. The cache is exact: a value equal to the cached one has the
// same canonical text.
const lastValue: unknown[] = new Array(22).fill(undefined);
const lastText: string[] = new Array(22).fill('');

/**
 * `,"key":value` for one chained field (index i in key order), or '' when it
 * is left out (undefined; null unless it is a base field, written as null).
 */
function part(i: number, key: string, v: unknown, base: boolean): string {
  if (v === undefined) return '';
  if (v === lastValue[i]) return lastText[i]!;
  let text: string;
  if (typeof v === 'string') text = key + canonicalString(v);
  else if (typeof v === 'number') text = key + canonicalNumber(v);
  else if (v === null) text = base ? `${key}null` : '';
  else throw NOT_FLAT;
  lastValue[i] = v;
  lastText[i] = text;
  return text;
}

/**
 * The text that is hashed: canonical JSON (RFC 8785) of every chained field
 * that has a value (the base fields even when null). Records hold strings,
 * numbers and nulls, so the fields are written in their sorted (canonical)
 * key order by straight-line code; anything else takes the generic path
 * (same output). The order below is that of
 * `['alg', 'instance', 'n', 'prev_hash', ...RECORD_FIELDS].sort()` (a test
 * checks it against canonicalize with every field set).
 */
export function hashInput(r: Omit<AuditRecord, 'hash' | 'seq'>): string {
  let out: string;
  try {
    out =
      part(0, ',"alg":', r.alg, true) +
      part(1, ',"args":', r.args, false) +
      part(2, ',"args_sha256":', r.args_sha256, false) +
      part(3, ',"data":', r.data, false) +
      part(4, ',"decision":', r.decision, false) +
      part(5, ',"identity":', r.identity, false) +
      part(6, ',"instance":', r.instance, true) +
      part(7, ',"kind":', r.kind, false) +
      part(8, ',"latency_ms":', r.latency_ms, false) +
      part(9, ',"message":', r.message, false) +
      part(10, ',"n":', r.n, true) +
      part(11, ',"outcome":', r.outcome, false) +
      part(12, ',"policy_hash":', r.policy_hash, false) +
      part(13, ',"prev_hash":', r.prev_hash, true) +
      part(14, ',"reason":', r.reason, false) +
      part(15, ',"request_id":', r.request_id, false) +
      part(16, ',"rule":', r.rule, false) +
      part(17, ',"rule_pointer":', r.rule_pointer, false) +
      part(18, ',"server":', r.server, false) +
      part(19, ',"session":', r.session, false) +
      part(20, ',"tool":', r.tool, false) +
      part(21, ',"ts":', r.ts, false);
  } catch (err) {
    if (err === NOT_FLAT) return hashInputGeneric(r);
    throw err;
  }
  return out === '' ? '{}' : `{${out.slice(1)}}`;
}

function hmacHex(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

export function computeHash(r: Omit<AuditRecord, 'hash' | 'seq'>, key?: Buffer): string {
  const text = hashInput(r);
  if (r.alg === 'hmac-sha256') {
    if (!key) throw new Error('an HMAC record needs the key');
    return hmacHex(key, text);
  }
  return sha256Hex(text);
}

/** Appends records to one instance's chain (in memory: the store persists them). */
export class Chainer {
  private n: number;
  private last: string;
  readonly alg: HashAlg;
  /**
   * The JSON text of the record the last next() returned (without `seq`;
   * fields without a value left out, keys sorted): its hash input with its
   * hash added. JSON.parse gives the record back; the journal writes it
   * instead of serialising the record a second time.
   */
  lastJson = '';

  constructor(
    readonly instance: string,
    private readonly key?: Buffer,
    start: { n: number; hash: string } = { n: 0, hash: GENESIS_HASH },
  ) {
    this.alg = key ? 'hmac-sha256' : 'sha256';
    this.n = start.n;
    this.last = start.hash;
  }

  /** Fill in instance, n, alg, prev_hash and hash, and advance the chain. */
  next(f: Omit<AuditRecord, 'instance' | 'n' | 'alg' | 'prev_hash' | 'hash' | 'seq'>): AuditRecord {
    // One literal of a fixed shape: spreading `f` and adding fields makes V8
    // build a new hidden class for every record (~10 µs each on Node 20).
    const rec: AuditRecord = {
      ts: f.ts,
      kind: f.kind,
      session: f.session,
      identity: f.identity,
      server: f.server,
      tool: f.tool,
      request_id: f.request_id,
      decision: f.decision,
      reason: f.reason,
      rule: f.rule,
      rule_pointer: f.rule_pointer,
      message: f.message,
      args_sha256: f.args_sha256,
      args: f.args,
      outcome: f.outcome,
      latency_ms: f.latency_ms,
      policy_hash: f.policy_hash,
      data: f.data,
      instance: this.instance,
      n: this.n + 1,
      alg: this.alg,
      prev_hash: this.last,
      hash: '',
    };
    const text = hashInput(rec);
    const hash = this.key ? hmacHex(this.key, text) : sha256Hex(text);
    this.n += 1;
    this.last = hash;
    rec.hash = hash;
    this.lastJson = `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"hash":"${hash}"}`;
    return rec;
  }

  get position(): { n: number; hash: string } {
    return { n: this.n, hash: this.last };
  }
}

export type ProblemKind = 'changed' | 'deleted' | 'inserted' | 'reordered' | 'unverifiable' | 'truncated' | 'forged';

export interface VerifyProblem {
  kind: ProblemKind;
  instance: string;
  /** The store position of the first bad record (or of the record after a gap). */
  seq?: number;
  /** Its chain position. */
  n?: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  chains: number;
  checkpoints: number;
  /** The first bad record of each bad chain, in store order; then truncations seen against the signed checkpoints. */
  problems: VerifyProblem[];
  /** Chains compared with a signed checkpoint (absent: no checkpoints were given). */
  checkedHeads?: number;
}

export interface VerifyOptions {
  /** The HMAC key; when given, every record must carry an HMAC made with it. */
  key?: Buffer;
  /** Signed chain heads kept outside the store: each chain must still reach its newest one. */
  checkpoints?: readonly ChainCheckpoint[];
  /** Records journaled by running gateways, not yet in the store (they count as present). */
  pending?: readonly AuditRecord[];
}

/** Anchors of every checkpoint record whose own hash verifies. */
export function checkpointAnchors(records: AuditRecord[], key?: Buffer): Map<string, CheckpointAnchor[]> {
  const out = new Map<string, CheckpointAnchor[]>();
  for (const r of records) {
    if (r.kind !== 'checkpoint' || !hashOk(r, key) || !r.data) continue;
    let anchors: unknown;
    try {
      anchors = (JSON.parse(r.data) as { anchors?: unknown }).anchors;
    } catch {
      continue;
    }
    if (!Array.isArray(anchors)) continue;
    for (const a of anchors as CheckpointAnchor[]) {
      if (typeof a?.instance !== 'string' || typeof a.through !== 'number' || typeof a.hash !== 'string') continue;
      const list = out.get(a.instance) ?? [];
      list.push({ instance: a.instance, through: a.through, hash: a.hash });
      out.set(a.instance, list);
    }
  }
  return out;
}

function hashOk(r: AuditRecord, key?: Buffer): boolean {
  if (r.alg === 'hmac-sha256' && !key) return false;
  if (key && r.alg !== 'hmac-sha256') return false;
  if (r.alg !== 'sha256' && r.alg !== 'hmac-sha256') return false;
  try {
    return computeHash(r, key) === r.hash;
  } catch {
    return false;
  }
}

/** Check every chain in `records` (store order). */
export function verifyRecords(records: AuditRecord[], opts: VerifyOptions = {}): VerifyResult {
  const key = opts.key;
  const sorted = [...records].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const byInstance = new Map<string, AuditRecord[]>();
  for (const r of sorted) {
    const list = byInstance.get(r.instance) ?? [];
    list.push(r);
    byInstance.set(r.instance, list);
  }
  const anchors = checkpointAnchors(sorted, key);
  const problems: VerifyProblem[] = [];
  for (const [instance, chain] of byInstance) {
    const p = verifyChain(instance, chain, anchors.get(instance) ?? [], key);
    if (p) problems.push(p);
  }
  problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  let checkedHeads: number | undefined;
  if (opts.checkpoints) {
    const chains = new Map<string, { last: number; hashes: Map<number, string> }>();
    for (const r of [...sorted, ...(opts.pending ?? [])]) {
      const c = chains.get(r.instance) ?? { last: 0, hashes: new Map<number, string>() };
      c.last = Math.max(c.last, r.n);
      if (!c.hashes.has(r.n)) c.hashes.set(r.n, r.hash);
      chains.set(r.instance, c);
    }
    const view = new Map([...chains].map(([i, c]) => [i, { last: c.last, hashAt: (n: number) => c.hashes.get(n) }]));
    const cut = checkTruncation(opts.checkpoints, view, anchors, key);
    checkedHeads = new Set(opts.checkpoints.map((c) => c.instance)).size;
    // A chain already reported broken is not reported twice.
    const broken = new Set(problems.map((p) => p.instance));
    for (const p of cut)
      if (p.kind === 'forged' || !broken.has(p.instance))
        problems.push({ kind: p.kind, instance: p.instance, ...(p.n !== undefined ? { n: p.n } : {}), message: p.message });
  }
  return {
    ok: problems.length === 0,
    records: sorted.length,
    chains: byInstance.size,
    checkpoints: sorted.filter((r) => r.kind === 'checkpoint').length,
    problems,
    ...(checkedHeads !== undefined ? { checkedHeads } : {}),
  };
}

function describe(r: AuditRecord): string {
  return `record #${r.n} of instance ${r.instance} (seq ${r.seq ?? '?'}, ${r.ts}, ${r.kind}${r.tool ? ` ${r.tool}` : ''}${r.decision ? ` ${r.decision}` : ''})`;
}

function verifyChain(instance: string, chain: AuditRecord[], anchors: CheckpointAnchor[], key?: Buffer): VerifyProblem | undefined {
  const first = chain[0];
  if (!first) return undefined;
  if (first.alg === 'hmac-sha256' && !key) {
    return {
      kind: 'unverifiable',
      instance,
      seq: first.seq,
      n: first.n,
      message: `the chain of instance ${instance} is keyed (HMAC): pass the key file to verify it`,
    };
  }
  // Where the chain starts: position 0, or the nearest checkpoint anchor below the first record.
  let prev: { n: number; hash: string } = { n: 0, hash: GENESIS_HASH };
  for (const a of anchors) if (a.through < first.n && a.through > prev.n) prev = { n: a.through, hash: a.hash };

  const counts = new Map<number, number>();
  for (const r of chain) counts.set(r.n, (counts.get(r.n) ?? 0) + 1);

  for (let i = 0; i < chain.length; i++) {
    const r = chain[i]!;
    const s = chain[i + 1];
    const ok = hashOk(r, key);
    if (ok && r.n === prev.n + 1 && r.prev_hash === prev.hash) {
      prev = { n: r.n, hash: r.hash };
      continue;
    }
    const dup = (counts.get(r.n) ?? 0) > 1;
    const at = { instance, seq: r.seq, n: r.n };
    if (ok && !dup && r.n > prev.n + 1) {
      const missing = prev.n + 1;
      if (chain.slice(i + 1).some((x) => x.n === missing)) {
        return { kind: 'reordered', ...at, message: `${describe(r)} is out of order: it comes before record #${missing}` };
      }
      const range = missing === r.n - 1 ? `#${missing}` : `#${missing}..#${r.n - 1}`;
      const why = prev.n === 0 && missing === 1 ? ' (no checkpoint covers them)' : '';
      return {
        kind: 'deleted',
        ...at,
        message: `record${missing === r.n - 1 ? '' : 's'} ${range} of instance ${instance} ${missing === r.n - 1 ? 'is' : 'are'} missing before ${describe(r)}${why}`,
      };
    }
    if (ok && !dup && r.n <= prev.n) {
      return { kind: 'reordered', ...at, message: `${describe(r)} is out of order: it comes after record #${prev.n}` };
    }
    if (s && s.n === prev.n + 1 && s.prev_hash === prev.hash && hashOk(s, key)) {
      return { kind: 'inserted', ...at, message: `${describe(r)} was inserted: the next record follows record #${prev.n} directly` };
    }
    if (ok && dup) {
      return { kind: 'inserted', ...at, message: `${describe(r)} was inserted: another record already holds position #${r.n}` };
    }
    if (!ok) {
      if (key && r.alg !== 'hmac-sha256') {
        return { kind: 'changed', ...at, message: `${describe(r)} is not signed with the HMAC key (alg ${r.alg})` };
      }
      const linked = s !== undefined && s.prev_hash === r.hash;
      if (!linked && r.prev_hash !== prev.hash && r.n !== prev.n + 1) {
        return { kind: 'inserted', ...at, message: `${describe(r)} was inserted: its hash and its link match no record of the chain` };
      }
      return { kind: 'changed', ...at, message: `${describe(r)} was changed: its content no longer matches its hash` };
    }
    return { kind: 'changed', ...at, message: `${describe(r)} was changed: its link to record #${prev.n} was rewritten` };
  }
  return undefined;
}
