// What a gateway session is opened with: its two channels, the policy in
// force, the guard, where events go, and the options of its collaborators.
import type { MessageChannel, WireLimits } from '../mcp/index.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { ApprovalHolder } from '../approval/queue.js';
import type { EventSink } from '../events/types.js';
import type { Logger } from '../log/index.js';
import type { PinChecker } from '../pins/index.js';
import type { TaintStore } from '../guards/index.js';
import type { HookRunner } from '../hooks/index.js';
import type { IdempotencyGate } from '../idempotency/index.js';
import type { SpendLedger } from '../spend/index.js';
import type { CallGuard } from './guard.js';
import type { ToolRegistry } from './shadowing.js';

export interface SessionOptions {
  downstream: MessageChannel;
  upstream: MessageChannel;
  /** The policy in force now (hot reload swaps what this returns). */
  policy: () => CompiledPolicy;
  guard: CallGuard;
  events: EventSink;
  log: Logger;
  instance: string;
  sessionId?: string;
  identity?: string;
  server?: string;
  /** Taint fingerprints (guards.taint); default: the process's store, shared by every session in it. */
  taint?: TaintStore;
  /** External policy hooks (src/hooks); default: the process's runner, shared by every session in it. */
  hooks?: HookRunner;
  /** serve: the tool names of every server, for shadowing (refused on per-server endpoints). */
  shadows?: { registry: ToolRegistry; refuse: boolean };
  /** Holds calls that a require_approval rule matched. Absent: such calls are denied (fail closed). */
  approvals?: Pick<ApprovalHolder, 'open' | 'request' | 'pending' | 'consume' | 'consumeById' | 'rollback' | 'latest'>;
  /** When set, every tools/call is denied with this text (e.g. a grant without a policy). */
  callerDenial?: string;
  /** While a call waits for approval, progress notifications go out this often (ms; default 10000) if the client sent a progressToken. */
  progressEveryMs?: number;
  /** Tool pinning (rug-pull defence); absent: off. */
  pins?: PinChecker;
  /**
   * The client's initialize params when its initialize never crosses this
   * session (the aggregate `/mcp` endpoint answers it itself): what the
   * client can do (elicitation, for self-approval) counts as if seen here.
   */
  clientInit?: Record<string, unknown>;
  /**
   * The protocol generation when the transport already knows it (the HTTP
   * listener's stateless lane is modern). Otherwise it is negotiated from the
   * client's first request: `initialize` makes a legacy session, a request
   * declaring a modern version in `_meta` a modern one.
   */
  generation?: 'legacy' | 'modern';
  /** How long a tools/call answered input_required keeps its reservation for the client's retry (ms; default 600000). */
  inputRoundTtlMs?: number;
  /** How long a tools/call that became a task keeps its reservation without a terminal status (ms; default: the task's ttlMs, at most 24 h, else 1 h). */
  taskTtlMs?: number;
  /** The wire limits for messages not admitted by their transport already (admit.ts); default DEFAULT_WIRE_LIMITS. */
  limits?: Readonly<WireLimits>;
  /** Intercept's idempotency_window (src/idempotency); absent: a policy's window is not applied. */
  idempotency?: IdempotencyGate;
  /** Intercept's spend budgets (src/spend); absent: a policy with `spend:` refuses paid calls (fail closed). */
  spend?: SpendLedger;
}
