// What the two settings readers of this room (the `oauth` block and the `token_exchange`
// block) share: the URL and secret rules, zod issues turned into problems with a fix, and
// a file of its own (`--oauth FILE`, `--upstream-token-exchange FILE`) read through yamlpos
// so that each problem names file:line:col like the policy and the serve config do.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Document } from 'yaml';
import { z } from 'zod';
import { closest, issuesToErrors, readYaml, type Issue } from '../yamlpos/index.js';

/** A problem in a settings block: where in it (key path), what is wrong, how to fix it. */
export interface Problem {
  path: PropertyKey[];
  message: string;
  fix?: string;
  /** An unknown key at `path`: the position is the key's own. */
  unknown?: string;
}

export type Checked<T> = { ok: true; config: T } | { ok: false; problems: Problem[] };

export const httpUrl = z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
  message: 'must be an http(s) URL',
  params: { fix: 'write a full URL, e.g. https://auth.example.com' },
});

/** Exactly one way to give the client secret (used in a zod refine). */
export const oneSecretSource = {
  message: 'give exactly one of client_secret_env or client_secret_file',
  params: { fix: 'keep client_secret_env (a variable name) or client_secret_file (a path), not both or neither' },
};

/** Secrets and tokens travel to these URLs: never in the clear off loopback. */
export function httpsProblems(urls: ReadonlyArray<readonly [PropertyKey[], string | undefined]>): Problem[] {
  const out: Problem[] = [];
  for (const [path, value] of urls) {
    if (value === undefined) continue;
    const p = new URL(value);
    if (p.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(p.hostname)) continue;
    out.push({
      path,
      message: `must use https (plain http only on loopback): ${value}`,
      fix: `write https://${p.host}${p.pathname === '/' ? '' : p.pathname}`,
    });
  }
  return out;
}

/** The client secret from its variable or file (relative to `baseDir`); an empty one is a problem. */
export function readSecret(
  at: PropertyKey[],
  source: { client_secret_env?: string | undefined; client_secret_file?: string | undefined },
  baseDir: string,
  env: NodeJS.ProcessEnv,
  problems: Problem[],
): string | undefined {
  if (source.client_secret_env !== undefined) {
    const secret = env[source.client_secret_env];
    if (!secret)
      problems.push({
        path: [...at, 'client_secret_env'],
        message: `the environment variable ${source.client_secret_env} is not set`,
        fix: `set ${source.client_secret_env} in toolgate's environment, or use client_secret_file`,
      });
    return secret || undefined;
  }
  const file = source.client_secret_file!;
  try {
    const secret = readFileSync(resolve(baseDir, file), 'utf8').trim();
    if (!secret) problems.push({ path: [...at, 'client_secret_file'], message: `${file} is empty`, fix: 'put the client secret in the file' });
    return secret || undefined;
  } catch (e) {
    problems.push({ path: [...at, 'client_secret_file'], message: (e as Error).message, fix: 'check the path (relative to the file that names it)' });
    return undefined;
  }
}

const TYPE_NAMES: Record<string, string> = { string: 'a string', number: 'a number', array: 'a list', object: 'a mapping of keys', record: 'a mapping' };

/** zod's issues as problems; the message is zod's, the fix is ours. `known`: the keys of the top-level block. */
export function zodProblems(error: z.ZodError, known: readonly string[]): Problem[] {
  return error.issues.map((i): Problem => {
    const key = String(i.path.at(-1) ?? 'the block');
    let fix: string | undefined;
    switch (i.code) {
      case 'unrecognized_keys': {
        const near = i.path.length === 0 ? closest(i.keys[0]!, known) : undefined;
        fix = near ? `did you mean ${near}?` : `remove ${i.keys.join(', ')}`;
        break;
      }
      case 'invalid_type':
        // zod keeps no input; a missing key is the type `undefined`.
        fix = / received undefined$/.test(i.message)
          ? `add ${key}`
          : `write ${i.path.map(String).join('.') || 'the file'} as ${TYPE_NAMES[i.expected] ?? i.expected}`;
        break;
      case 'invalid_value':
        fix = `use one of ${i.values.map((v) => String(v)).join(', ')}`;
        break;
      case 'too_small':
        fix = `give ${key} a value`;
        break;
      case 'custom':
        fix = (i.params as { fix?: string } | undefined)?.fix;
        break;
      default:
        fix = 'see docs/OAUTH.md for the keys and their values';
    }
    const unknown = i.code === 'unrecognized_keys' ? i.keys[0] : undefined;
    return { path: i.path, message: i.message, ...(fix ? { fix } : {}), ...(unknown !== undefined ? { unknown } : {}) };
  });
}

/** Problems as the one-line strings a caller without positions shows: `where.key.path: message`. */
export function problemLines(where: string, problems: readonly Problem[]): string[] {
  return problems.map((p) => `${[where, ...p.path.map(String)].join('.')}: ${p.message}`);
}

/** The offset of what `path` names: an unknown key itself, a value, or the nearest enclosing node that exists. */
function offsetOfPath(doc: Document, p: Problem): number {
  const unknownKey = p.unknown;
  let node: unknown = doc.contents;
  let at = (node as { range?: [number] } | null)?.range?.[0] ?? 0;
  for (const seg of unknownKey === undefined ? p.path : [...p.path, unknownKey]) {
    if (isMap(node)) {
      const pair = node.items.find((x) => isScalar(x.key) && String(x.key.value) === String(seg));
      if (!pair) break;
      at = (pair.key as { range?: [number] }).range?.[0] ?? at;
      if (seg === unknownKey) break;
      node = pair.value;
      at = (node as { range?: [number] } | null)?.range?.[0] ?? at;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
      at = (node as { range?: [number] }).range?.[0] ?? at;
    } else break;
  }
  return at;
}

/**
 * A settings file of its own, YAML or JSON, read through yamlpos: the checked config, or an
 * error listing every problem as `file:line:col: key: message (fix: ...)`.
 */
export function loadSettingsFile<T>(flag: string, file: string, check: (raw: unknown, baseDir: string) => Checked<T>): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${flag} ${file}: ${(e as Error).message}`);
  }
  const { doc, issues } = readYaml(text, { uniqueKeys: true });
  let found: Issue[] = issues;
  if (issues.length === 0) {
    let raw: unknown;
    try {
      raw = doc.toJS();
    } catch (e) {
      // e.g. an alias expanded too often (yaml's guard against a billion laughs).
      throw new Error(`${flag} ${file}: ${(e as Error).message}`);
    }
    const r = check(raw, dirname(resolve(file)));
    if (r.ok) return r.config;
    found = r.problems.map((p) => {
      const where = p.path.length > 0 ? `${p.path.map(String).join('.')}: ` : '';
      return { offset: offsetOfPath(doc, p), message: `${where}${p.message}`, ...(p.fix ? { fix: p.fix } : {}) };
    });
  }
  const lines = issuesToErrors(text, file, found).map((e) => `${e.file}:${e.line}:${e.column}: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`);
  throw new Error(`${flag} ${file} has errors:\n  ${lines.join('\n  ')}`);
}
