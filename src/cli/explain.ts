import type { Command } from 'commander';
import { countersFor, decide, formatDuration, formatPolicyError, loadPolicyFile, refusedReservation, DENIAL_PREFIX } from '../policy/index.js';
import type { CompiledPolicy, ToolCall } from '../policy/index.js';
import { checkArguments, TaintStore } from '../guards/index.js';

/** The hooks a call of `tool` would go through (single-server gateway), as explain shows them. */
function hooksFor(policy: CompiledPolicy, tool: string) {
  return (['request', 'response'] as const).flatMap((phase) =>
    (policy.hooks?.on(phase, tool) ?? []).map((h) => ({
      phase,
      name: h.name,
      type: h.type,
      mode: h.mode,
      target: h.target.kind === 'webhook' ? `webhook ${h.target.url}` : `interceptor ${h.target.name}`,
      fail_open: h.failOpen,
      timeout_ms: h.timeoutMs,
    })),
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * `toolgate explain -c FILE --tool NAME --args JSON [--counter key=value ...] [--json]`:
 * how the policy decides one call, touching no real state (counters come from
 * --counter, or read 0).
 */
export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('Show how the policy decides one tool call (no real state is read or changed)')
    .requiredOption('-c, --config <file>', 'the policy file')
    .requiredOption('--tool <name>', 'the tool name')
    .option('--args <json>', 'the call arguments as a JSON object', '{}')
    .option('--counter <key=value>', 'a counter value in its current window, e.g. create_charge.daily_spend=900 (repeatable)', collect, [])
    .option('--identity <name>', "the caller's identity (grant): selects rules with identities and identity-scoped counters")
    .option('--session <id>', 'the session, for session-scoped counters')
    .option('--json', 'print machine-readable JSON')
    .action((opts: { config: string; tool: string; args: string; counter: string[]; identity?: string; session?: string; json?: boolean }) => {
      const loaded = loadPolicyFile(opts.config);
      if (!loaded.ok) {
        for (const e of loaded.errors) process.stderr.write(`${formatPolicyError(e)}\n`);
        process.exitCode = 1;
        return;
      }
      let args: unknown;
      try {
        args = JSON.parse(opts.args);
      } catch (e) {
        process.stderr.write(`toolgate explain: --args is not valid JSON: ${(e as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (args === null || typeof args !== 'object' || Array.isArray(args)) {
        process.stderr.write('toolgate explain: --args must be a JSON object\n');
        process.exitCode = 2;
        return;
      }
      const counters = new Map<string, number>();
      for (const kv of opts.counter) {
        const eq = kv.lastIndexOf('=');
        const value = eq > 0 ? Number(kv.slice(eq + 1)) : NaN;
        if (eq <= 0 || !Number.isFinite(value)) {
          process.stderr.write(`toolgate explain: --counter must be key=number, got ${JSON.stringify(kv)}\n`);
          process.exitCode = 2;
          return;
        }
        counters.set(kv.slice(0, eq), value);
      }
      const policy = loaded.policy;
      const call: ToolCall = { tool: opts.tool, args: args as Record<string, unknown> };
      if (opts.identity !== undefined) call.identity = opts.identity;
      if (opts.session !== undefined) call.session = opts.session;
      // Guards on the arguments (detect; no earlier results, so no taint), as the gateway runs them first.
      const guarded = checkArguments(
        { policy, tool: call.tool, session: 'explain', taint: new TaintStore(), ...(call.identity !== undefined ? { identity: call.identity } : {}) },
        call.args,
      );
      if (guarded.ok) call.args = guarded.args;
      // External hooks are not called here: they are listed (the decision is the policy's on these arguments).
      const hooks = hooksFor(policy, call.tool);
      const refs = countersFor(policy, call);
      const snapshot = new Map(refs.map((r) => [r.key, counters.get(r.key) ?? 0]));
      for (const [k, v] of counters) if (!snapshot.has(k)) snapshot.set(k, v);
      const d = decide(policy, call, snapshot);
      let out: Record<string, unknown>;
      if (d.allowed) {
        const refused = refusedReservation(d.reservations, snapshot);
        const read = { ...d.countersRead };
        for (const r of d.reservations) read[r.key] = snapshot.get(r.key) ?? 0;
        if (refused) {
          const r = d.reservations[refused.index]!;
          out = {
            decision: 'denied',
            reason: 'rate_limit',
            rule: r.rule,
            pointer: r.pointer,
            message: `${DENIAL_PREFIX} ${r.onDeny}`,
            reservations: d.reservations,
            countersRead: read,
          };
        } else if (d.approval) {
          out = { decision: 'approval', approval: d.approval, reservations: d.reservations, countersRead: read };
        } else {
          out = { decision: 'allowed', reservations: d.reservations, countersRead: read };
        }
      } else {
        out = {
          decision: 'denied',
          reason: d.reason,
          rule: d.rule,
          pointer: d.pointer ?? null,
          message: `${DENIAL_PREFIX} ${d.message}`,
          reservations: [],
          countersRead: d.countersRead,
        };
      }
      if (!guarded.ok)
        out = {
          decision: 'denied',
          reason: 'guard',
          rule: 'guards',
          pointer: null,
          message: `${DENIAL_PREFIX} ${guarded.message}`,
          reservations: [],
          countersRead: {},
        };
      out = {
        tool: call.tool,
        identity: call.identity ?? null,
        policy: opts.config,
        format: policy.format,
        policyHash: policy.hash,
        ...out,
        ...(guarded.records.length > 0 ? { guards: guarded.records } : {}),
        ...(hooks.length > 0 ? { hooks } : {}),
        ...policyWide(policy),
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out, (_k, v) => (v === Infinity ? 'Infinity' : v), 2)}\n`);
        return;
      }
      const lines = [
        `${out.decision === 'approval' ? 'held for approval' : String(out.decision)}: ${call.tool}${call.identity !== undefined ? ` (identity ${call.identity})` : ''}`,
      ];
      if (out.decision === 'approval') {
        const a = out.approval as { rule: string; pointer: string; timeoutMs: number; approvers?: string[]; message?: string; selfApproval?: boolean };
        lines.push(`  rule:     ${a.rule} (${a.pointer})`);
        lines.push(`  timeout:  ${formatDuration(a.timeoutMs)} (then denied)`);
        lines.push(`  approvers: ${a.approvers ? a.approvers.join(', ') : 'any'}${a.selfApproval ? ' (self-approval allowed)' : ''}`);
        if (a.message !== undefined) lines.push(`  message:  ${a.message}`);
      }
      if (out.decision === 'denied') {
        lines.push(`  rule:     ${String(out.rule)}${out.pointer ? ` (${String(out.pointer)})` : ''}`);
        lines.push(`  reason:   ${String(out.reason)}`);
        lines.push(`  message:  ${String(out.message)}`);
      }
      const res = out.reservations as Array<{ key: string; window: string; amount: number; limit: number; rule: string }>;
      if (res.length > 0) {
        lines.push(out.decision === 'denied' ? '  reservations:' : '  would reserve:');
        for (const r of res) lines.push(`    ${r.key} (${r.window}) +${r.amount}, limit ${r.limit === Infinity ? 'none' : r.limit}  [${r.rule}]`);
      }
      for (const g of guarded.records) lines.push(`  guards:   ${g.guard} ${g.action} on ${g.target}: ${Object.keys(g.kinds ?? {}).join(', ')}`);
      for (const h of hooks)
        lines.push(
          `  hook:     ${h.phase} ${h.name} (${h.type}${h.mode === 'audit' ? ', audit only' : ''}, ${h.target}, ${h.fail_open ? 'fail-open' : 'fail-closed'}, timeout ${h.timeout_ms}ms): not called by explain`,
        );
      lines.push(...policyWideLines(policy));
      const read = Object.entries(out.countersRead as Record<string, number>);
      lines.push(read.length > 0 ? '  counters read:' : '  counters read: none');
      for (const [k, v] of read) lines.push(`    ${k} = ${v}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** What the policy applies to every call beside its rules: Intercept's idempotency_window and spend budgets. */
function policyWide(policy: CompiledPolicy): Record<string, unknown> {
  return {
    ...(policy.idempotencyWindowMs !== undefined ? { idempotencyWindow: formatDuration(policy.idempotencyWindowMs) } : {}),
    ...(policy.spend ? { spend: policy.spend } : {}),
  };
}

function policyWideLines(policy: CompiledPolicy): string[] {
  const lines: string[] = [];
  if (policy.idempotencyWindowMs !== undefined) {
    lines.push(
      `  idempotency: an identical call within ${formatDuration(policy.idempotencyWindowMs)} after a success gets the first answer (idempotency_window)`,
    );
  }
  if (policy.spend) {
    const parts = [
      ...(policy.spend.perCall !== undefined ? [`at most ${policy.spend.perCall} per call`] : []),
      ...(policy.spend.daily !== undefined ? [`at most ${policy.spend.daily} a day (UTC) per identity`] : []),
    ];
    lines.push(`  spend:    ${parts.join(', ')}; checked against the price of a payment challenge (-32042)`);
  }
  return lines;
}
