// The policy a caller's session decides with, for every gateway that takes
// callers over the network (the single-server listener and `toolgate serve`).
//
// - No grant (an operator's API key), or a grant naming a policy section: the
//   policy in force where the call lands (the gateway's, or the server's on
//   `toolgate serve`).
// - A grant with its own policy file: that file, in place of it, wherever the
//   grant calls. One PolicyHolder per file, shared by every session (and on
//   `toolgate serve` every server), hot-reloaded: a broken edit keeps the
//   previous policy, with a warning and a failed config_reload event.
// - A grant without a policy, or whose file does not load: every call denied,
//   with the reason (the file's errors with file:line:col). A file that fails
//   to load is tried again for the next session, so fixing it needs no restart.
import { loadPolicyFile, type CompiledPolicy } from '../policy/index.js';
import type { EventInput } from '../events/types.js';
import type { Logger } from '../log/index.js';
import { PolicyHolder, describeErrors } from './policy-holder.js';
import type { Caller } from './listener.js';

export interface CallerPolicy {
  policy: () => CompiledPolicy;
  /** Set when every call of this caller is denied, and why. */
  denial?: string;
}

export interface CallerPoliciesOptions {
  log: Logger;
  /** Records each reload of a grant's policy file (config_reload, `config` naming the file). */
  emit: (event: EventInput) => void;
  /** After a grant's policy changed on reload (e.g. to tell aggregate clients their tool lists changed). */
  onChanged?: () => void;
  /**
   * The file reaches several servers (`toolgate serve`): a file that allows
   * what it does not list (`default: allow`) is warned about when it loads,
   * since it then allows every other tool of every server, hidden ones too.
   */
  manyServers?: boolean;
}

/**
 * The policy as a caller limited to some tools (an OAuth token's scopes) sees
 * it: every other tool is hidden, so it is neither listed nor callable. One
 * derived policy per (policy, caller) pair, so a hot reload is seen at once.
 */
const limited = new WeakMap<CompiledPolicy, WeakMap<(tool: string) => boolean, CompiledPolicy>>();
export function limitedTo(policy: CompiledPolicy, tools: (tool: string) => boolean): CompiledPolicy {
  let byCaller = limited.get(policy);
  if (!byCaller) limited.set(policy, (byCaller = new WeakMap()));
  let derived = byCaller.get(tools);
  if (!derived) {
    derived = { ...policy, hidden: new HiddenUnless(policy.hidden, tools) };
    byCaller.set(tools, derived);
  }
  return derived;
}

/** The policy's hidden tools, and every tool `allowed` does not reach (iteration lists the policy's own). */
class HiddenUnless extends Set<string> {
  constructor(
    base: ReadonlySet<string>,
    private readonly allowed: (tool: string) => boolean,
  ) {
    super(base);
  }

  override has(tool: string): boolean {
    return super.has(tool) || !this.allowed(tool);
  }
}

export class CallerPolicies {
  private readonly holders = new Map<string, PolicyHolder>();

  constructor(private readonly o: CallerPoliciesOptions) {}

  /** `local`: the policy that decides when the caller brings no file of its own. */
  of(caller: Caller | undefined, local: () => CompiledPolicy): CallerPolicy {
    let denial = caller?.denial;
    let policy = local;
    if (caller?.policyFile !== undefined) {
      const held = this.holder(caller.policyFile);
      if ('error' in held) denial ??= held.error;
      else policy = () => held.current;
    }
    const tools = caller?.tools;
    if (tools) {
      const unrestricted = policy;
      policy = () => limitedTo(unrestricted(), tools);
    }
    return denial === undefined ? { policy } : { policy, denial };
  }

  async close(): Promise<void> {
    const holders = [...this.holders.values()];
    this.holders.clear();
    await Promise.all(holders.map((h) => h.close()));
  }

  private holder(file: string): PolicyHolder | { error: string } {
    const known = this.holders.get(file);
    if (known) return known;
    const loaded = loadPolicyFile(file);
    if (!loaded.ok) {
      const message = `the grant's policy ${file} has errors; every call is denied until it is fixed:\n${describeErrors(loaded.errors)}`;
      this.o.log.warn(message);
      return { error: message };
    }
    if (this.o.manyServers && loaded.policy.default === 'allow') {
      this.o.log.warn(
        `the grant's policy ${file} has default: allow: on toolgate serve it decides this grant's calls on every server in place of their policies, so every tool it does not list is allowed on every server (hidden ones too); give it default: deny and list what the grant may call`,
      );
    }
    const holder = new PolicyHolder(file, loaded.policy);
    holder.watch((r) => {
      if (r.ok) {
        if (!r.changed) return;
        this.o.log.info({ policy: file, policy_hash: r.policy.hash }, 'grant policy reloaded');
        this.o.emit({ type: 'config_reload', status: 'success', config: file, grant_policy: true, policy_hash: r.policy.hash });
        this.o.onChanged?.();
      } else {
        const message = describeErrors(r.errors);
        this.o.log.warn(`grant policy ${file} reload rejected, keeping the previous one:\n${message}`);
        this.o.emit({ type: 'config_reload', status: 'failure', config: file, grant_policy: true, message });
      }
    });
    this.holders.set(file, holder);
    return holder;
  }
}
