// Tool pinning: the defence against rug pulls. The first time a server shows a
// tool, the canonical hash of its definition is recorded; when a later
// tools/list shows a different definition, the tool is withheld (enforce) or
// reported (warn) until someone accepts the change.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const PIN_MODES = ['off', 'warn', 'enforce'] as const;
export type PinMode = (typeof PIN_MODES)[number];

/**
 * A pinned tool definition: the whole tool object as the server listed it (and
 * the client sees it): name, title, description, inputSchema, outputSchema,
 * annotations, icons, _meta and whatever else it carries. Pins made before
 * version 2 hold only the four LEGACY_KEYS.
 */
export interface PinnedDefinition {
  name: string;
  description?: unknown;
  inputSchema?: unknown;
  annotations?: unknown;
  [key: string]: unknown;
}

/** What pins of version 1 (and catalogue files) cover. */
export const LEGACY_KEYS = ['description', 'inputSchema', 'annotations'] as const;

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
  /** Replace a pin whose hash is still `fromHash` (a version-1 pin) by the whole definition; otherwise nothing. */
  upgrade(server: string, definition: PinnedDefinition, hash: string, fromHash: string): void;
  /** Accept the pending definition of a tool; returns false when nothing was pending. (Redis answers with a promise.) */
  accept(server: string, tool: string, now: Date): boolean | Promise<boolean>;
  list(server?: string): Pin[] | Promise<Pin[]>;
  /** Undefined when get() can answer for `server`; else a promise settled when it can (a shared store loading its pins). */
  whenLoaded?(server: string): Promise<void> | undefined;
  close(): void;
}

/** The version-1 form of a tool: name, description, inputSchema and annotations only. */
export function pinnedDefinition(tool: Record<string, unknown>): PinnedDefinition {
  const def: PinnedDefinition = { name: String(tool.name) };
  for (const k of LEGACY_KEYS) if (tool[k] !== undefined) def[k] = tool[k];
  return def;
}

/** The version-2 form of a tool: all of it. */
export function fullDefinition(tool: Record<string, unknown>): PinnedDefinition {
  return { ...tool, name: String(tool.name) };
}

/** Version 1: SHA-256 of the RFC 8785 canonical JSON of the version-1 form (catalogue files use it). */
export function definitionHash(def: PinnedDefinition): string {
  return createHash('sha256')
    .update(canonicalize(def) ?? '')
    .digest('hex');
}

/**
 * Version 2, the pin of a tool: SHA-256 of a domain tag and the RFC 8785 (JCS)
 * canonical JSON of the whole definition. The tag keeps it from ever equalling a
 * version-1 hash, so a stored pin says which version it is.
 */
export function pinHash(def: PinnedDefinition): string {
  return createHash('sha256')
    .update('toolgate-pin/2\n')
    .update(canonicalize(def) ?? '')
    .digest('hex');
}

function safeHash(hash: () => string): string | undefined {
  try {
    return hash();
  } catch {
    return undefined;
  }
}

/** A pin made before version 2 (it covers only the version-1 form). */
export function isLegacyPin(pin: Pick<Pin, 'hash' | 'definition'>): boolean {
  return pin.hash !== safeHash(() => pinHash(pin.definition)) && pin.hash === safeHash(() => definitionHash(pinnedDefinition(pin.definition)));
}

/** Which parts of a definition changed (top-level keys), for messages people can act on. */
export function describeChange(before: PinnedDefinition, after: PinnedDefinition, keys?: readonly string[]): string[] {
  const all = keys ?? [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => k !== 'name');
  const order = (k: string) => {
    const i = (LEGACY_KEYS as readonly string[]).indexOf(k);
    return i < 0 ? LEGACY_KEYS.length : i;
  };
  const sorted = [...all].sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  return sorted.filter((k) => canonicalize(before[k] ?? null) !== canonicalize(after[k] ?? null));
}

export type PinVerdict =
  /** upgraded: a version-1 pin whose pinned parts are unchanged now pins the whole definition. */
  | { status: 'new' | 'same'; upgraded?: true }
  | { status: 'changed'; changed: string[]; pinnedHash: string; hash: string }
  /** The pin store could not answer (shared store unreachable): withheld under pin: enforce with fail mode closed. */
  | { status: 'unverified'; message: string; detail: string; withheld: boolean };

/**
 * Checks tool definitions against the pins of one server. Keeps the tools
 * withheld in this process so calls to them can be refused without a lookup
 * on the hot path.
 */
export class PinChecker {
  /** Withheld tools: the message for calls to them, and for tools withheld unverified, the listed definition to check again. */
  private readonly withheld = new Map<string, { message: string; tool?: Record<string, unknown> }>();

