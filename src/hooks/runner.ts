// Runs a call's hooks: per hook (by what it reaches) a circuit breaker, a bound
// on calls in flight and one interceptor connection, kept across policy reloads
// while the hook stays the same. Every call to a hook has its timeout (waiting
// for a slot included); the answer is checked against the hook's type.
import type { CompiledHook } from '../policy/hooks.js';
import { Breaker, Slots } from './breaker.js';
import { runChain, type ChainOutcome } from './chain.js';
import { InterceptorConnection } from './interceptor.js';
import { callWebhook } from './webhook.js';
import { readAnswer, type InvokeParams, type MutationResult, type Phase, type ValidationResult } from './wire.js';

/** Who is calling and where: the invocation context a hook is given. */
export interface HookCallContext {
  tool: string;
  session: string;
  identity?: string;
  server?: string;
}

export interface HookRunnerOptions {
  clock?: () => number;
  env?: NodeJS.ProcessEnv;
}

interface HookState {
  breaker: Breaker;
  slots: Slots;
  interceptor?: InterceptorConnection;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class HookRunner {
  private readonly states = new Map<string, HookState>();
  private readonly clock: () => number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(o: HookRunnerOptions = {}) {
    this.clock = o.clock ?? Date.now;
    this.env = o.env ?? process.env;
  }

  private state(hook: CompiledHook): HookState {
    let s = this.states.get(hook.key);
    if (!s) {
      s = { breaker: new Breaker(hook.breaker.failures, hook.breaker.resetMs, this.clock), slots: new Slots(hook.maxConcurrency) };
      if (hook.target.kind === 'interceptor') s.interceptor = new InterceptorConnection({ ...hook.target, type: hook.type });
      this.states.set(hook.key, s);
    }
    return s;
  }

  /** One hook, once: its checked answer, or a throw saying why it failed. */
  async invoke(hook: CompiledHook, phase: Phase, payload: unknown, ctx: HookCallContext): Promise<ValidationResult | MutationResult> {
    const s = this.state(hook);
    const refused = s.breaker.refusal();
    if (refused !== undefined) throw new Error(refused);
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${hook.timeoutMs}ms`));
        abort.abort();
      }, hook.timeoutMs);
    });
    let release: (() => void) | undefined;
    try {
      const answer = await Promise.race([
        (async () => {
          release = await s.slots.take(abort.signal);
          const params: InvokeParams = {
            name: hook.name,
            event: 'tools/call',
            phase,
            payload,
            context: {
              sessionId: ctx.session,
              principal: ctx.identity ?? null,
              timestamp: new Date(this.clock()).toISOString(),
              tool: ctx.tool,
              ...(ctx.server !== undefined ? { server: ctx.server } : {}),
            },
          };
          if (hook.target.kind === 'webhook') {
            let secret: string | undefined;
            if (hook.target.secretEnv !== undefined) {
              secret = this.env[hook.target.secretEnv];
              if (!secret) throw new Error(`its secret_env ${hook.target.secretEnv} is not set`);
            }
            return callWebhook({ url: hook.target.url, ...(secret !== undefined ? { secret } : {}) }, params, abort.signal, this.clock);
          }
          return s.interceptor!.invoke(params, abort.signal);
        })(),
        timedOut,
      ]);
      const checked = readAnswer(hook.type, answer);
      if (!checked.ok) throw new Error(checked.error);
      s.breaker.succeeded();
      return checked.value;
    } catch (err) {
      s.breaker.failed();
      if (err instanceof Error && err.name === 'AbortError') throw new Error(`no answer within ${hook.timeoutMs}ms`);
      throw err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
      abort.abort();
      release?.();
      timedOut.catch(() => {});
    }
  }

  /** The request phase: `{ name, arguments }` through the hooks; a mutation may change the arguments only. */
  request(hooks: readonly CompiledHook[], args: Record<string, unknown>, ctx: HookCallContext): Promise<ChainOutcome> {
    return this.guarded(hooks, 'request', { name: ctx.tool, arguments: args }, ctx, (p) =>
      !isPlainObject(p)
        ? 'a mutation returned a payload that is not an object'
        : p.name !== ctx.tool
          ? 'a mutation may not change the tool name'
          : !isPlainObject(p.arguments)
            ? 'a mutation returned arguments that are not an object'
            : Object.keys(p).some((k) => k !== 'name' && k !== 'arguments')
              ? 'a mutation may change the arguments only'
              : undefined,
    );
  }

  /** The response phase: the tool's result through the hooks; a mutation must return a result object. */
  response(hooks: readonly CompiledHook[], result: Record<string, unknown>, ctx: HookCallContext): Promise<ChainOutcome> {
    return this.guarded(hooks, 'response', result, ctx, (p) =>
      !isPlainObject(p)
        ? 'a mutation returned a result that is not an object'
        : 'content' in p && !Array.isArray(p.content)
          ? 'a mutation returned content that is not an array'
          : undefined,
    );
  }

  private async guarded(
    hooks: readonly CompiledHook[],
    phase: Phase,
    payload: unknown,
    ctx: HookCallContext,
    accept: (p: unknown) => string | undefined,
  ): Promise<ChainOutcome> {
    try {
      return await runChain(hooks, phase, payload, (h, p) => this.invoke(h, phase, p, ctx), accept);
    } catch (err) {
      // Never expected (runChain catches each hook's failure); fail closed all the same.
      return {
        ok: false,
        payload,
        changed: false,
        records: [],
        message: `toolgate could not run the hooks (${err instanceof Error ? err.message : String(err)}); denied`,
      };
    }
  }

  /** Close every interceptor connection (stdio servers end). */
  async close(): Promise<void> {
    await Promise.all([...this.states.values()].map((s) => s.interceptor?.close()));
    this.states.clear();
  }
}

/** The process's runner (every session in it shares the hooks' breakers and connections). */
export const sharedHooks = new HookRunner();
