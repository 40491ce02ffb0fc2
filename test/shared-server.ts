// A stdio MCP server on the SDK's McpServer for the shared-child tests. Every
// call is appended to $SHARED_SERVER_LOG as "<tool> <marker> <pid>" so a test
// can see what reached which process.
//   whoami          -> its pid
//   progress        -> `steps` progress notifications whose message is `tag`, then `tag`
//   wait            -> answers only when cancelled (logs "cancelled <marker>")
//   ask             -> asks the client (elicitation) and returns the answer
//   record          -> logs and answers
//   crash           -> exits with code 3 before answering
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const logFile = process.env.SHARED_SERVER_LOG ?? '/dev/null';
const note = (line: string) => appendFileSync(logFile, `${line} ${process.pid}\n`);
const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });

const server = new McpServer({ name: 'shared-test-server', version: '1.0.0' });
server.registerTool('whoami', { description: 'The server pid', inputSchema: {} }, async () => text(String(process.pid)));
server.registerTool('progress', { description: 'Reports progress', inputSchema: { tag: z.string(), steps: z.number() } }, async ({ tag, steps }, extra) => {
  const token = extra._meta?.progressToken;
  for (let i = 1; i <= steps; i++) {
    if (token !== undefined)
      await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps, message: tag } });
    await new Promise((r) => setTimeout(r, 5));
  }
  return text(tag);
});
server.registerTool('wait', { description: 'Answers when cancelled', inputSchema: { marker: z.string() } }, async ({ marker }, extra) => {
  note(`wait ${marker}`);
  await new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve()));
  note(`cancelled ${marker}`);
  return text('cancelled');
});
server.registerTool('ask', { description: 'Elicits an answer', inputSchema: { question: z.string() } }, async ({ question }) => {
  try {
    const r = await server.server.elicitInput({ message: question, requestedSchema: { type: 'object', properties: { answer: { type: 'string' } } } });
    return text(`${r.action}:${String(r.content?.answer ?? '')}`);
  } catch (err) {
    return text(`error:${(err as Error).message}`);
  }
});
server.registerTool('record', { description: 'Logs its marker', inputSchema: { marker: z.string() } }, async ({ marker }) => {
  note(`record ${marker}`);
  return text(marker);
});
server.registerTool('crash', { description: 'Exits', inputSchema: { marker: z.string() } }, async ({ marker }) => {
  note(`crash ${marker}`);
  process.exit(3);
});
process.stdin.on('end', () => process.exit(0));
await server.connect(new StdioServerTransport());