  constructor(
    private readonly store: PinStore,
    private readonly server: string,
    /** The mode in force (the policy's `pin:`, else the --pin flag); read at every check. */
    private readonly modeOf: () => PinMode,
    private readonly clock: () => Date = () => new Date(),
    /** When the store cannot answer (Redis down): closed withholds what cannot be checked (under enforce), open lets it through. */
    private readonly failMode: 'closed' | 'open' = 'closed',
  ) {}

  get mode(): PinMode {
    return this.modeOf();
  }

  /**
   * Whether checks can be answered now; otherwise a promise that settles when
   * they can, or after `timeoutMs` (then checks report "unverified" as before).
   * A gateway that starts faster than its shared store connects waits here
   * instead of withholding every tool of its first tools/list.
   */
  whenReady(timeoutMs = 3_000): Promise<void> | undefined {
    const ready = this.store.whenLoaded?.(this.server);
    if (!ready) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    return Promise.race([ready.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
  }

  /** Check one listed tool; records first sights and changes. */
  check(tool: Record<string, unknown>): PinVerdict {
    const def = fullDefinition(tool);
    let hash: string;
    try {
      hash = pinHash(def);
    } catch (err) {
      // JSON that JCS cannot write (a lone surrogate; 1e309 parsed to Infinity): cannot be pinned.
      return this.unverified(def.name, tool, err, 'its definition cannot be written as canonical JSON');
    }
    let pin: Pin | undefined;
    try {
      pin = this.store.get(this.server, def.name);
      if (!pin) this.store.pin(this.server, def, hash, this.clock());
    } catch (err) {
      return this.unverified(def.name, tool, err);
    }
    if (!pin) {
      this.withheld.delete(def.name);
      return { status: 'new' };
    }
    if (pin.hash === hash) {
      this.withheld.delete(def.name);
      return { status: 'same' };
    }
    const legacy = isLegacyPin(pin);
    if (legacy && pin.hash === safeHash(() => definitionHash(pinnedDefinition(tool)))) {
      // Migration: a version-1 pin whose parts are unchanged takes the whole definition as
      // now listed (trust on first sight for the parts it never covered), once.
      try {
        this.store.upgrade(this.server, def, hash, pin.hash);
      } catch {
        // checked as version 1 again next time
      }
      this.withheld.delete(def.name);
      return { status: 'same', upgraded: true };
    }
    if (pin.pending?.hash !== hash) {
      try {
        this.store.markChanged(this.server, def, hash, this.clock());
      } catch {
        // only informational (`pins list` shows it); the tool is withheld all the same
      }
    }
    const changed = describeChange(pin.definition, def, legacy ? LEGACY_KEYS : undefined);
    if (this.mode === 'enforce') {
      this.withheld.set(def.name, {
        message: `the definition of tool "${def.name}" changed since it was pinned (${changed.join(', ') || 'definition'}); it is withheld until someone runs: toolgate pins accept ${def.name}`,
      });
    }
    return { status: 'changed', changed, pinnedHash: pin.hash, hash };
  }

  /** The denial message for a call to a withheld tool, or undefined when the call may proceed. */
  refusal(tool: string): string | undefined {
    const entry = this.withheld.get(tool);
    if (entry === undefined) return undefined;
    if (this.mode !== 'enforce') return undefined;
    // Withheld because the store could not answer: check the definition again now.
    if (entry.tool !== undefined) {
      this.check(entry.tool);
      return this.withheld.get(tool)?.message;
    }
    // Accepted meanwhile (perhaps by another process)? Then the tool is released.
    let pin: Pin | undefined;
    try {
      pin = this.store.get(this.server, tool);
    } catch {
      return entry.message;
    }
    if (pin && pin.pending === undefined) {
      this.withheld.delete(tool);
      return undefined;
    }
    return entry.message;
  }

  private unverified(name: string, tool: Record<string, unknown>, err: unknown, why?: string): PinVerdict {
    const detail = err instanceof Error ? err.message : String(err);
    const withheld = this.mode === 'enforce' && this.failMode === 'closed';
    const cause = why ?? 'pin store unavailable';
    const message = withheld
      ? `toolgate cannot check tool "${name}" against its pinned definition (${cause}); it is withheld until ${why ? 'it can be' : 'the store is reachable'}`
      : `toolgate cannot check tool "${name}" against its pinned definition (${cause}); shown unchecked`;
    if (withheld) this.withheld.set(name, { message, tool });
    else this.withheld.delete(name);
    return { status: 'unverified', message, detail, withheld };
  }
}

export { SqlitePinStore } from './sqlite.js';
