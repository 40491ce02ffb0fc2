// The backups `toolgate init` keeps of every client config it rewrites, and `--undo`.
//
// The first rewrite of a file copies its original bytes to <state>/init/backups/ and records, in
// <state>/init/manifest.json, the hash of what toolgate wrote. A later `init` keeps the first
// backup (undo returns to the state before toolgate, not to the previous run). Undo puts the
// original bytes back, atomically, unless the file changed since toolgate wrote it: then it
// refuses for that file (a client or the user edited it; --force restores anyway).
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { sha256, writeFileAtomic } from './config-file.js';

export interface BackupEntry {
  client: string;
  file: string;
  backup: string;
  /** Permission bits of the original. */
  mode: number;
  originalSha256: string;
  writtenSha256: string;
  at: string;
}

interface Manifest {
  version: 1;
  files: BackupEntry[];
}

export class Backups {
  readonly dir: string;
  private readonly manifestFile: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'init');
    this.manifestFile = join(this.dir, 'manifest.json');
  }

  entries(): BackupEntry[] {
    if (!existsSync(this.manifestFile)) return [];
    const m = JSON.parse(readFileSync(this.manifestFile, 'utf8')) as Manifest;
    if (m.version !== 1 || !Array.isArray(m.files)) throw new Error(`${this.manifestFile}: not a manifest this toolgate can read`);
    return m.files;
  }

  /**
   * Replace `file` with `next`, keeping a backup of the original first. The backup and the
   * manifest are on disk before the file changes, so a crash in between loses nothing.
   */
  rewrite(client: string, file: string, original: Buffer, next: string, now: Date): void {
    const files = this.entries();
    let entry = files.find((e) => e.file === file);
    if (!entry) {
      mkdirSync(join(this.dir, 'backups'), { recursive: true, mode: 0o700 });
      const backup = join(this.dir, 'backups', `${sha256(file).slice(0, 12)}-${basename(file)}`);
      writeFileAtomic(backup, original, 0o600);
      entry = {
        client,
        file,
        backup,
        mode: statSync(file).mode & 0o777,
        originalSha256: sha256(original),
        writtenSha256: '',
        at: now.toISOString(),
      };
      files.push(entry);
    }
    entry.writtenSha256 = sha256(next);
    this.save(files);
    writeFileAtomic(file, next);
  }

  /** Restore every backed-up file. Returns one line per file; `failed` counts the refusals. */
  undo(opts: { force?: boolean } = {}): { lines: string[]; failed: number } {
    const files = this.entries();
    if (files.length === 0) return { lines: ['nothing to undo: toolgate init has not rewritten any client config'], failed: 0 };
    const lines: string[] = [];
    const kept: BackupEntry[] = [];
    for (const e of files) {
      let current: Buffer | undefined;
      try {
        current = readFileSync(e.file);
      } catch {
        current = undefined;
      }
      if (current && sha256(current) !== e.writtenSha256 && sha256(current) !== e.originalSha256 && !opts.force) {
        lines.push(`${e.file}: changed since toolgate init wrote it; not restored (--force restores the backup ${e.backup} anyway)`);
        kept.push(e);
        continue;
      }
      const original = readFileSync(e.backup);
      if (sha256(original) !== e.originalSha256) {
        lines.push(`${e.file}: the backup ${e.backup} does not match its recorded hash; not restored`);
        kept.push(e);
        continue;
      }
      writeFileAtomic(e.file, original, e.mode);
      rmSync(e.backup, { force: true });
      lines.push(`${e.file}: restored (${e.client})`);
    }
    this.save(kept);
    return { lines, failed: kept.length };
  }

  private save(files: BackupEntry[]): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (files.length === 0) {
      rmSync(this.manifestFile, { force: true });
      return;
    }
    writeFileAtomic(this.manifestFile, `${JSON.stringify({ version: 1, files } satisfies Manifest, null, 2)}\n`, 0o600);
  }
}
