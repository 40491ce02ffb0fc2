// A cache of parsed YAML policies, for start-up. Parsing YAML with source
// positions is the largest single cost of starting a stdio gateway (the YAML
// library runs cold, before the JIT has warmed up). A policy that parsed and
// validated without errors is kept as JSON of its validated raw form, keyed
// by the SHA-256 of the build of toolgate and of the policy text: the same
// text with the same build always parses to the same raw form, so a hit
// compiles exactly what a parse would. Compilation itself (conditions,
// regexes, the policy hash) always runs.
//
// Trust: none over the file. The key (build id and text) is no secret, so
// anyone who can write the state directory can write an entry under it: a hit
// only lets start-up open early, and the text is parsed before the first call
// is decided (confirmCachedPolicy in index.ts); an entry that compiles to
// another policy is replaced. An entry is read only when it is a regular file
// of this user that no one else may write; a broken or foreign entry is
// ignored. Policies with errors are never cached, so their messages always
// come from the parser.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawConfig } from './raw.js';

/** The cache's folder inside the state directory. */
export const POLICY_CACHE_DIR = 'policy-cache';

/** Entries kept; older ones go when a new one is written. */
const MAX_ENTRIES = 32;

let buildIdMemo: string | null | undefined;

/**
 * The build's identity (dist/build-id, written by scripts/postbuild.mjs): every
 * build invalidates the cache, so a changed parser never meets an old entry.
 * Null when it is missing (no cache then).
 */
function buildId(): string | null {
  if (buildIdMemo === undefined) {
    try {
      // dist/src/policy/ and dist/bundle/cli/ are both two levels below dist/.
      buildIdMemo = readFileSync(fileURLToPath(new URL('../../build-id', import.meta.url)), 'utf8').trim() || null;
    } catch {
      buildIdMemo = null;
    }
  }
  return buildIdMemo;
}

/** JSON of the raw form, or undefined when JSON cannot carry it exactly (then it is not cached). */
function encode(config: RawConfig): string | undefined {
  // The compiled regex is rebuilt from its pattern on compile.
  const text = JSON.stringify(config, (k, v: unknown) => (k === 'regex' ? undefined : v));
  return sameData(config, JSON.parse(text) as unknown) ? text : undefined;
}

/** Deep equality of plain data, ignoring compiled regexes and properties whose value is undefined. */
function sameData(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null) return Object.is(a, b);
  if (typeof b !== 'object' || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameData(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => k !== 'regex' && o[k] !== undefined);
  const ak = keys(ao);
  const bk = keys(bo);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && sameData(ao[k], bo[k]));
}

export class PolicyCache {
  /** `build` replaces the build's identity (tests). */
  constructor(
    private readonly dir: string,
    private readonly build: string | null = buildId(),
  ) {}

  private keyOf(text: string): string | undefined {
    const id = this.build;
    return id === null ? undefined : createHash('sha256').update(id).update('\0').update(text).digest('hex');
  }

  /** The raw form parsed earlier from exactly this text by this build, if cached and trustworthy. */
  get(text: string): RawConfig | undefined {
    const key = this.keyOf(text);
    if (!key) return undefined;
    let fd: number | undefined;
    try {
      fd = openSync(join(this.dir, `${key}.json`), 'r');
      const st = fstatSync(fd);
      const uid = process.getuid?.();
      if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
      const entry = JSON.parse(readFileSync(fd, 'utf8')) as { key?: unknown; config?: RawConfig };
      return entry.key === key && entry.config && typeof entry.config === 'object' ? entry.config : undefined;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Keep the raw form of a policy that parsed without errors (best effort: a cache that cannot be written is skipped). */
  put(text: string, config: RawConfig): void {
    const key = this.keyOf(text);
    if (!key) return;
    const body = encode(config);
    if (body === undefined) return;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const tmp = join(this.dir, `.${key}.${process.pid}.tmp`);
      writeFileSync(tmp, `{"key":${JSON.stringify(key)},"config":${body}}`, { mode: 0o600 });
      renameSync(tmp, join(this.dir, `${key}.json`));
      this.trim();
    } catch {
      // A read-only or full state directory only costs the next start a parse.
    }
  }

  private trim(): void {
    const entries = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    if (entries.length <= MAX_ENTRIES) return;
    const byAge = entries.map((n) => ({ n, t: statSync(join(this.dir, n)).mtimeMs })).sort((a, b) => a.t - b.t);
    for (const { n } of byAge.slice(0, entries.length - MAX_ENTRIES)) unlinkSync(join(this.dir, n));
  }
}
