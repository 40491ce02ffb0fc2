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
import {
  GENESIS_HASH,
  RECORD_FIELDS,
  type AuditRecord,
  type CheckpointAnchor,
  type HashAlg,
} from './types.js';

const BASE_FIELDS = ['alg', 'instance', 'n', 'prev_hash'] as const;
/** Every hashed field in canonical (sorted) key order, with its JSON key text. */
const HASHED = [...BASE_FIELDS, ...RECORD_FIELDS]
  .sort()
  .map((k) => ({ k, base: (BASE_FIELDS as readonly string[]).includes(k), key: `${JSON.stringify(k)}:` }));

function hashInputGeneric(r: Omit<AuditRecord, 'hash' | 'seq'>): string {
  const body: Record<string, unknown> = { alg: r.alg, instance: r.instance, n: r.n, prev_hash: r.prev_hash };
  for (const f of RECORD_FIELDS) {
    const v = r[f];
    if (v !== undefined && v !== null) body[f] = v;
  }
  return canonicalJson(body) ?? '';
}

/**
 * The text that is hashed: canonical JSON (RFC 8785) of every chained field
 * that has a value (the base fields even when null). Records hold strings,
 * numbers and nulls, so the keys are walked in their precomputed sorted
 * order; anything else takes the generic path (same output).
 */
export function hashInput(r: Omit<AuditRecord, 'hash' | 'seq'>): string {
  const rec = r as unknown as Record<string, unknown>;
  let out = '{';
  for (const h of HASHED) {
    const v = rec[h.k];
    if (v === undefined || (v === null && !h.base)) continue;
    let text: string | undefined;
    if (typeof v === 'string') text = canonicalString(v);
    else if (typeof v === 'number') text = canonicalNumber(v);
    else if (v === null) text = 'null';
    else return hashInputGeneric(r);
    out += out.length === 1 ? h.key : `,${h.key}`;
    out += text;
  }
  return `${out}}`;
}

export function computeHash(r: Omit<AuditRecord, 'hash' | 'seq'>, key?: Buffer): string {
  const text = hashInput(r);
  if (r.alg === 'hmac-sha256') {
    if (!key) throw new Error('an HMAC record needs the key');
    return createHmac('sha256', key).update(text).digest('hex');
  }
  return sha256Hex(text);
}

/** Appends records to one instance's chain (in memory: the store persists them). */
export class Chainer {
  private n: number;
  private last: string;
  readonly alg: HashAlg;

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
  next(fields: Omit<AuditRecord, 'instance' | 'n' | 'alg' | 'prev_hash' | 'hash' | 'seq'>): AuditRecord {
    const rec = { ...fields, instance: this.instance, n: this.n + 1, alg: this.alg, prev_hash: this.last } as AuditRecord;
    const hash = computeHash(rec, this.key);
    this.n += 1;
    this.last = hash;
    rec.hash = hash;
    return rec;
  }

  get position(): { n: number; hash: string } {
    return { n: this.n, hash: this.last };
  }
}

export type ProblemKind = 'changed' | 'deleted' | 'inserted' | 'reordered' | 'unverifiable';

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
  /** The first bad record of each bad chain, in store order. */
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  /** The HMAC key; when given, every record must carry an HMAC made with it. */
  key?: Buffer;
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
  return {
    ok: problems.length === 0,
    records: sorted.length,
    chains: byInstance.size,
    checkpoints: sorted.filter((r) => r.kind === 'checkpoint').length,
    problems,
  };
}

function describe(r: AuditRecord): string {
  return `record #${r.n} of instance ${r.instance} (seq ${r.seq ?? '?'}, ${r.ts}, ${r.kind}${r.tool ? ` ${r.tool}` : ''}${r.decision ? ` ${r.decision}` : ''})`;
}

function verifyChain(instance: string, chain: AuditRecord[], anchors: CheckpointAnchor[], key?: Buffer): VerifyProblem | undefined {
  const first = chain[0];
  if (!first) return undefined;
  if (first.alg === 'hmac-sha256' && !key) {
    return { kind: 'unverifiable', instance, seq: first.seq, n: first.n, message: `the chain of instance ${instance} is keyed (HMAC): pass the key file to verify it` };
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
      return { kind: 'deleted', ...at, message: `record${missing === r.n - 1 ? '' : 's'} ${range} of instance ${instance} ${missing === r.n - 1 ? 'is' : 'are'} missing before ${describe(r)}${why}` };
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
