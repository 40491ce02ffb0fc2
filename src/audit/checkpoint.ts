// Signed checkpoints: what makes truncation of the audit log evident.
//
// A hash chain shows a changed, inserted or missing record in the middle, but
// not a missing tail, a missing chain or an empty table: what is left still
// links up. So every writer also notes its chain head (position = how many
// records the chain has had, hash, time) outside the database: as a line in
// `<stateDir>/audit-checkpoints.jsonl` (append-only, one write(2) per line)
// and as an `audit_checkpoint` event in the JSONL event log. With an HMAC key
// the line carries an HMAC over its canonical JSON, so nobody without the key
// can forge or move one. `audit verify` compares the store with the newest
// checkpoint of every chain and names a truncation precisely.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, sha256Hex } from './canonical.js';
import type { CheckpointAnchor, HashAlg } from './types.js';

export const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';
/** The event type a checkpoint has in the JSONL event log. */
export const CHECKPOINT_EVENT = 'audit_checkpoint';

export interface ChainCheckpoint {
  /** Which store the chain is in (`storeId`): a state directory can have fed SQLite and PostgreSQL. */
  store: string;
  instance: string;
  /** The chain's length when it was taken: record #n is its head. */
  n: number;
  /** Hash of record #n. */
  hash: string;
  /** ISO-8601 time it was taken. */
  ts: string;
  alg: HashAlg;
  /** HMAC-SHA256 (keyed) or SHA-256 (unkeyed: a checksum, forgeable) of the canonical fields above. */
  mac: string;
}

function macOf(c: Omit<ChainCheckpoint, 'mac'>, key?: Buffer): string {
  const text = canonicalJson({ store: c.store, instance: c.instance, n: c.n, hash: c.hash, ts: c.ts, alg: c.alg }) ?? '';
  return c.alg === 'hmac-sha256' && key ? createHmac('sha256', key).update(text).digest('hex') : sha256Hex(text);
}

export function signCheckpoint(c: Omit<ChainCheckpoint, 'mac' | 'alg'>, key?: Buffer): ChainCheckpoint {
  const unsigned = { ...c, alg: (key ? 'hmac-sha256' : 'sha256') as HashAlg };
  return { ...unsigned, mac: macOf(unsigned, key) };
}

/** Whether a checkpoint is intact, and (with a key) made with that key. */
export function checkpointValid(c: ChainCheckpoint, key?: Buffer): boolean {
  if (c.alg === 'hmac-sha256' && !key) return true; // cannot check it without the key; verify says so
  if (key && c.alg !== 'hmac-sha256') return false;
  const want = Buffer.from(macOf(c, key), 'hex');
  const got = Buffer.from(typeof c.mac === 'string' ? c.mac : '', 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

function isCheckpoint(v: unknown): v is ChainCheckpoint {
  const c = v as ChainCheckpoint;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.store === 'string' &&
    typeof c.instance === 'string' &&
    Number.isSafeInteger(c.n) &&
    c.n > 0 &&
    typeof c.hash === 'string' &&
    typeof c.ts === 'string' &&
    (c.alg === 'sha256' || c.alg === 'hmac-sha256') &&
    typeof c.mac === 'string'
  );
}

/** Appends one writer's checkpoints to the state directory's checkpoint file. */
export class CheckpointFile {
  private fd: number | null;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.fd = openSync(join(stateDir, CHECKPOINT_FILE), 'a', 0o600);
  }

  /** One line, one write(2) (O_APPEND: lines of concurrent writers never interleave). */
  append(c: ChainCheckpoint): void {
    if (this.fd === null) return;
    writeSync(this.fd, `${JSON.stringify(c)}\n`);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function parseLines(text: string, pick: (v: Record<string, unknown>) => unknown): { found: ChainCheckpoint[]; unreadable: number } {
  const found: ChainCheckpoint[] = [];
  let unreadable = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      unreadable++;
      continue;
    }
    const c = v !== null && typeof v === 'object' ? pick(v as Record<string, unknown>) : undefined;
    if (c === undefined) continue;
    if (isCheckpoint(c)) found.push({ store: c.store, instance: c.instance, n: c.n, hash: c.hash, ts: c.ts, alg: c.alg, mac: c.mac });
    else unreadable++;
  }
  return { found, unreadable };
}

export interface CheckpointSet {
  /** Every well-formed checkpoint, from the file and the event log (duplicates removed). */
  checkpoints: ChainCheckpoint[];
  /** Lines that are not checkpoints (torn or edited). */
  unreadable: number;
  /** Whether the checkpoint file exists (with lines of any store). */
  file: boolean;
}

