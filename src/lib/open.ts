// openToolgate: what a gateway process opens (policy, counters, approvals,
// pins, audit, event log), opened inside the host's process, and a
// GatewaySession per guarded transport. Nothing here decides anything: the
// session is the gateway's own, so a call is decided, counted, held, pinned
// and audited exactly as behind `toolgate -- server` or `--transport http`.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { openRuntime, type PolicyBinding, type Runtime } from '../runtime/index.js';
import { createLogger, silentLogger } from '../log/index.js';
import { compilePolicy, formatPolicyError, loadPolicyFile, type CompiledPolicy, type PolicyError } from '../policy/index.js';
import { MemoryCounterStore, parseStateBackend } from '../state/index.js';
import type { EventSink, GatewayEvent } from '../events/types.js';
import {
  ToolgatePolicyError,
  type GuardOptions,
  type McpTransport,
  type PendingApproval,
  type PolicyText,
  type Toolgate,
  type ToolgateEvent,
  type ToolgateOptions,
} from './api.js';
import { Link } from './link.js';

/** Read and compile the policy; every error with file:line:col and its fix, or the policy. */
function loadPolicy(policy: string | PolicyText): { policy: CompiledPolicy; configPath: string; watch: boolean } {
  const fail = (errors: PolicyError[], what: string): never => {
    throw new ToolgatePolicyError(`${what} has ${errors.length} error(s):\n${errors.map(formatPolicyError).join('\n')}`, errors);
  };
  if (typeof policy === 'string') {
    const configPath = resolve(policy);
    const loaded = loadPolicyFile(configPath);
    if (!loaded.ok) return fail(loaded.errors, `policy ${policy}`);
    return { policy: loaded.policy, configPath, watch: true };
  }
  if (policy === null || typeof policy !== 'object' || typeof policy.text !== 'string') {
    throw new TypeError('options.policy must be a policy file path or { text, format?, name? }');
  }
  const name = policy.name ?? (policy.format === 'policylayer-json' ? 'inline-policy.json' : 'inline-policy.yaml');
  const loaded = policy.format ? compilePolicy(policy.text, name, policy.format) : compilePolicy(policy.text, name);
  if (!loaded.ok) return fail(loaded.errors, `policy ${name}`);
  return { policy: loaded.policy, configPath: name, watch: false };
}

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error', 'silent']);

/**
 * Open toolgate in this process (index.ts: openToolgate). Throws ToolgatePolicyError for a policy
 * that does not load, and an Error naming the option for a bad option;
 * nothing is left open then.
 */
export async function openEmbedded(options: ToolgateOptions): Promise<Toolgate> {
  if (options === null || typeof options !== 'object') throw new TypeError('openToolgate needs options: { policy: "policy.yaml", ... }');
  const { policy, configPath, watch } = loadPolicy(options.policy);
  const level = options.logLevel ?? 'warn';
  if (!LOG_LEVELS.has(level)) throw new Error(`options.logLevel must be one of debug, info, warn, error, silent; got ${JSON.stringify(level)}`);
  const backend = parseStateBackend(options.counters ?? 'sqlite');
  for (const [key, allowed] of [
    ['mode', ['enforce', 'monitor']],
    ['pin', ['off', 'warn', 'enforce']],
    ['stateFailMode', ['closed', 'open']],
  ] as const) {
    const v = options[key];
    if (v !== undefined && !(allowed as readonly string[]).includes(v))
      throw new Error(`options.${key} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  }
  const log = level === 'silent' ? silentLogger() : createLogger(level, 'json');
  const onEvent = options.onEvent;
  const observer: EventSink | undefined = onEvent
    ? {
        emit: (event: GatewayEvent) => onEvent(event as unknown as ToolgateEvent),
        close: async () => undefined,
      }
    : undefined;
  const runtime = await openRuntime({
    log,
    pin: options.pin ?? 'warn',
    mode: options.mode ?? 'enforce',
    failMode: options.stateFailMode ?? 'closed',
    stateDir: options.stateDir,
    ...(backend.kind === 'redis' ? { stateDsn: backend.url } : {}),
    statePrefix: options.redisPrefix,
    audit: { dsn: options.auditDsn, hmacKeyFile: options.auditHmacKeyFile },
    ...(backend.kind === 'memory' ? { store: new MemoryCounterStore() } : {}),
    ...(observer ? { observers: [observer] } : {}),
  });
  const binding = runtime.bindPolicy(configPath, policy, { watch });
  // From the moment openToolgate resolves, an edit of the policy file is seen.
  await binding.holder.watching;
  binding.started('library');
  return new EmbeddedToolgate(runtime, binding);
}

class EmbeddedToolgate implements Toolgate {
  private readonly links = new Set<Link>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly core: Runtime,
    private readonly binding: PolicyBinding,
  ) {}

  get policyHash(): string {
    return this.binding.holder.current.hash;
  }

  get instance(): string {
    return this.core.instance;
  }

  get stateDir(): string {
    return this.core.stateDir;
  }

  guardClient(transport: McpTransport, options: GuardOptions = {}): McpTransport {
    return this.guard(transport, 'downstream', options);
  }

  guardServer(transport: McpTransport, options: GuardOptions = {}): McpTransport {
    return this.guard(transport, 'upstream', options);
  }

  private guard(transport: McpTransport, endpointSide: 'downstream' | 'upstream', options: GuardOptions): McpTransport {
    if (this.closing) throw new Error('this toolgate is closed');
    if (
      transport === null ||
      typeof transport !== 'object' ||
      typeof transport.send !== 'function' ||
      typeof transport.start !== 'function' ||
      typeof transport.close !== 'function'
    ) {
      throw new TypeError('expected an MCP SDK Transport (start, send, close)');
    }
    const link = new Link(transport, endpointSide);
    const server = options.server ?? 'default';
    this.core.openSession(this.binding, {
      downstream: endpointSide === 'downstream' ? link.endpointChannel : link.innerChannel,
      upstream: endpointSide === 'downstream' ? link.innerChannel : link.endpointChannel,
      sessionId: options.sessionId ?? randomUUID(),
      identity: options.identity,
      server,
    });
    this.links.add(link);
    link.onended = () => this.links.delete(link);
    return link.endpoint;
  }

  async pendingApprovals(): Promise<PendingApproval[]> {
    const records = await this.core.approvals.list({ status: 'pending' });
    return records.map((r) => ({
      id: r.id,
      tool: r.tool,
      ...(r.identity !== undefined ? { identity: r.identity } : {}),
      ...(r.session !== undefined ? { session: r.session } : {}),
      rule: r.rule,
      ...(r.message !== undefined ? { message: r.message } : {}),
      ...(r.argsPreview !== undefined ? { argsPreview: r.argsPreview } : {}),
      createdAt: new Date(r.createdAt),
      expiresAt: new Date(r.expiresAt),
    }));
  }

  async decide(id: string, decision: 'approve' | 'deny', by: string, reason?: string): Promise<void> {
    if (decision !== 'approve' && decision !== 'deny') throw new Error(`decision must be "approve" or "deny", got ${JSON.stringify(decision)}`);
    if (typeof by !== 'string' || by.trim() === '') throw new Error('decide needs the name of who decides (by)');
    const result = await this.core.approvals.decide(id, {
      approve: decision === 'approve',
      by,
      channel: 'library',
      ...(reason !== undefined ? { reason } : {}),
    });
    if (!result.ok) throw new Error(result.message);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.links].map((l) => l.close()));
      await this.core.close();
    })();
    return this.closing;
  }
}
