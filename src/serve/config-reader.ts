// The reader of the gateway config: the strict field readers of src/yamlpos, plus what
// the config reaches outside the file: relative paths, environment variables, key files.
import { isAbsolute, resolve } from 'node:path';
import { isScalar } from 'yaml';
import { parseDuration } from '../policy/index.js';
import { deref, FieldReader, kindName, offsetOf, scalarValue, type DecodeContext, type Field } from '../yamlpos/index.js';
import type { ConfigIo } from './config-types.js';

export class ConfigReader extends FieldReader {
  constructor(
    ctx: DecodeContext,
    /** The config file's directory: relative paths are relative to it. */
    readonly base: string,
    readonly io: ConfigIo,
  ) {
    super(ctx);
  }

  /** `${NAME}` is replaced by the gateway's environment variable NAME (`$${` is a literal `${`). */
  expand(value: string, at: number, what: string): string | undefined {
    let missing: string | undefined;
    const out = value.replace(/\$\$\{|\$\{([^}]*)\}/g, (m, name: string | undefined) => {
      if (m === '$${') return '${';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name ?? '')) {
        missing ??= `bad:${name}`;
        return '';
      }
      const v = this.io.env[name!];
      if (v === undefined) missing ??= name;
      return v ?? '';
    });
    if (missing === undefined) return out;
    if (missing.startsWith('bad:'))
      this.issue(
        at,
        `${what}: ${JSON.stringify(`\${${missing.slice(4)}}`)} is not a variable reference`,
        'write ${NAME} with a letter or _ first, or $${ for a literal ${',
      );
    else
      this.issue(
        at,
        `${what} uses the environment variable ${missing}, which is not set`,
        `set ${missing} in the gateway's environment, or write the value directly`,
      );
    return undefined;
  }

  path(p: string): string {
    return isAbsolute(p) ? p : resolve(this.base, p);
  }

  /** Keys read from a file (one per line, # comments). */
  keyFile(f: Field, what: string): string[] | undefined {
    const p = this.nonEmpty(f, what);
    return p === undefined ? undefined : this.keysIn(p, offsetOf(f.value, f.keyOffset), what);
  }

  keysIn(p: string, at: number, what: string): string[] | undefined {
    let text: string;
    try {
      text = this.io.readFile(this.path(p));
    } catch (e) {
      this.issue(
        at,
        `${what}: cannot read ${this.path(p)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
        'check the path (relative paths are relative to this config file)',
      );
      return undefined;
    }
    const keys = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (keys.length === 0) {
      this.issue(at, `${what}: ${this.path(p)} holds no key`, 'write one key per line');
      return undefined;
    }
    return keys;
  }

  envKeys(f: Field, what: string): string[] | undefined {
    const names = this.strings(f, what);
    if (!names) return undefined;
    const keys: string[] = [];
    for (const name of names) {
      const v = this.io.env[name];
      if (v === undefined || v.trim() === '') {
        this.issue(offsetOf(f.value, f.keyOffset), `${what}: the environment variable ${name} is not set`, `set ${name} before starting the gateway`);
        return undefined;
      }
      keys.push(...v.split(/[\s,]+/).filter(Boolean));
    }
    return keys;
  }

  /** A duration: seconds as a number, or 30s / 10m / 1h. */
  duration(f: Field, what: string): number | undefined {
    const d = deref(this.ctx, f.value);
    if (d && isScalar(d)) {
      const g = scalarValue(d);
      if (g.t === 'int' && g.v > 0) return g.v * 1000;
      if (g.t === 'string') {
        const ms = parseDuration(g.v);
        if (ms !== undefined && ms > 0) return ms;
      }
    }
    this.issue(
      offsetOf(d, f.keyOffset),
      `${what} must be a duration (seconds, or e.g. 30s, 10m, 1h), got ${kindName(this.ctx, d)}`,
      `write e.g. ${f.key}: 10m`,
    );
    return undefined;
  }
}