/**
 * The store a location names, as checkpoints record it: `sqlite`, or
 * `postgres://host:port/database#schema` (no credentials).
 */
export function storeId(loc: { dsn?: string; schema?: string }): string {
  if (loc.dsn === undefined) return 'sqlite';
  try {
    const u = new URL(loc.dsn);
    const schema = loc.schema ?? u.searchParams.get('schema') ?? 'public';
    return `postgres://${u.hostname.toLowerCase()}:${u.port || '5432'}${u.pathname || '/'}#${schema}`;
  } catch {
    return `postgres:${loc.schema ?? 'public'}`;
  }
}

/** The checkpoints of a state directory for one store: its checkpoint file and the `audit_checkpoint` events of its event log. */
export function readCheckpoints(stateDir: string, store = 'sqlite'): CheckpointSet {
  const all: ChainCheckpoint[] = [];
  let unreadable = 0;
  const path = join(stateDir, CHECKPOINT_FILE);
  const file = existsSync(path);
  if (file) {
    const r = parseLines(readFileSync(path, 'utf8'), (v) => v);
    all.push(...r.found);
    unreadable += r.unreadable;
  }
  const events = join(stateDir, 'events');
  if (existsSync(events)) {
    for (const name of readdirSync(events).filter((f) => f.endsWith('.jsonl'))) {
      const text = readFileSync(join(events, name), 'utf8');
      if (!text.includes(CHECKPOINT_EVENT)) continue;
      all.push(...parseLines(text, (v) => (v.type === CHECKPOINT_EVENT ? v.checkpoint : undefined)).found);
    }
  }
  const seen = new Set<string>();
  const checkpoints = all.filter((c) => {
    if (c.store !== store) return false;
    const k = `${c.instance}\u0000${c.n}\u0000${c.mac}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { checkpoints, unreadable, file };
}

export interface TruncationProblem {
  kind: 'truncated' | 'changed' | 'forged';
  instance: string;
  n?: number;
  message: string;
}

/**
 * Compare the store with the checkpoints. `heads` is each chain's last
 * position and the hash of every position a checkpoint names (from the store
 * and any live journal); `anchors` are the retention checkpoints (records
 * pruned on purpose). Per chain, the newest valid checkpoint must still be
 * there: the chain reaches at least its position, with its hash.
 */
export function checkTruncation(
  checkpoints: readonly ChainCheckpoint[],
  chains: ReadonlyMap<string, { last: number; hashAt: (n: number) => string | undefined }>,
  anchors: ReadonlyMap<string, readonly CheckpointAnchor[]>,
  key?: Buffer,
): TruncationProblem[] {
  const problems: TruncationProblem[] = [];
  const newest = new Map<string, ChainCheckpoint>();
  for (const c of checkpoints) {
    if (!checkpointValid(c, key)) {
      problems.push({
        kind: 'forged',
        instance: c.instance,
        n: c.n,
        message: `a checkpoint of instance ${c.instance} (#${c.n}, ${c.ts}) ${key && c.alg !== 'hmac-sha256' ? 'is not signed with the HMAC key' : 'does not match its signature'}`,
      });
      continue;
    }
    const had = newest.get(c.instance);
    if (!had || c.n > had.n) newest.set(c.instance, c);
  }
  for (const [instance, c] of newest) {
    const prunedThrough = Math.max(0, ...(anchors.get(instance) ?? []).map((a) => a.through));
    if (prunedThrough >= c.n) continue; // removed by retention, with a checkpoint record saying so
    const chain = chains.get(instance);
    const saw = `the checkpoint of ${c.ts} saw ${c.n} record(s)`;
    if (!chain || chain.last === 0) {
      problems.push({ kind: 'truncated', instance, n: c.n, message: `the whole chain of instance ${instance} is missing: ${saw}` });
      continue;
    }
    if (chain.last < c.n) {
      const range = chain.last + 1 === c.n ? `record #${c.n}` : `records #${chain.last + 1}..#${c.n}`;
      problems.push({
        kind: 'truncated',
        instance,
        n: chain.last + 1,
        message: `the chain of instance ${instance} was cut short: ${range} ${chain.last + 1 === c.n ? 'is' : 'are'} missing at its end (${saw}, the last is #${chain.last})`,
      });
      continue;
    }
    const hash = chain.hashAt(c.n);
    if (hash !== undefined && hash !== c.hash) {
      problems.push({
        kind: 'changed',
        instance,
        n: c.n,
        message: `record #${c.n} of instance ${instance} is not the one the checkpoint of ${c.ts} saw: the chain was rebuilt from there on or before`,
      });
    }
  }
  return problems;
}
