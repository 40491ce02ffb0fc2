// The tools/list filter: hidden tools (and, under default deny, unlisted
// ones), tools whose pinned definition changed (pin: enforce) and tool entries
// another parser could read differently are removed from the server's answer;
// everything else in the result stays.
import { isPlainObject, type JsonRpcResponse, ambiguousToolEntry } from '../mcp/index.js';
import { isToolVisible, type CompiledPolicy } from '../policy/index.js';
import type { PinChecker } from '../pins/index.js';
import type { Logger } from '../log/index.js';
import { describeMissing, policyMismatch } from './policy-mismatch.js';
import { hidesTwin, lookalikeOf } from './lookalike.js';
import type { SessionEventInput } from '../events/types.js';

export interface ListFilterOptions {
  pins?: PinChecker;
  log: Logger;
  emit: (event: SessionEventInput) => void;
}

export class ToolListFilter {
  /** Tool names the server listed in this session (a listed name is never a look-alike). */
  readonly listed = new Set<string>();
  /** Tool names of a paginated tools/list, until its last page. */
  private listedSoFar: string[] = [];
  /** The policy version and missing names last reported, so a session repeats no warning. */
  private lastMismatch = '';

  constructor(private readonly o: ListFilterOptions) {}

  /**
   * Calls `deliver` with the filtered answer: at once, or once a shared pin
   * store still loading (Redis connecting at start-up) is ready, rather than
   * withholding every tool as unverified.
   */
  whenReady(deliver: () => void): void {
    const loading = this.o.pins && this.o.pins.mode !== 'off' ? this.o.pins.whenReady() : undefined;
    if (loading) void loading.then(deliver);
    else deliver();
  }

  filter(res: JsonRpcResponse, policy: CompiledPolicy): JsonRpcResponse {
    const result = res.result as Record<string, unknown> & { tools: unknown[] };
    this.checkPolicyNames(policy, result);
    const pins = this.o.pins;
    const tools = result.tools.filter((t) => {
      if (!isPlainObject(t) || typeof t.name !== 'string') return false;
      if (ambiguousToolEntry(t)) {
        this.o.log.warn({ tool: t.name }, 'tool withheld: its keys collide under case folding (another client could read another name)');
        return false;
      }
      this.listed.add(t.name);
      if (pins && pins.mode !== 'off') {
        const verdict = pins.check(t);
        if (verdict.status === 'unverified') {
          this.o.log.warn({ tool: t.name, detail: verdict.detail, withheld: verdict.withheld }, 'tool definition could not be checked against its pin');
          this.o.emit({ type: 'tool_pin', tool: t.name, status: 'failure', message: verdict.message, pin_mode: pins.mode });
          if (verdict.withheld) return false;
        }
        if (verdict.status === 'changed') {
          this.o.log.warn({ tool: t.name, changed: verdict.changed, mode: pins.mode }, 'tool definition changed since it was pinned');
          this.o.emit({
            type: 'tool_pin',
            tool: t.name,
            status: 'failure',
            message: `definition changed: ${verdict.changed.join(', ')}`,
            pinned_hash: verdict.pinnedHash,
            hash: verdict.hash,
            pin_mode: pins.mode,
          });
          if (pins.mode === 'enforce') return false;
        }
      }
      if (!isToolVisible(policy, t.name)) return false;
      // A look-alike of a hidden tool is hidden with it.
      const twin = lookalikeOf(t.name, policy);
      return twin === undefined || !hidesTwin(policy, twin);
    });
    return { ...res, result: { ...result, tools } };
  }

  /** Warn (log and a policy_mismatch event) about every tool the policy names that the server does not list. */
  private checkPolicyNames(policy: CompiledPolicy, result: Record<string, unknown> & { tools: unknown[] }): void {
    for (const t of result.tools) if (isPlainObject(t) && typeof t.name === 'string') this.listedSoFar.push(t.name);
    if (typeof result.nextCursor === 'string' && result.nextCursor !== '') return;
    const missing = policyMismatch(policy, this.listedSoFar);
    this.listedSoFar = [];
    const key = `${policy.hash} ${missing.map((m) => m.tool).join(' ')}`;
    if (missing.length === 0 || key === this.lastMismatch) return;
    this.lastMismatch = key;
    for (const m of missing) {
      const message = describeMissing(m);
      this.o.log.warn({ tool: m.tool, suggestions: m.suggestions, policy: policy.file }, message);
      this.o.emit({ type: 'policy_mismatch', tool: m.tool, message, suggestions: m.suggestions, policy_hash: policy.hash });
    }
  }
}
