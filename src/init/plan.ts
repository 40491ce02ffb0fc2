// What `toolgate init` does, without the page: find the client configs, start each stdio server
// to list its tools, recommend a choice per tool, and save: one policy per server, and each
// client config rewritten so that the server runs through toolgate.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanServer, type ScanTarget, type ToolDefinition } from '../risk/index.js';
import { Backups } from './backup.js';
import { clientConfigLocations, type LocateOptions } from './clients.js';
import { type ConfigFile, type FoundServer, readConfigFile, rewriteServer, wrappedCommand, writeFileAtomic } from './config-file.js';
import { checkChoice, policyFor, type Recommendation, recommendAll, type ToolChoice } from './policy.js';

export interface InitOptions extends LocateOptions {
  stateDir: string;
  /** Where the policies go (default <stateDir>/policies). */
  policyDir: string;
  /** The command that starts toolgate, as written into client configs. */
  toolgate: readonly string[];
  /** Time limit of each request to a server while listing its tools. */
  timeoutMs: number;
  now: () => Date;
  onProgress?: (message: string) => void;
  /**
   * Start the servers of the project folder's files too. Off by default: a cloned repository's
   * .mcp.json names commands of its author's choosing, and listing tools runs them (the clients
   * ask before they start such a server).
   */
  trustProject?: boolean;
  /** Lists a server's tools (the scanner of `toolgate scan`; replaceable in unit tests). */
  scan?: (target: ScanTarget, timeoutMs: number) => Promise<ToolDefinition[]>;
}

export interface PlannedServer extends FoundServer {
  tools?: Array<Recommendation & { description?: string }>;
  /** Why the tools could not be listed. */
  error?: string;
}

export interface Plan {
  files: ConfigFile[];
  servers: PlannedServer[];
}

/** Find every client config and list the tools of each stdio server in it. */
export async function discover(o: InitOptions): Promise<Plan> {
  const progress = o.onProgress ?? (() => {});
  const files = clientConfigLocations(o)
    .map(readConfigFile)
    .filter((f): f is ConfigFile => f !== undefined);
  const servers: PlannedServer[] = files.flatMap((f) => f.servers);
  const scan = o.scan ?? defaultScan;
  const todo = servers.filter((s) => s.kind === 'stdio' && (!s.fromProject || o.trustProject));
  for (const s of servers) {
    if (s.kind === 'stdio' && s.fromProject && !o.trustProject) {
      s.note = 'in the project folder: not started, as its command comes with the repository (--trust-project starts it)';
    }
  }
  // A few at a time: servers started with npx may take a while to download.
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let s = todo[next++]; s; s = todo[next++]) {
      progress(`listing the tools of ${s.name} (${s.client})`);
      try {
        const target: ScanTarget = {
          kind: 'stdio',
          command: s.command!,
          args: s.args ?? [],
          ...(s.env ? { env: s.env } : {}),
          ...(s.cwd ? { cwd: s.cwd } : {}),
        };
        const seen = new Set<string>();
        const listed = (await scan(target, o.timeoutMs)).filter((t) => !seen.has(t.name) && seen.add(t.name));
        s.tools = recommendAll(listed).map((r, i) => {
          const description = listed[i]!.description;
          return { ...r, ...(typeof description === 'string' ? { description: description.slice(0, 500) } : {}) };
        });
      } catch (err) {
        s.error = err instanceof Error ? err.message : String(err);
        progress(`${s.name}: ${s.error}`);
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return { files, servers };
}

async function defaultScan(target: ScanTarget, timeoutMs: number): Promise<ToolDefinition[]> {
  return (await scanServer(target, { timeoutMs })).tools;
}

/** The servers a save may change: stdio servers whose tools were listed. */
export function savable(plan: Plan): PlannedServer[] {
  return plan.servers.filter((s) => s.kind === 'stdio' && s.tools !== undefined);
}

export interface SaveRequest {
  /** Per server id, the choice for each of its tools. Servers not named are left alone. */
  servers: Array<{ id: string; tools: ToolChoice[] }>;
}

export interface SaveResult {
  policies: Array<{ server: string; client: string; file: string }>;
  rewritten: Array<{ file: string; servers: string[] }>;
  errors: string[];
}

/** Check a save request against the plan: every tool of every named server has a valid choice. Throws on the first problem. */
export function checkSaveRequest(plan: Plan, body: unknown): Array<{ server: PlannedServer; choices: ToolChoice[] }> {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { servers?: unknown }).servers)) {
    throw new Error('the request has no list of servers');
  }
  const byId = new Map(savable(plan).map((s) => [s.id, s]));
  const out: Array<{ server: PlannedServer; choices: ToolChoice[] }> = [];
  const ids = new Set<string>();
  for (const item of (body as { servers: unknown[] }).servers) {
    const { id, tools } = (item ?? {}) as { id?: unknown; tools?: unknown };
    const server = typeof id === 'string' ? byId.get(id) : undefined;
    if (!server) throw new Error(`unknown server ${JSON.stringify(id)}`);
    if (ids.has(server.id)) throw new Error(`server ${JSON.stringify(server.name)} is listed twice`);
    ids.add(server.id);
    if (!Array.isArray(tools)) throw new Error(`${server.name}: no list of tools`);
    const choices = tools.map(checkChoice);
    const known = new Set(server.tools!.map((t) => t.name));
    const given = new Set<string>();
    for (const c of choices) {
      if (!known.has(c.name)) throw new Error(`${server.name}: unknown tool ${JSON.stringify(c.name)}`);
      if (given.has(c.name)) throw new Error(`${server.name}: tool ${JSON.stringify(c.name)} is listed twice`);
      given.add(c.name);
    }
    const missing = [...known].filter((n) => !given.has(n));
    if (missing.length > 0) throw new Error(`${server.name}: no choice for ${missing.map((n) => JSON.stringify(n)).join(', ')}`);
    out.push({ server, choices });
  }
  return out;
}

