// The gateway config's servers: each MCP server behind the gateway (a command or a URL),
// its policy (loaded and validated here, its errors at the policy file's own positions)
// and the settings whose change means a restart of that server (specHash).
import { createHash } from 'node:crypto';
import { isScalar } from 'yaml';
import { parseTokenExchangeConfig, type TokenExchangeConfig } from '../oauth/index.js';
import type { CompiledPolicy, PolicyError } from '../policy/index.js';
import { parseSessionMode, type SessionMode } from '../mcp/index.js';
import { deref, offsetOf, type Field } from '../yamlpos/index.js';
import type { ConfigReader } from './config-reader.js';
import type { ServerConfig, StartMode } from './config-types.js';

export const SERVER_NAME = /^[A-Za-z0-9_-]+$/;

const SERVER_KEYS = [
  'command',
  'args',
  'env',
  'cwd',
  'session_mode',
  'url',
  'headers',
  'transport',
  'oauth',
  'token_exchange',
  'protocol',
  'policy',
  'start',
  'description',
] as const;

export function readServers(r: ConfigReader, f: Field | undefined, separator: string, policyErrors: PolicyError[]): ServerConfig[] | undefined {
  if (!f) {
    r.issue(
      0,
      'the gateway config lists no servers',
      'add a "servers:" mapping, e.g. servers: { demo: { command: node, args: [demo.js], policy: ./demo.yaml } }',
    );
    return undefined;
  }
  const fields = r.map(f.value, 'servers', null, f.keyOffset);
  if (!fields) return undefined;
  if (fields.length === 0) {
    r.issue(f.keyOffset, 'the gateway config lists no servers', 'add at least one server under "servers:"');
    return undefined;
  }
  const out: ServerConfig[] = [];
  const prefixes: Array<{ name: string; at: number }> = [];
  for (const x of fields) {
    if (!SERVER_NAME.test(x.key)) {
      r.issue(
        x.keyOffset,
        `server name ${JSON.stringify(x.key)} may only hold letters, digits, _ and -`,
        `rename it, e.g. ${JSON.stringify(x.key.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'server')}`,
      );
      continue;
    }
    if (x.key.includes(separator)) {
      r.issue(
        x.keyOffset,
        `server name ${JSON.stringify(x.key)} contains the separator ${JSON.stringify(separator)}, so its namespaced tool names would be ambiguous`,
        `rename it without ${JSON.stringify(separator)}, or choose another separator`,
      );
      continue;
    }
    const clash = prefixes.find((p) => (p.name + separator).startsWith(x.key + separator) || (x.key + separator).startsWith(p.name + separator));
    if (clash) {
      r.issue(
        x.keyOffset,
        `server names ${JSON.stringify(clash.name)} and ${JSON.stringify(x.key)} make ambiguous tool names with the separator ${JSON.stringify(separator)}`,
        'rename one of them',
      );
      continue;
    }
    prefixes.push({ name: x.key, at: x.keyOffset });
    const s = readServer(r, x, policyErrors);
    if (s) out.push(s);
  }
  return out;
}

