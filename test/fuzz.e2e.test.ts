// Wire fuzzing: random and mutated JSON-RPC frames (fast-check) through a
// real toolgate, over stdio and Streamable HTTP, in front of servers that
// decode like Go (case-insensitive keys, last wins) or keep the first of
// duplicate keys, or coerce types like pydantic. After every frame:
//   - the gateway is up and a control call still works;
//   - the frame got its answer: a whole-frame error, or an answer for each
//     request id in it;
//   - every tools/call the server received was allowed by an audit record of
//     its own, for the tool and arguments as the server read them.
// `npm test` runs a bounded number of frames (FUZZ_RUNS, default 60 per
// gateway) after the corpus of issue 16's shapes (wire.e2e.test.ts);
// `npm run fuzz` runs many more (FUZZ_RUNS=2000). FUZZ_SEED replays a run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { httpGateway, stdioGateway, undecidedRuns, type Decode, type WireGateway } from './wire-support.js';
import { CRASHES, DUPLICATES, GO_BYPASSES } from './wire-corpus.js';

/** The corpus goes first (fast-check examples), then random frames. */
const CORPUS = [...GO_BYPASSES, ...DUPLICATES, ...CRASHES].map(([, text]) => [text] as [string]);

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** A JSON value as written: objects keep duplicate keys, numbers may be written out of range. */
type Node = { obj: Array<[string, Node]> } | { arr: Node[] } | { raw: string };

function write(n: Node): string {
  if ('raw' in n) return n.raw;
  if ('arr' in n) return `[${n.arr.map(write).join(',')}]`;
  return `{${n.obj.map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(',')}}`;
}

const lit = (v: unknown): Node => ({ raw: JSON.stringify(v) });

/** A key as written: usually exact, sometimes a case variant (Go reads those as the key). */
const key = (k: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(k) },
    { weight: 1, arbitrary: fc.constantFrom(k.toUpperCase(), k[0]!.toUpperCase() + k.slice(1), k.replace(/s/g, '\u017f'), k.replace(/k/g, '\u212a')) },
  );

const deep = fc.integer({ min: 2, max: 6000 }).map((d): Node => ({ raw: `${'['.repeat(d)}1${']'.repeat(d)}` }));

const value: fc.Arbitrary<Node> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(lit) },
  { weight: 1, arbitrary: fc.constantFrom('1e309', '-1e309', '1e308', '-0', '12345678901234567890', '"5000"', '"\\ud800"').map((raw): Node => ({ raw })) },
  { weight: 1, arbitrary: deep },
);

/** An object whose keys come from `names` (variants and duplicates likely). */
const objectOf = (names: string[], v: fc.Arbitrary<Node> = value) =>
  fc.array(fc.tuple(fc.constantFrom(...names).chain(key), v), { maxLength: 4 }).map((obj): Node => ({ obj }));

const args = objectOf(['amount', 'to', 'path', 'text', 'x']);
const tool = fc.constantFrom('echo', 'transfer', 'delete_file', 'secret', 'Delete_File', 'SECRET', 'd\u0435lete_file', 'ech\u200bo', 'nope');

const callParams = fc
  .tuple(
    key('name'),
    tool,
    key('arguments'),
    fc.oneof({ weight: 5, arbitrary: args }, { weight: 1, arbitrary: value }),
    fc.array(fc.tuple(fc.constantFrom('name', 'arguments', '_meta').chain(key), fc.oneof(tool.map(lit), args)), { maxLength: 1 }),
  )
  .map(([nk, name, ak, a, extra]): Node => ({ obj: [[nk, lit(name)], [ak, a], ...extra] }));

const METHODS = ['tools/call', 'tools/call', 'tools/call', 'ping', 'tools/list', 'notifications/initialized', 'resources/list'];

