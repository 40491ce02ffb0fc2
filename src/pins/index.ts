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
  /** Accept the pending definition of a tool; returns false when nothing was pending. (Redis answers with a promise.) */
  accept(server: string, tool: string, now: Date): boolean | Promise<boolean>;
  list(server?: string): Pin[] | Promise<Pin[]>;
  /** Undefined when get() can answer for `server`; else a promise settled when it can (a shared store loading its pins). */
  whenLoaded?(server: string): Promise<void> | undefined;
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

export type PinVerdict =
  | { status: 'new' | 'same' }
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
    const def = pinnedDefinition(tool);
    const hash = definitionHash(def);
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
    if (pin.pending?.hash !== hash) {
      try {
        this.store.markChanged(this.server, def, hash, this.clock());
      } catch {
        // only informational (`pins list` shows it); the tool is withheld all the same
      }
    }
    const changed = describeChange(pin.definition, def);
    if (this.mode === 'enforce') {
      this.withheld.set(def.name, { message: `the definition of tool "${def.name}" changed since it was pinned (${changed.join(', ') || 'definition'}); it is withheld until someone runs: toolgate pins accept ${def.name}` });
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

  private unverified(name: string, tool: Record<string, unknown>, err: unknown): PinVerdict {
    const detail = err instanceof Error ? err.message : String(err);
    const withheld = this.mode === 'enforce' && this.failMode === 'closed';
    const message = withheld
      ? `toolgate cannot check tool "${name}" against its pinned definition (pin store unavailable); it is withheld until the store is reachable`
      : `toolgate cannot check tool "${name}" against its pinned definition (pin store unavailable); shown unchecked`;
    if (withheld) this.withheld.set(name, { message, tool });
    else this.withheld.delete(name);
    return { status: 'unverified', message, detail, withheld };
  }
}

export { SqlitePinStore } from './sqlite.js';