function readServer(r: ConfigReader, f: Field, policyErrors: PolicyError[]): ServerConfig | undefined {
  const name = f.key;
  const where = `servers.${name}`;
  const fields = r.map(f.value, where, SERVER_KEYS, f.keyOffset);
  if (!fields) return undefined;
  const get = (k: string) => fields.find((x) => x.key === k);
  const before = r.ctx.issues.length;
  const command = get('command');
  const url = get('url');
  if (command && url) {
    r.issue(url.keyOffset, `${where} has both command and url`, 'give a command (a stdio server) or a url (an HTTP server), not both');
    return undefined;
  }
  if (!command && !url) {
    r.issue(
      f.keyOffset,
      `${where} has neither command nor url`,
      `add command: <program> (with args:) for a stdio server, or url: https://... for an HTTP server`,
    );
    return undefined;
  }
  const misplaced = (keys: string[], kind: string) => {
    for (const k of keys) {
      const x = get(k);
      if (x) r.issue(x.keyOffset, `${where}.${k} only applies to ${kind} servers`, `remove it (this server has ${kind === 'command' ? 'a url' : 'a command'})`);
    }
  };
  let start: StartMode = 'lazy';
  const st = get('start');
  if (st) start = r.choice(st, `${where}.start`, ['lazy', 'eager'] as const) ?? 'lazy';
  const protoF = get('protocol');
  // An unquoted 2025 is a YAML number: it means the line all the same.
  const protoNode = protoF ? deref(r.ctx, protoF.value) : undefined;
  const protocol =
    protoNode && isScalar(protoNode) && protoNode.value === 2025
      ? '2025'
      : ((protoF ? r.choice(protoF, `${where}.protocol`, ['auto', '2025', '2026-07-28'] as const) : undefined) ?? 'auto');
  if (get('description')) r.str(get('description')!, `${where}.description`);

  const pol = get('policy');
  let policyPath: string | undefined;
  let policy: CompiledPolicy | undefined;
  if (!pol) {
    r.issue(f.keyOffset, `${where} has no policy`, `add policy: ./${name}.yaml (every server needs its own policy; toolgate scan can write one)`);
  } else {
    const p = r.nonEmpty(pol, `${where}.policy`);
    if (p !== undefined) {
      policyPath = r.path(p);
      const loaded = r.io.loadPolicy(policyPath);
      if (loaded.ok) policy = loaded.policy;
      else {
        const notFound = loaded.errors.length === 1 && /not found|cannot read/.test(loaded.errors[0]!.message);
        if (notFound)
          r.issue(
            offsetOf(pol.value, pol.keyOffset),
            `${where}.policy: ${loaded.errors[0]!.message}: ${policyPath}`,
            'check the path (relative paths are relative to this config file)',
          );
        else {
          r.issue(
            offsetOf(pol.value, pol.keyOffset),
            `${where}.policy: ${policyPath} has ${loaded.errors.length} error(s), listed below`,
            'fix the policy file',
          );
          policyErrors.push(...loaded.errors);
        }
      }
    }
  }

  let spec: Record<string, unknown> | undefined;
  if (command) {
    misplaced(['headers', 'transport', 'oauth', 'token_exchange'], 'url');
    const smF = get('session_mode');
    let sessionMode: SessionMode = { kind: 'per-session' };
    if (smF) {
      const text = r.nonEmpty(smF, `${where}.session_mode`);
      try {
        sessionMode = parseSessionMode(text, `${where}.session_mode`);
      } catch (err) {
        if (text !== undefined)
          r.issue(offsetOf(smF.value, smF.keyOffset), (err as Error).message, 'write per-session (one child per client session), shared, or e.g. pool:4');
      }
    }
    const cmd = r.nonEmpty(command, `${where}.command`);
    const argsF = get('args');
    const args = argsF ? r.strings(argsF, `${where}.args`) : [];
    const env: Record<string, string> = {};
    const envF = get('env');
    for (const e of envF ? (r.stringMap(envF, `${where}.env`) ?? []) : []) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.key))
        r.issue(e.at, `${where}.env: ${JSON.stringify(e.key)} is not a valid environment variable name`, 'use letters, digits and _');
      const v = r.expand(e.value, e.at, `${where}.env.${e.key}`);
      if (v !== undefined) env[e.key] = v;
    }
    const cwdF = get('cwd');
    const cwd = cwdF ? r.nonEmpty(cwdF, `${where}.cwd`) : undefined;
    // The child runs in the config file's directory unless told otherwise, so relative args mean what they say.
    if (cmd !== undefined && args) spec = { kind: 'command', command: cmd, args, env, cwd: cwd !== undefined ? r.path(cwd) : r.base, sessionMode };
  } else {
    misplaced(['args', 'env', 'cwd', 'session_mode'], 'command');
    const raw = r.nonEmpty(url!, `${where}.url`);
    const at = offsetOf(url!.value, url!.keyOffset);
    const u = raw === undefined ? undefined : r.expand(raw, at, `${where}.url`);
    let href: string | undefined;
    if (u !== undefined) {
      try {
        const parsed = new URL(u);
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
        href = parsed.href;
      } catch {
        r.issue(at, `${where}.url must be an http(s) URL, got ${JSON.stringify(u)}`, 'write e.g. url: https://mcp.example.com/mcp');
      }
    }
    const tF = get('transport');
    const transport = (tF ? r.choice(tF, `${where}.transport`, ['http', 'sse', 'auto'] as const) : undefined) ?? 'auto';
    const headers: Record<string, string> = {};
    const hF = get('headers');
    for (const h of hF ? (r.stringMap(hF, `${where}.headers`) ?? []) : []) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.key)) {
        r.issue(h.at, `${where}.headers: ${JSON.stringify(h.key)} is not a valid header name`, 'use a plain header name such as Authorization');
        continue;
      }
      if (h.key.toLowerCase() === 'host' || h.key.toLowerCase() === 'content-length') {
        r.issue(h.at, `${where}.headers: ${h.key} is set by the gateway`, 'remove it');
        continue;
      }
      const v = r.expand(h.value, h.at, `${where}.headers.${h.key}`);
      if (v === undefined) continue;
      if (/[\r\n\0]/.test(v)) r.issue(h.at, `${where}.headers.${h.key}: the value must not contain line breaks`, 'write it on one line');
      else headers[h.key.toLowerCase()] = v;
    }
    const oF = get('oauth');
    const oauth = oF ? r.bool(oF, `${where}.oauth`) : undefined;
    if (oauth && headers.authorization !== undefined)
      r.issue(oF!.keyOffset, `${where}: oauth and an Authorization header both set the token`, 'remove one of them');
    const xF = get('token_exchange');
    let tokenExchange: TokenExchangeConfig | undefined;
    if (xF) {
      const parsed = parseTokenExchangeConfig(r.plain(xF), `${where}.token_exchange`, r.base, r.io.env);
      if (parsed.ok) tokenExchange = parsed.config;
      else for (const e of parsed.errors) r.issue(xF.keyOffset, e, 'see docs/OAUTH.md "Token exchange" for the keys');
      if (oauth || headers.authorization !== undefined)
        r.issue(xF.keyOffset, `${where}: token_exchange and ${oauth ? 'oauth' : 'an Authorization header'} both set the token`, 'remove one of them');
    }
    if (href !== undefined) spec = { kind: 'url', url: href, transport, headers, ...(oauth ? { oauth } : {}), ...(tokenExchange ? { tokenExchange } : {}) };
  }
  if (r.ctx.issues.length > before || !spec || !policy || !policyPath) return undefined;
  const specHash = createHash('sha256')
    .update(JSON.stringify({ ...spec, protocol }))
    .digest('hex');
  return {
    ...(spec as { kind: 'command'; command: string; args: string[]; env: Record<string, string> }),
    name,
    policyPath,
    policy,
    start,
    protocol,
    specHash,
  } as ServerConfig;
}
