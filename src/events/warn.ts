/** Default warning channel of the events room: stderr (stdout is the MCP protocol in stdio mode). */
export function warnToStderr(message: string): void {
  try {
    process.stderr.write(`toolgate: ${message}\n`);
  } catch {
    // Nothing left to tell.
  }
}
