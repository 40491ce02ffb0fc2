// Where MCP clients keep their server lists, and under which key. Each client documents its own
// file; the shapes differ only in the key that holds the map of servers ("mcpServers" or
// "servers") and in how a remote server is spelt (url, serverUrl, type http/sse).
import { join } from 'node:path';

/** A JSON path from the file's root to an object that maps server names to server entries. */
export type JsonPath = readonly string[];

export interface ClientConfigLocation {
  /** The client, as shown to the user. */
  client: string;
  file: string;
  /** Every place in the file where a map of servers may sit (the first ones are the usual). */
  maps: readonly JsonPath[];
  /** A file in the project folder: its commands come with the repository, not from the user. */
  project?: boolean;
}

export interface LocateOptions {
  home: string;
  /** The project directory (for .mcp.json, .vscode/mcp.json, .cursor/mcp.json). */
  project: string;
  /** %APPDATA% on Windows, when set. */
  appData?: string | undefined;
}

/**
 * Every config file `toolgate init` looks at, in the order shown. A path that does not exist is
 * skipped by the caller; listing the macOS and Linux paths on every platform costs nothing.
 */
export function clientConfigLocations(o: LocateOptions): ClientConfigLocation[] {
  const { home, project } = o;
  const mac = join(home, 'Library', 'Application Support');
  const xdg = join(home, '.config');
  const out: ClientConfigLocation[] = [
    { client: 'Claude Desktop', file: join(xdg, 'Claude', 'claude_desktop_config.json'), maps: [['mcpServers']] },
    { client: 'Claude Desktop', file: join(mac, 'Claude', 'claude_desktop_config.json'), maps: [['mcpServers']] },
  ];
  if (o.appData) out.push({ client: 'Claude Desktop', file: join(o.appData, 'Claude', 'claude_desktop_config.json'), maps: [['mcpServers']] });
  out.push(
    // Claude Code: the project's shared .mcp.json, and the user file whose top-level mcpServers is
    // the user scope and projects[<dir>].mcpServers the local scope of one project.
    { client: 'Claude Code (project)', file: join(project, '.mcp.json'), maps: [['mcpServers']], project: true },
    { client: 'Claude Code (user)', file: join(home, '.claude.json'), maps: [['mcpServers'], ['projects', project, 'mcpServers']] },
    { client: 'Cursor', file: join(home, '.cursor', 'mcp.json'), maps: [['mcpServers']] },
    { client: 'Cursor (project)', file: join(project, '.cursor', 'mcp.json'), maps: [['mcpServers']], project: true },
    // VS Code: "servers" in mcp.json (workspace or user profile); older user settings hold "mcp": { "servers" }.
    { client: 'VS Code (workspace)', file: join(project, '.vscode', 'mcp.json'), maps: [['servers']], project: true },
    { client: 'VS Code (user)', file: join(xdg, 'Code', 'User', 'mcp.json'), maps: [['servers']] },
    { client: 'VS Code (user)', file: join(mac, 'Code', 'User', 'mcp.json'), maps: [['servers']] },
    { client: 'VS Code (user settings)', file: join(xdg, 'Code', 'User', 'settings.json'), maps: [['mcp', 'servers'], ['mcp.servers']] },
    { client: 'VS Code (user settings)', file: join(mac, 'Code', 'User', 'settings.json'), maps: [['mcp', 'servers'], ['mcp.servers']] },
    { client: 'Windsurf', file: join(home, '.codeium', 'windsurf', 'mcp_config.json'), maps: [['mcpServers']] },
  );
  return out;
}
