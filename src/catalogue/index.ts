// Front door of the catalogue room: ready policies for popular MCP servers, shipped in the
// package (catalogue/ at the package root), each with the pins of its tools. The catalogue is
// built by scripts/build-catalogue.mjs from the real servers; this room only reads it, checks
// it, and seeds its pins into a pin store. Files come in through the directory parameter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { definitionHash, type PinnedDefinition, type PinStore } from '../pins/index.js';

export class CatalogueError extends Error {}

const CATEGORY = z.enum(['Read', 'Write', 'Execute', 'Destructive', 'Financial', 'Other']);
const FILE_NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain file name inside the catalogue directory');

const ToolSchema = z.object({
  name: z.string().min(1),
  category: CATEGORY,
  risk: z.enum(['Low', 'Medium', 'High', 'Critical']),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 hex digest'),
});

const EntrySchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  package: z.string().min(1),
  version: z.string().min(1),
  description: z.string().default(''),
  server: z.object({ name: z.string().optional(), version: z.string().optional() }).optional(),
  launch: z.array(z.string()).min(1),
  scannedAt: z.string().min(1),
  scan: z.string().default('stdio'),
  policy: FILE_NAME,
  definitions: FILE_NAME,
  toolCount: z.number().int().nonnegative(),
  categories: z.partialRecord(CATEGORY, z.number().int().nonnegative()),
  tools: z.array(ToolSchema),
});

const IndexSchema = z.object({ format: z.literal(1), entries: z.array(EntrySchema) });

export type CatalogueTool = z.infer<typeof ToolSchema>;
export type CatalogueEntry = z.infer<typeof EntrySchema>;

export interface Catalogue {
  /** The directory the catalogue was read from. */
  dir: string;
  entries: CatalogueEntry[];
}

/** The catalogue shipped in the package: `catalogue/` at the package root. */
export function defaultCatalogueDir(): string {
  // This file is dist/src/catalogue/index.js in the built package.
  return fileURLToPath(new URL('../../../catalogue/', import.meta.url));
}

/** Read and check the catalogue index. */
export function loadCatalogue(dir: string = defaultCatalogueDir()): Catalogue {
  const file = join(dir, 'index.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CatalogueError(`cannot read the catalogue index ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = IndexSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CatalogueError(`bad catalogue index ${file}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const names = new Set<string>();
  for (const e of parsed.data.entries) {
    if (names.has(e.name)) throw new CatalogueError(`bad catalogue index ${file}: entry "${e.name}" appears twice`);
    names.add(e.name);
    if (e.toolCount !== e.tools.length)
      throw new CatalogueError(`bad catalogue index ${file}: entry "${e.name}" counts ${e.toolCount} tools but pins ${e.tools.length}`);
  }
  return { dir, entries: parsed.data.entries };
}

/** The entry called `name`, or an error listing the names there are. */
export function findEntry(catalogue: Catalogue, name: string): CatalogueEntry {
  const wanted = name.trim().toLowerCase();
  const entry = catalogue.entries.find((e) => e.name === wanted || e.package.toLowerCase() === wanted);
  if (entry) return entry;
  const near = catalogue.entries.filter((e) => e.name.includes(wanted) || e.package.toLowerCase().includes(wanted)).map((e) => e.name);
  const hint = near.length > 0 ? `did you mean ${near.join(', ')}?` : `known: ${catalogue.entries.map((e) => e.name).join(', ')}`;
  throw new CatalogueError(`no catalogue entry "${name}" (${hint})`);
}

/** The policy text of an entry (Intercept YAML v1). */
export function readEntryPolicy(catalogue: Catalogue, entry: CatalogueEntry): string {
  try {
    return readFileSync(join(catalogue.dir, entry.policy), 'utf8');
  } catch (err) {
    throw new CatalogueError(`cannot read the policy of "${entry.name}": ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The pinned tool definitions of an entry, in the index's order. Each one's hash is checked
 * against the pin in the index: a catalogue whose files disagree is refused, never seeded.
 */
export function readEntryDefinitions(catalogue: Catalogue, entry: CatalogueEntry): PinnedDefinition[] {
  const file = join(catalogue.dir, entry.definitions);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CatalogueError(`cannot read the tool definitions of "${entry.name}": ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(raw) || raw.length !== entry.tools.length) {
    throw new CatalogueError(`the tool definitions of "${entry.name}" (${file}) do not match its ${entry.tools.length} pins`);
  }
  return raw.map((d: unknown, i) => {
    const pin = entry.tools[i]!;
    if (typeof d !== 'object' || d === null || (d as { name?: unknown }).name !== pin.name) {
      throw new CatalogueError(`the tool definitions of "${entry.name}" are out of order at ${i}: expected "${pin.name}"`);
    }
    const def = d as PinnedDefinition;
    if (definitionHash(def) !== pin.hash) {
      throw new CatalogueError(`the definition of "${pin.name}" in "${entry.name}" does not match its pin: the catalogue is damaged`);
    }
    return def;
  });
}

export interface SeedReport {
  /** Tools pinned now from the catalogue. */
  seeded: string[];
  /** Tools already pinned with the catalogue's definition. */
  unchanged: string[];
  /** Tools already pinned with another definition: kept as they are (the store is not overwritten). */
  differing: string[];
}

/**
 * Pin the catalogued definitions for `server` (the name the gateway uses: --server-name).
 * Pins that exist are never overwritten: what the store holds was seen or accepted there.
 */
export function seedPins(store: PinStore, server: string, definitions: readonly PinnedDefinition[], now: Date): SeedReport {
  const report: SeedReport = { seeded: [], unchanged: [], differing: [] };
  for (const def of definitions) {
    const hash = definitionHash(def);
    const existing = store.get(server, def.name);
    if (!existing) {
      store.pin(server, def, hash, now);
      report.seeded.push(def.name);
    } else if (existing.hash === hash) {
      report.unchanged.push(def.name);
    } else {
      report.differing.push(def.name);
    }
  }
  return report;
}

/** "Read 8, Write 3" in the order of the categories. */
export function formatCategories(categories: CatalogueEntry['categories']): string {
  const order = ['Read', 'Write', 'Execute', 'Destructive', 'Financial', 'Other'] as const;
  return order
    .filter((c) => (categories[c] ?? 0) > 0)
    .map((c) => `${c} ${categories[c]}`)
    .join(', ');
}
