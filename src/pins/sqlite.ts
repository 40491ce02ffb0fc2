// Pins in SQLite, in the state directory's database, so every gateway sharing
// the state directory agrees on them.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Pin, PinnedDefinition, PinStore } from './index.js';

interface Row {
  server: string;
  tool: string;
  hash: string;
  definition: string;
  pinned_at: string;
  pending_hash: string | null;
  pending_definition: string | null;
  pending_seen_at: string | null;
}

function toPin(r: Row): Pin {
  const pin: Pin = { server: r.server, tool: r.tool, hash: r.hash, definition: JSON.parse(r.definition) as PinnedDefinition, pinnedAt: r.pinned_at };
  if (r.pending_hash !== null) {
    pin.pending = { hash: r.pending_hash, definition: JSON.parse(r.pending_definition ?? '{}') as PinnedDefinition, seenAt: r.pending_seen_at ?? '' };
  }
  return pin;
}

export class SqlitePinStore implements PinStore {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string, string], Row>;
  private readonly pinStmt: Database.Statement<[string, string, string, string, string]>;
  private readonly changedStmt: Database.Statement<[string, string, string, string, string]>;
  private readonly acceptStmt: Database.Statement<[string, string, string]>;
  private readonly upgradeStmt: Database.Statement<[string, string, string, string, string]>;

  constructor(path: string) {
    this.db = new Database(path, { timeout: 5000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tool_pins (
        server             TEXT NOT NULL,
        tool               TEXT NOT NULL,
        hash               TEXT NOT NULL,
        definition         TEXT NOT NULL,
        pinned_at          TEXT NOT NULL,
        pending_hash       TEXT,
        pending_definition TEXT,
        pending_seen_at    TEXT,
        PRIMARY KEY (server, tool)
      ) WITHOUT ROWID;
    `);
    this.getStmt = this.db.prepare('SELECT * FROM tool_pins WHERE server = ? AND tool = ?');
    this.pinStmt = this.db.prepare(
      'INSERT INTO tool_pins (server, tool, hash, definition, pinned_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (server, tool) DO NOTHING',
    );
    this.changedStmt = this.db.prepare('UPDATE tool_pins SET pending_hash = ?, pending_definition = ?, pending_seen_at = ? WHERE server = ? AND tool = ?');
    this.acceptStmt = this.db.prepare(
      `UPDATE tool_pins SET hash = pending_hash, definition = pending_definition, pinned_at = ?,
         pending_hash = NULL, pending_definition = NULL, pending_seen_at = NULL
       WHERE server = ? AND tool = ? AND pending_hash IS NOT NULL`,
    );
    this.upgradeStmt = this.db.prepare('UPDATE tool_pins SET hash = ?, definition = ? WHERE server = ? AND tool = ? AND hash = ?');
  }

  static inStateDir(stateDir: string): SqlitePinStore {
    return new SqlitePinStore(join(stateDir, 'state.db'));
  }

  get(server: string, tool: string): Pin | undefined {
    const row = this.getStmt.get(server, tool);
    return row ? toPin(row) : undefined;
  }

  pin(server: string, definition: PinnedDefinition, hash: string, now: Date): void {
    this.pinStmt.run(server, definition.name, hash, JSON.stringify(definition), now.toISOString());
  }

  markChanged(server: string, definition: PinnedDefinition, hash: string, now: Date): void {
    this.changedStmt.run(hash, JSON.stringify(definition), now.toISOString(), server, definition.name);
  }

  upgrade(server: string, definition: PinnedDefinition, hash: string, fromHash: string): void {
    this.upgradeStmt.run(hash, JSON.stringify(definition), server, definition.name, fromHash);
  }

  accept(server: string, tool: string, now: Date): boolean {
    return this.acceptStmt.run(now.toISOString(), server, tool).changes > 0;
  }

  list(server?: string): Pin[] {
    const rows =
      server === undefined
        ? (this.db.prepare('SELECT * FROM tool_pins ORDER BY server, tool').all() as Row[])
        : (this.db.prepare('SELECT * FROM tool_pins WHERE server = ? ORDER BY tool').all(server) as Row[]);
    return rows.map(toPin);
  }

  close(): void {
    this.db.close();
  }
}
