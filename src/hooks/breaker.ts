// Per-hook protection of the gateway from a slow or failing hook: a circuit
// breaker (after `failures` consecutive failures the hook is not called for
// `resetMs`; then one trial call decides) and a bound on calls in flight.
// Both are small and deterministic (an injected clock), so they are written here
// rather than taken from a library: see README.md.

export class Breaker {
  private failures = 0;
  private openUntil: number | undefined;
  private trial = false;

  constructor(
    private readonly limit: number,
    private readonly resetMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Undefined when a call may go; else why not. */
  refusal(): string | undefined {
    if (this.openUntil === undefined) return undefined;
    const now = this.clock();
    if (now < this.openUntil || this.trial)
      return `circuit open after ${this.failures} consecutive failures (next try in ${Math.max(0, Math.ceil((this.openUntil - now) / 1000))}s)`;
    // Half-open: one call tries; the others keep being refused until it ends.
    this.trial = true;
    return undefined;
  }

  succeeded(): void {
    this.failures = 0;
    this.openUntil = undefined;
    this.trial = false;
  }

  failed(): void {
    this.failures++;
    this.trial = false;
    if (this.failures >= this.limit) this.openUntil = this.clock() + this.resetMs;
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openUntil === undefined) return 'closed';
    return this.clock() < this.openUntil ? 'open' : 'half-open';
  }
}

/** At most `max` holders at once; a waiter gives up when its signal aborts. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async take(signal: AbortSignal): Promise<() => void> {
    if (this.used >= this.max) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal.removeEventListener('abort', gone);
          resolve();
        };
        const gone = () => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new Error(`all ${this.max} concurrent calls to the hook were busy until the timeout`));
        };
        if (signal.aborted) return gone();
        signal.addEventListener('abort', gone, { once: true });
        this.waiting.push(go);
      });
    } else this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The place passes straight to the next waiter (used stays the same).
      if (next) next();
      else this.used--;
    };
  }
}
