// Tool pinning: the defence against rug pulls. The first time a server shows a
// tool, the canonical hash of its definition is recorded; when a later
// tools/list shows a different definition, the tool is withheld (enforce) or
// reported (warn) until someone accepts the change.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const PIN_MODES = ['off', 'warn', 'enforce'] as const;
export type PinMode = (typeof PIN_MODES)[number];

/** The parts of a tool definition that are pinned. */
export interface PinnedDefinition {
  name: string;
  description?: unknown;
  inputSchema?: unknown;
  annotations?: unknown;
}

export interface Pin {
  server: string;
  tool: string;
  hash: string;
  definition: PinnedDefinition;
  pinnedAt: string;
  /** A definition seen later that differs from the pinned one, waiting for acceptance. */
  pending?: { hash: string; definition: PinnedDefinition; seenAt: string };
}

export interface PinStore {
  get(server: string, tool: string): Pin | undefined;
  /** Record a first sight. Does nothing if a pin exists (another instance was first). */
  pin(server: string, definition: PinnedDefinition, hash: string, now: Date): void;
  /** Record a changed definition waiting for acceptance. */
  markChanged(server: string, definition: PinnedDefinition, hash: string, now: Date): void;
  /** Accept the pending definition of a tool; returns false when nothing was pending. */
  accept(server: string, tool: string, now: Date): boolean;
  list(server?: string): Pin[];
  close(): void;
}

export function pinnedDefinition(tool: Record<string, unknown>): PinnedDefinition {
  const def: PinnedDefinition = { name: String(tool.name) };
  for (const k of ['description', 'inputSchema', 'annotations'] as const) if (tool[k] !== undefined) def[k] = tool[k];
  return def;
}

export function definitionHash(def: PinnedDefinition): string {
  return createHash('sha256').update(canonicalize(def) ?? '').digest('hex');
}

/** Which parts of a definition changed, for messages people can act on. */
export function describeChange(before: PinnedDefinition, after: PinnedDefinition): string[] {
  const parts: string[] = [];
  for (const k of ['description', 'inputSchema', 'annotations'] as const) {
    if (canonicalize(before[k] ?? null) !== canonicalize(after[k] ?? null)) parts.push(k);
  }
  return parts;
}

export type PinVerdict = { status: 'new' | 'same' } | { status: 'changed'; changed: string[]; pinnedHash: string; hash: string };

/**
 * Checks tool definitions against the pins of one server. Keeps the tools
 * withheld in this process so calls to them can be refused without a lookup
 * on the hot path.
 */
export class PinChecker {
  private readonly withheld = new Map<string, string>();

  constructor(
    private readonly store: PinStore,
    private readonly server: string,
    /** The mode in force (the policy's `pin:`, else the --pin flag); read at every check. */
    private readonly modeOf: () => PinMode,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  get mode(): PinMode {
    return this.modeOf();
  }

  /** Check one listed tool; records first sights and changes. */
  check(tool: Record<string, unknown>): PinVerdict {
    const def = pinnedDefinition(tool);
    const hash = definitionHash(def);
    const pin = this.store.get(this.server, def.name);
    if (!pin) {
      this.store.pin(this.server, def, hash, this.clock());
      this.withheld.delete(def.name);
      return { status: 'new' };
    }
    if (pin.hash === hash) {
      this.withheld.delete(def.name);
      return { status: 'same' };
    }
    if (pin.pending?.hash !== hash) this.store.markChanged(this.server, def, hash, this.clock());
    const changed = describeChange(pin.definition, def);
    if (this.mode === 'enforce') {
      this.withheld.set(def.name, `the definition of tool "${def.name}" changed since it was pinned (${changed.join(', ') || 'definition'}); it is withheld until someone runs: toolgate pins accept ${def.name}`);
    }
    return { status: 'changed', changed, pinnedHash: pin.hash, hash };
  }

  /** The denial message for a call to a withheld tool, or undefined when the call may proceed. */
  refusal(tool: string): string | undefined {
    const message = this.withheld.get(tool);
    if (message === undefined) return undefined;
    if (this.mode !== 'enforce') return undefined;
    // Accepted meanwhile (perhaps by another process)? Then the tool is released.
    const pin = this.store.get(this.server, tool);
    if (pin && pin.pending === undefined) {
      this.withheld.delete(tool);
      return undefined;
    }
    return message;
  }
}

export { SqlitePinStore } from './sqlite.js';
