// The dashboard test fixture shared by src/web/server*.test.ts: a state directory with audit records,
// pins and counters, a running dashboard on it, and a raw HTTP client that sets any header.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApprovalStore, type ApprovalStore } from '../../src/approval/index.js';
import { openAuditWriter } from '../../src/audit/index.js';
import type { AuditLog } from '../../src/audit/writer.js';
import { definitionHash, pinnedDefinition, SqlitePinStore } from '../../src/pins/index.js';
import { openCounterStore } from '../../src/state/index.js';
import { startDashboard, type RunningDashboard } from '../../src/web/index.js';

export const ADMIN = 'admin-key-0123456789abcdef';
export const VIEWER = 'viewer-key-0123456789abcdef';
const POLICY = `version: "1"
default: allow
hide: [admin_reset]
tools:
  create_charge:
    rules:
      - name: "big charges"
        action: require_approval
        conditions:
          - { path: "args.amount", op: gt, value: 1000 }
  delete_customer:
    rules:
      - name: "no deletes"
        action: deny
        on_deny: "no"
  get_weather:
    rules:
      - name: "weather quota"
        rate_limit: 5/minute
`;

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of the headers (fetch does not let a test set Origin freely). */
export function http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const ts = () => new Date().toISOString();

export interface DashboardFixture {
  dir: string;
  audit: AuditLog;
  approvals: ApprovalStore;
  dash: RunningDashboard;
  base: string;
  origin: string;
  close(): Promise<void>;
}

/** A dashboard over a state directory holding a few calls, an approval request, pins and counters. */
export async function openDashboardFixture(): Promise<DashboardFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'toolgate-web-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, POLICY);
  const audit = await openAuditWriter({ stateDir: dir, instance: 'gw-1', sync: 'full', heartbeatMs: 0 });
  audit.emit({ type: 'startup', ts: ts(), instance: 'gw-1', server: 'node', config: policy, pin_server: 'node demo.js', pid: process.pid });
  audit.emit({
    type: 'tool_call',
    ts: ts(),
    instance: 'gw-1',
    server: 'node',
    tool: 'echo',
    identity: 'alice',
    decision: 'allowed',
    outcome: 'ok',
    latency_ms: 3,
  });
  audit.emit({
    type: 'tool_call',
    ts: ts(),
    instance: 'gw-1',
    server: 'node',
    tool: 'delete_customer',
    identity: 'bob',
    decision: 'denied',
    reason: 'rule',
    rule: 'no deletes',
    rule_pointer: 'tools/delete_customer/rules/0',
    message: 'no',
  });
  audit.emit({
    type: 'approval_requested',
    ts: ts(),
    instance: 'gw-1',
    server: 'node',
    tool: 'create_charge',
    identity: 'alice',
    approval_id: 'ap_0000000000000000',
  });
  const approvals = openApprovalStore(dir);
  const pins = SqlitePinStore.inStateDir(dir);
  for (const t of [
    {
      name: 'create_charge',
      description: 'Charge a customer (amount in cents)',
      inputSchema: { type: 'object', properties: { amount: { type: 'number' }, currency: { type: 'string' } } },
    },
    { name: 'get_weather', description: 'Get the current weather for a city', annotations: { readOnlyHint: true } },
    { name: 'admin_reset', description: 'Reset the whole account' },
  ]) {
    const def = pinnedDefinition(t);
    pins.pin('node demo.js', def, definitionHash(def), new Date());
  }
  pins.close();
  // One fixed instant for the counters and the dashboard: a minute window read on the wall clock
  // empties when the suite runs across a minute boundary (seen in CI).
  const now = Date.now();
  const counters = await openCounterStore({ kind: 'sqlite', stateDir: dir });
  await counters.reserve([{ key: 'get_weather._rate_minute', window: 'minute', amount: 2, limit: 5 }], now);
  await counters.reserve([{ key: 'x.spend|identity=alice', window: 'day', amount: 7, limit: 100 }], now);
  await counters.close();
  const dash = await startDashboard({ stateDir: dir, adminKey: ADMIN, viewerKeys: [VIEWER], port: 0, pollMs: 30, clock: () => now });
  return {
    dir,
    audit,
    approvals,
    dash,
    base: dash.url.replace(/\/$/, ''),
    origin: new URL(dash.url).origin,
    async close() {
      await dash.close();
      await audit.close();
      approvals.close();
    },
  };
}