/** One message; `n` makes its id unique to this frame (ids may still repeat inside it). */
const message = (n: number) =>
  fc
    .record({
      method: fc.constantFrom(...METHODS),
      methodKey: key('method'),
      idKey: key('id'),
      id: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(`f${n}-a`, `f${n}-b`, n).map(lit) }, { weight: 1, arbitrary: fc.constant<Node>({ raw: '1e309' }) }),
      hasId: fc.boolean(),
      params: callParams,
      paramsKey: key('params'),
      extra: fc.array(
        fc.tuple(
          fc.constantFrom('method', 'id', 'params', 'result', 'jsonrpc').chain(key),
          fc.oneof(fc.constantFrom(...METHODS).map(lit), callParams, fc.constant(lit({}))),
        ),
        { maxLength: 1 },
      ),
      shuffle: fc.boolean(),
    })
    .map((m): Node => {
      const obj: Array<[string, Node]> = [
        ['jsonrpc', lit('2.0')],
        [m.methodKey, lit(m.method)],
        [m.paramsKey, m.params],
      ];
      if (m.hasId) obj.push([m.idKey, m.id]);
      obj.push(...m.extra);
      if (m.shuffle) obj.reverse();
      return { obj };
    });

/** A frame: one message, a batch, or broken text. */
const frame = (n: number) =>
  fc.oneof(
    { weight: 6, arbitrary: message(n).map(write) },
    { weight: 2, arbitrary: fc.array(message(n), { minLength: 1, maxLength: 4 }).map((ms) => write({ arr: ms })) },
    { weight: 1, arbitrary: message(n).chain((m) => fc.nat(write(m).length).map((cut) => write(m).slice(0, cut) || '{')) },
  );

/** The request ids a frame carries, as toolgate's JSON reading sees them (to know which answers to expect). */
function requestIds(text: string): Array<string | number> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ids: Array<string | number> = [];
  for (const m of Array.isArray(v) ? v : [v]) {
    if (typeof m === 'object' && m !== null && 'method' in m && 'id' in m) {
      const id = (m as { id: unknown }).id;
      if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) ids.push(id);
    }
  }
  return ids;
}

async function fuzz(open: () => Promise<WireGateway>, label: string): Promise<void> {
  const g = await open();
  let n = 0;
  let controls = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.integer().chain(() => frame(++n)),
        async (text) => {
          const ids = requestIds(text) ?? [];
          const answers = (await g.send(text, ids)) as Array<{ id?: unknown; error?: unknown }>;
          assert.ok(g.alive(), `the gateway died on ${text.slice(0, 300)}`);
          await g.control(`ctl-${label}-${++controls}`);
          // Its answer: one per request, or an error for the frame as a whole.
          const wholeFrame = answers.some((a) => a.id === null && a.error !== undefined) || (answers.length === 1 && answers[0]!.error !== undefined);
          if (!wholeFrame) {
            for (const id of ids)
              assert.ok(
                answers.some((a) => a.id === id),
                `no answer for id ${JSON.stringify(id)} of ${text.slice(0, 300)}: ${JSON.stringify(answers).slice(0, 300)}`,
              );
          }
          const bad = undecidedRuns(g);
          assert.deepEqual(
            bad.map((r) => `the server got ${r.tool} ${JSON.stringify(r.fields ?? {})} from ${r.raw.slice(0, 300)}`),
            [],
          );
        },
      ),
      { numRuns: RUNS, examples: CORPUS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
    );
  } finally {
    await g.close();
  }
}

const gateways: Array<[string, Decode, (d: Decode) => Promise<WireGateway>]> = [
  ['stdio', 'go', (d) => stdioGateway(d)],
  ['stdio', 'first', (d) => stdioGateway(d)],
  ['stdio', 'pydantic', (d) => stdioGateway(d)],
  ['http', 'go', (d) => httpGateway(d)],
];

describe('wire fuzzing: random and mutated frames through a real gateway', () => {
  for (const [transport, decode, open] of gateways) {
    test(`${transport}, a server decoding like ${decode}: ${RUNS} frames`, { timeout: Math.max(120_000, RUNS * 2_000) }, async () => {
      await fuzz(() => open(decode), `${transport}-${decode}`);
    });
  }
});
