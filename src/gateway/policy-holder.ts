// Holds the policy in force and swaps it on a valid edit of the file. A broken
// edit is rejected with file:line:col, and the old policy stays.
import { compilePolicy, formatPolicyError, parsedFromText, readPolicyText, type CompiledPolicy, type PolicyError } from '../policy/index.js';
import { watchFile } from './watch.js';

export type ReloadResult = { ok: true; policy: CompiledPolicy; changed: boolean } | { ok: false; errors: PolicyError[] };

export class PolicyHolder {
  private watcher: { ready: Promise<void>; close(): Promise<void> } | undefined;

  constructor(
    private readonly file: string,
    private policy: CompiledPolicy,
  ) {}

  get current(): CompiledPolicy {
    return this.policy;
  }

  reload(): ReloadResult {
    const read = readPolicyText(this.file);
    if ('errors' in read) return read;
    const text = read.text;
    // The text in force, read again (the look once the watch is in place, an editor's touch): no parse, nothing changed.
    if (parsedFromText(this.policy, text, this.file)) return { ok: true, policy: this.policy, changed: false };
    const result = compilePolicy(text, this.file);
    if (!result.ok) return result;
    const changed = result.policy.hash !== this.policy.hash;
    this.policy = result.policy;
    return { ok: true, policy: result.policy, changed };
  }

  /** Watch the file and reload on every change; `report` hears about each attempt. */
  watch(report: (r: ReloadResult) => void): void {
    const watcher = watchFile(this.file, () => report(this.reload()));
    this.watcher = watcher;
    // An edit saved while the watch was starting raises no event: look at the file once it is in place.
    void watcher.ready.then(() => {
      if (this.watcher !== watcher) return;
      const r = this.reload();
      if (!r.ok || r.changed) report(r);
    });
  }

  /** Resolves once the watch is in place (edits from then on are seen); at once when not watching. */
  get watching(): Promise<void> {
    return this.watcher?.ready ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}

export function describeErrors(errors: PolicyError[]): string {
  return errors.map(formatPolicyError).join('\n');
}
