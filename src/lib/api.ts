// The public, semver-stable types of toolgate as a library. Self-contained on
// purpose: nothing here names an internal module or the SDK, so the shipped
// declarations (dist/bundle/lib/*.d.ts) are this file and index.ts alone, and
// a host passes its SDK transports in by their shape (tested with SDK 1.32).

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * The shape of an MCP SDK `Transport` (`@modelcontextprotocol/sdk/shared/transport.js`),
 * written structurally: any SDK transport fits, client side or server side.
 */
export interface McpTransport {
  start(): Promise<void>;
  send(message: any, options?: any): Promise<void>;
  close(): Promise<void>;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: any, extra?: any) => void) | undefined;
  sessionId?: string | undefined;
  setProtocolVersion?: ((version: string) => void) | undefined;
}

/** A policy given as text instead of a file (no hot reload). */
export interface PolicyText {
  text: string;
  /** Detected from the text when absent (JSON: PolicyLayer; else Intercept YAML). */
  format?: 'intercept-yaml' | 'policylayer-json';
  /** The name errors and events use for it (default `inline-policy.yaml` / `.json`). */
  name?: string;
}

export interface ToolgateOptions {
  /** A policy file (Intercept YAML v1 or PolicyLayer JSON v1; watched and hot-reloaded), or its text. */
  policy: string | PolicyText;
  /**
   * Where counters live: `sqlite` (default; `<stateDir>/state.db`), `memory`
   * (this process only, gone when it ends), or a Redis URL (`redis://`,
   * `rediss://`, `redis+cluster://`; shared with every gateway on it, and so
   * are approvals and pins).
   */
  counters?: string;
  /** Key prefix for Redis (default `toolgate:`). */
  redisPrefix?: string;
  /** When the counter store cannot be reached: `closed` (default) denies calls that need it, `open` allows them. */
  stateFailMode?: 'closed' | 'open';
  /** Counters (SQLite), approvals, pins, the audit log and the event log (default `$TOOLGATE_HOME` or `~/.toolgate`). */
  stateDir?: string;
  /** `enforce` (default), or `monitor`: decide and record every call ("would deny") without enforcing. */
  mode?: 'enforce' | 'monitor';
  /** Tool pinning (the policy's `pin:` wins): `warn` (default), `enforce` or `off`. */
  pin?: 'off' | 'warn' | 'enforce';
  /** A PostgreSQL audit store (`postgres://...`) instead of `<stateDir>/audit.db`. */
  auditDsn?: string;
  /** Sign the audit hash chain with the HMAC key in this file. */
  auditHmacKeyFile?: string;
  /** Logs go to stderr, as JSON lines; default `warn`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Hears every event after it is recorded (a call's is recorded before its answer is delivered). */
  onEvent?: (event: ToolgateEvent) => void;
}

/** One session: a client and a server joined through the policy. */
export interface GuardOptions {
  /** Who is calling: a label for the policy's identities, counters and the audit log. */
  identity?: string;
  /** The server's name in events and for pins (default `server`). */
  server?: string;
  /** The session id in events (default: a random UUID). */
  sessionId?: string;
}

/** An event as the audit log and the JSONL log get it (`type`: tool_call, startup, pin_change, ...). */
export interface ToolgateEvent {
  readonly type: string;
  readonly ts: string;
  readonly instance: string;
  readonly session?: string;
  readonly identity?: string;
  readonly server?: string;
  readonly tool?: string;
  readonly request_id?: string | number;
  /** tool_call: allowed, denied, ... */
  readonly decision?: string;
  readonly reason?: string;
  readonly rule?: string;
  readonly [field: string]: unknown;
}

/** A call held for a human decision. */
export interface PendingApproval {
  id: string;
  tool: string;
  identity?: string;
  session?: string;
  rule: string;
  message?: string;
  /** The arguments as an approver sees them (secrets masked). */
  argsPreview?: unknown;
  createdAt: Date;
  expiresAt: Date;
}

export interface Toolgate {
  /**
   * Client side: wrap the transport your SDK `Client` would connect with;
   * connect the client to the transport returned. Every message to and from
   * the server crosses the policy.
   */
  guardClient(transport: McpTransport, options?: GuardOptions): McpTransport;
  /**
   * Server side: wrap the transport a client reaches your server on; connect
   * your SDK `Server` (or `McpServer`) to the transport returned.
   */
  guardServer(transport: McpTransport, options?: GuardOptions): McpTransport;
  /** Calls waiting for approval (any process on the same state directory or Redis may decide them too). */
  pendingApprovals(): Promise<PendingApproval[]>;
  /** Approve or deny a held call by id (or an unambiguous prefix); `by` is recorded as a declared name. */
  decide(id: string, decision: 'approve' | 'deny', by: string, reason?: string): Promise<void>;
  /** The policy's hash in force now (changes when a watched file is edited). */
  readonly policyHash: string;
  /** The id of this process's audit chain. */
  readonly instance: string;
  /** The state directory in use. */
  readonly stateDir: string;
  /** End every session, then record shutdown and close the stores. */
  close(): Promise<void>;
}

/** A policy that does not load: `message` lists each error as file:line:col with its fix. */
export class ToolgatePolicyError extends Error {
  constructor(
    message: string,
    readonly errors: ReadonlyArray<{ file: string; line: number; column: number; message: string; fix?: string }>,
  ) {
    super(message);
    this.name = 'ToolgatePolicyError';
  }
}
