// An MCP server for the idempotency and spend e2e tests. Every tools/call it
// executes is appended to a log file (shared by every process that runs it),
// so a test sees exactly how often a call reached a server. Tools:
//   echo {message, ...}        "#<n> <message>" where n counts this process's executions
//   slow {ms, ...}             answers "#<n> slow" after ms
//   fail {}                    a JSON-RPC error
//   tool_error {}              a result with isError: true
//   paid_search {query, price} Machine Payments Protocol: without a credential in
//                              params._meta["org.paymentauth/credential"], error -32042 with one
//                              challenge asking for `price` base units of usd (2 decimals); with one,
//                              "paid <query>" (or -32043 when the credential's payload says bad: true)
import { existsSync, readFileSync } from 'node:fs';

const SOURCE = `
const fs = require('fs');
const log = process.argv[1];
let n = 0;
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined) return;
  const answer = (result) => send({ jsonrpc: '2.0', id: m.id, result });
  const fail = (code, message, data) => send({ jsonrpc: '2.0', id: m.id, error: { code, message, ...(data ? { data } : {}) } });
  const text = (t) => answer({ content: [{ type: 'text', text: t }] });
  if (m.method === 'initialize') return answer({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'paid', version: '1' } });
  if (m.method === 'tools/list') return answer({ tools: ['echo', 'slow', 'fail', 'tool_error', 'paid_search'].map((name) => ({ name, inputSchema: { type: 'object' } })) });
  if (m.method !== 'tools/call') return fail(-32601, 'no such method');
  const { name, arguments: args = {}, _meta = {} } = m.params;
  if (name === 'paid_search') {
    const credential = _meta['org.paymentauth/credential'];
    if (!credential) {
      fs.appendFileSync(log, 'challenge ' + JSON.stringify(args) + '\\n');
      return fail(-32042, 'Payment Required', { httpStatus: 402, challenges: [{ id: 'ch-' + args.query, realm: 'paid.test', method: 'stripe', intent: 'charge', request: { amount: String(args.price), currency: 'usd', decimals: 2 } }] });
    }
    if (credential.payload && credential.payload.bad) {
      fs.appendFileSync(log, 'refused ' + JSON.stringify(args) + '\\n');
      return fail(-32043, 'Payment verification failed');
    }
    fs.appendFileSync(log, 'exec paid_search ' + JSON.stringify(args) + '\\n');
    return answer({ content: [{ type: 'text', text: 'paid ' + args.query }], _meta: { 'org.paymentauth/receipt': { status: 'success', challengeId: credential.challenge.id } } });
  }
  fs.appendFileSync(log, 'exec ' + name + ' ' + JSON.stringify(args) + '\\n');
  n++;
  if (name === 'echo') return text('#' + n + ' ' + args.message);
  if (name === 'slow') return setTimeout(() => text('#' + n + ' slow'), args.ms || 300);
  if (name === 'fail') return fail(-32000, 'this tool always fails');
  if (name === 'tool_error') return answer({ content: [{ type: 'text', text: 'failed #' + n }], isError: true });
  fail(-32602, 'unknown tool ' + name);
});
`;

/** The command that runs the server, logging executions to `logFile`. */
export function paidServer(logFile: string): string[] {
  return [process.execPath, '-e', SOURCE, logFile];
}

/** Lines the server logged: `exec <tool> <args>`, `challenge <args>`, `refused <args>`. */
export function executions(logFile: string, kind = 'exec'): string[] {
  return existsSync(logFile)
    ? readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(`${kind} `))
    : [];
}

/** A credential paying the server's challenge for `query` at `price` base units (as an MPP client builds it). */
export function credentialFor(query: string, price: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    challenge: { id: `ch-${query}`, realm: 'paid.test', method: 'stripe', intent: 'charge', request: { amount: String(price), currency: 'usd', decimals: 2 } },
    payload: { spt: 'spt_test', ...extra },
  };
}
