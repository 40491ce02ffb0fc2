// Read a client's config file, list its servers, and rewrite one server's command so that it
// runs through toolgate. The files are JSON, and VS Code's are JSON with comments: jsonc-parser
// (the parser VS Code itself uses) reads both and edits a value in place, so the user's
// comments, key order, indentation and every key toolgate does not touch stay as they were.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { applyEdits, type FormattingOptions, modify, type ParseError, parse, printParseErrorCode } from 'jsonc-parser';
import type { ClientConfigLocation, JsonPath } from './clients.js';

export type ServerKind = 'stdio' | 'remote' | 'wrapped' | 'unsupported';

export interface FoundServer {
  /** Unique within one run: client file and JSON path. */
  id: string;
  client: string;
  file: string;
  name: string;
  /** Path from the file's root to this server's entry. */
  path: JsonPath;
  kind: ServerKind;
  /** Why the server is not stdio (for remote, wrapped and unsupported). */
  note?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  url?: string;
  /** The entry as read, to notice a change between discovery and saving. */
  entry: unknown;
  /** Found in a file of the project folder (see ClientConfigLocation.project). */
  fromProject?: boolean;
}

export interface ConfigFile {
  client: string;
  file: string;
  servers: FoundServer[];
  /** Set when the file cannot be read or is not valid JSON: it is never written. */
  error?: string;
}

export class ConfigError extends Error {}

/** Parse JSON (comments and trailing commas allowed, as the clients allow them); throws ConfigError with line:col. */
export function parseConfigText(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  if (errors.length > 0) {
    const e = errors[0]!;
    const before = text.slice(0, e.offset);
    const line = before.split('\n').length;
    const col = e.offset - before.lastIndexOf('\n');
    throw new ConfigError(`${file}:${line}:${col}: not valid JSON (${printParseErrorCode(e.error)}); the file is left as it is`);
  }
  if (value === undefined) return {};
  if (!isObject(value)) throw new ConfigError(`${file}: the top level is not a JSON object; the file is left as it is`);
  return value;
}

/** Read one location. Returns undefined when the file does not exist. */
export function readConfigFile(loc: ClientConfigLocation): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(loc.file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    return { client: loc.client, file: loc.file, servers: [], error: `${loc.file}: cannot read: ${(err as Error).message}` };
  }
  try {
    return { client: loc.client, file: loc.file, servers: serversIn(parseConfigText(text, loc.file), loc) };
  } catch (err) {
    if (err instanceof ConfigError) return { client: loc.client, file: loc.file, servers: [], error: err.message };
    throw err;
  }
}

/** The servers under every map of the location. */
export function serversIn(root: unknown, loc: ClientConfigLocation): FoundServer[] {
  const out: FoundServer[] = [];
  for (const mapPath of loc.maps) {
    const map = at(root, mapPath);
    if (!isObject(map)) continue;
    for (const name of Object.keys(map)) {
      const path = [...mapPath, name];
      out.push({
        id: `${loc.file}#${JSON.stringify(path)}`,
        client: loc.client,
        file: loc.file,
        name,
        path,
        entry: map[name],
        ...(loc.project ? { fromProject: true } : {}),
        ...describe(map[name]),
      });
    }
  }
  return out;
}

type Described = Pick<FoundServer, 'kind' | 'note' | 'command' | 'args' | 'env' | 'cwd' | 'url'>;

function describe(entry: unknown): Described {
  if (!isObject(entry)) return { kind: 'unsupported', note: 'the entry is not an object' };
  const url = [entry.url, entry.serverUrl].find((u) => typeof u === 'string') as string | undefined;
  const type = typeof entry.type === 'string' ? entry.type : undefined;
  if (url !== undefined || (type !== undefined && type !== 'stdio')) {
    return { kind: 'remote', note: `remote server${url ? ` at ${url}` : ''} (${type ?? 'http'}): listed, not rewritten`, ...(url ? { url } : {}) };
  }
  if (typeof entry.command !== 'string' || entry.command === '') return { kind: 'unsupported', note: 'no command' };
  const args = entry.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return { kind: 'unsupported', note: 'args is not a list of strings' };
  const d: Described = { kind: 'stdio', command: entry.command, args };
  if (isObject(entry.env)) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(entry.env)) if (typeof v === 'string') env[k] = v;
    d.env = env;
  }
  if (typeof entry.cwd === 'string') d.cwd = entry.cwd;
  if (isWrapped(entry.command, args)) return { ...d, kind: 'wrapped', note: 'already runs through toolgate' };
  return d;
}

