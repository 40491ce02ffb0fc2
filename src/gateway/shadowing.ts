// Shadowing in `toolgate serve`: two servers offering the same tool name, or
// names that differ only by case or Unicode look-alikes (`delete_file`,
// `Delete_File`, `dеlete_file` with a Cyrillic е). On the aggregate endpoint
// names carry their server's prefix, so nothing is ambiguous there; on a
// per-server endpoint (/mcp/<server>) an agent that also talks to the other
// server cannot tell which one it calls, so the call is refused.
import { skeleton } from './lookalike.js';

export class ToolRegistry {
  /** server -> its listed tool names, by skeleton. */
  private readonly byServer = new Map<string, Map<string, string>>();

  /** Record the tools a server listed (the latest complete list wins). */
  note(server: string, names: Iterable<string>): void {
    const m = new Map<string, string>();
    for (const n of names) m.set(skeleton(n), n);
    this.byServer.set(server, m);
  }

  /** Tools of other servers that look like `tool` (same name, case or confusable variant). */
  clashes(server: string, tool: string): Array<{ server: string; tool: string }> {
    const key = skeleton(tool);
    const out: Array<{ server: string; tool: string }> = [];
    for (const [other, names] of this.byServer) {
      if (other === server) continue;
      const hit = names.get(key);
      if (hit !== undefined) out.push({ server: other, tool: hit });
    }
    return out;
  }
}
