// A minimal MCP server for end-to-end tests that need to see what reaches the
// server: it appends every line it reads on stdin to a file, answers
// initialize, tools/list (one tool, `echo`) and tools/call (echoing
// `arguments.message`), and records the signals it receives.
import { readFileSync, existsSync } from 'node:fs';

const SOURCE = `
const fs = require('fs');
const log = process.argv[1];
const note = (line) => fs.appendFileSync(log, line + '\\n');
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1']) process.on(sig, () => note('signal ' + sig));
note('pid ' + process.pid);
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  note('in ' + line);
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined) return;
  const answer = (result) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\\n');
  if (m.method === 'initialize') answer({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'recording', version: '1' } });
  else if (m.method === 'tools/list') answer({ tools: [{ name: 'echo', inputSchema: { type: 'object' } }] });
  else if (m.method === 'tools/call') answer({ content: [{ type: 'text', text: String((m.params.arguments || {}).message) }] });
  else process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no such method' } }) + '\\n');
}).on('close', () => note('stdin closed'));
setInterval(() => {}, 60_000); // stays up until a signal ends it, even once stdin is closed
`;

/** The command that runs the recording server, logging to `logFile`. */
export function recordingServer(logFile: string): string[] {
  return [process.execPath, '-e', SOURCE, logFile];
}

/** The lines the server logged so far. */
export function serverLog(logFile: string): string[] {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [];
}

/** The JSON-RPC messages that reached the server. */
export function serverInput(logFile: string): Array<Record<string, any>> {
  return serverLog(logFile)
    .filter((l) => l.startsWith('in '))
    .flatMap((l) => {
      try {
        return [JSON.parse(l.slice(3)) as Record<string, any>];
      } catch {
        return [];
      }
    });
}