/** The request that takes every recommendation (for --no-browser). */
export function recommendedRequest(plan: Plan): SaveRequest {
  return {
    servers: savable(plan).map((s) => ({
      id: s.id,
      tools: s.tools!.map(({ name, action, perMinute }) => ({ name, action, ...(perMinute ? { perMinute } : {}) })),
    })),
  };
}

/**
 * Save: every policy is built (and compiled) before anything is written, so a bad choice changes
 * nothing. Then the policies are written, then each client file is rewritten once (all its
 * servers in one atomic write, after a backup). A file whose server entry changed since
 * discovery is left as it is and reported.
 */
export function save(plan: Plan, body: unknown, o: InitOptions): SaveResult {
  const items = checkSaveRequest(plan, body);
  const now = o.now();
  mkdirSync(o.policyDir, { recursive: true, mode: 0o700 });
  const taken = new Set<string>();
  const built = items.map(({ server, choices }) => {
    const file = policyPath(o.policyDir, server.name, taken);
    return { server, file, text: policyFor(choices, { server: server.name, client: server.client, file: server.file, generatedAt: now }) };
  });
  const result: SaveResult = { policies: [], rewritten: [], errors: [] };
  for (const b of built) {
    writeFileAtomic(b.file, b.text, 0o600);
    result.policies.push({ server: b.server.name, client: b.server.client, file: b.file });
  }
  const backups = new Backups(o.stateDir);
  for (const file of new Set(built.map((b) => b.server.file))) {
    const mine = built.filter((b) => b.server.file === file);
    try {
      const original = readFileSync(file);
      let text = original.toString('utf8');
      for (const b of mine) text = rewriteServer(text, b.server, wrappedCommand(o.toolgate, b.file, b.server));
      backups.rewrite(mine[0]!.server.client, file, original, text, now);
      result.rewritten.push({ file, servers: mine.map((b) => b.server.name) });
    } catch (err) {
      result.errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  return result;
}

/** A file name from the server's name; one this run took, or one that exists, is not reused. */
function policyPath(dir: string, name: string, taken: Set<string>): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, 60) || 'server';
  for (let i = 1; ; i++) {
    const file = join(dir, `${slug}${i === 1 ? '' : `-${i}`}.yaml`);
    if (taken.has(file)) continue;
    // Never over an existing file: an earlier run's policy may still guard another client's server.
    if (existsSync(file)) continue;
    taken.add(file);
    return file;
  }
}