/** A command that starts toolgate with a policy and a server after `--`. */
export function isWrapped(command: string, args: readonly string[]): boolean {
  const dashes = args.indexOf('--');
  if (dashes < 0) return false;
  const before = [command, ...args.slice(0, dashes)];
  const toolgate = before.some(
    (w) => /^toolgate(\.cmd|\.exe)?$/i.test(basename(w)) || /toolgate[\\/].*main\.js$/.test(w) || /[\\/]bundle[\\/]cli[\\/]main\.js$/.test(w),
  );
  return toolgate && (before.includes('-c') || before.includes('--config'));
}

/** The command line that runs `server` through toolgate with `policy`. */
export function wrappedCommand(toolgate: readonly string[], policy: string, server: FoundServer): { command: string; args: string[] } {
  const [command, ...pre] = toolgate;
  if (!command || server.command === undefined) throw new ConfigError(`${server.name}: nothing to wrap`);
  return { command, args: [...pre, '-c', policy, '--', server.command, ...(server.args ?? [])] };
}

/**
 * The file's text with the server's command and args replaced, nothing else changed. The server
 * is found again in `text` (the file may have changed since discovery): when its entry is no
 * longer what was shown on the page, this throws instead of guessing.
 */
export function rewriteServer(text: string, server: FoundServer, next: { command: string; args: string[] }): string {
  const root = parseConfigText(text, server.file);
  const now = at(root, server.path);
  if (JSON.stringify(now) !== JSON.stringify(server.entry)) {
    throw new ConfigError(`${server.file}: the entry of server ${JSON.stringify(server.name)} changed since it was read; run toolgate init again`);
  }
  const options = { formattingOptions: formatting(text) };
  let out = applyEdits(text, modify(text, [...server.path, 'command'], next.command, options));
  out = applyEdits(out, modify(out, [...server.path, 'args'], next.args, options));
  // What was written must read back as exactly the intended entry.
  const check = at(parseConfigText(out, server.file), server.path);
  if (!isObject(check) || check.command !== next.command || JSON.stringify(check.args) !== JSON.stringify(next.args)) {
    throw new ConfigError(`${server.file}: internal: the rewritten entry of ${JSON.stringify(server.name)} does not read back`);
  }
  return out;
}

/** Indentation as the file already has it. */
function formatting(text: string): FormattingOptions {
  const m = /\n([ \t]+)\S/.exec(text);
  const indent = m?.[1] ?? '  ';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  return indent.startsWith('\t') ? { insertSpaces: false, tabSize: 1, eol } : { insertSpaces: true, tabSize: indent.length, eol };
}

/**
 * Write a file so that a reader sees the old bytes or the new ones, never half: a temporary file
 * beside it (same file system), flushed, then renamed over it. A symbolic link is followed, so the
 * link stays a link. The file keeps its permission bits (client configs often hold API keys).
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode?: number): void {
  let target = file;
  try {
    target = realpathSync(file);
  } catch {
    // A new file: written where asked.
  }
  let perm = mode ?? 0o600;
  try {
    perm = mode ?? statSync(target).mode & 0o777;
  } catch {
    // A new file: private by default.
  }
  const tmp = join(dirname(target), `.${basename(target)}.toolgate-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', perm);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // renamed or never written
    }
    throw err;
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function at(root: unknown, path: JsonPath): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (!isObject(v) || !Object.hasOwn(v, k)) return undefined;
    v = v[k];
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
