// A small reader of the Prometheus text exposition format (0.0.4): enough to
// check what /metrics serves (tests, `curl | ...` debugging), not a full
// OpenMetrics parser.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** metric family -> TYPE (counter, gauge, histogram, summary, untyped) */
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseValue(text: string): number {
  // Go's ParseFloat, which Prometheus uses, reads NaN and Inf in any case (prom-client writes "Nan").
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(text)}`);
  return n;
}

/** Parse exposition text; throws on a malformed line, naming it. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m) (m[1] === 'TYPE' ? types : help).set(m[2]!, m[3]!);
      return;
    }
    try {
      samples.push(parseSample(line));
    } catch (err) {
      throw new Error(`line ${i + 1}: ${(err as Error).message}: ${line}`);
    }
  });
  return { samples, types, help };
}

function parseSample(line: string): Sample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new Error('no metric name');
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const lm = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos));
      if (!lm) throw new Error('bad label name');
      pos += lm[0].length;
      if (line[pos] !== '=' || line[pos + 1] !== '"') throw new Error('expected ="');
      pos += 2;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new Error('unterminated label value');
        if (c === '"') {
          pos++;
          break;
        }
        if (c === '\\') {
          const n = line[pos + 1];
          value += n === 'n' ? '\n' : (n ?? '');
          pos += 2;
          continue;
        }
        value += c;
        pos++;
      }
      labels[lm[0]] = value;
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2) throw new Error('expected a value and an optional timestamp');
  return { name, labels, value: parseValue(rest[0]!) };
}

/** The sum of the samples with this name whose labels include `labels` (one sample when all labels are given); undefined when none matches. */
export function sampleValue(exp: Exposition | Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const samples = Array.isArray(exp) ? exp : exp.samples;
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length === 0) return undefined;
  return hits.reduce((sum, s) => sum + s.value, 0);
}
