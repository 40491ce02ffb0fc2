// Names a server may read differently from the way the policy does.
//
// Tool names: `dеlete_file` (a Cyrillic е), `Delete_File` or `ｄelete_file`
// is not the `delete_file` the policy denies or hides, so the policy would
// let it through to a server that normalises names, or to a user who reads
// it as the real tool. A call whose name is not exactly a tool the server
// listed, but looks like one the policy names, is refused; so is a listed
// look-alike of a tool the policy hides (and the list withholds it).
//
// Argument keys: the policy decides on `args.amount`; a call carrying
// `"Amount"` (and no `amount`) is decided as if the amount were absent, while
// a server that decodes like Go's encoding/json (case-insensitive) reads it
// as the amount. A call whose arguments hold a case variant of a key the
// policy reads for this tool, on the path it reads, is refused.
import { isPlainObject } from '../mcp/jsonrpc.js';
import { foldKey } from '../mcp/admit.js';
import { rulesFor, type CompiledPolicy } from '../policy/index.js';

/** Characters that render like a Latin letter or digit (a small part of Unicode's confusables, after NFKC and case folding). */
const CONFUSABLES: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  с: 'c',
  ԁ: 'd',
  е: 'e',
  һ: 'h',
  і: 'i',
  ј: 'j',
  к: 'k',
  ӏ: 'l',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  ԛ: 'q',
  ѕ: 's',
  т: 't',
  ս: 'u',
  у: 'y',
  х: 'x',
  ԝ: 'w',
  ь: 'b',
  ґ: 'r',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ϲ: 'c',
  ϳ: 'j',
  // Latin look-alikes
  ı: 'i',
  ɑ: 'a',
  ɡ: 'g',
  ɩ: 'i',
  ʟ: 'l',
  ꞵ: 'b',
  ℓ: 'l',
  // digits and letters that pass for each other
  '0': 'o',
  '1': 'l',
  i: 'l',
};

/** Characters nobody sees: zero-width, joiners, soft hyphen, bidi controls, variation selectors. */
const INVISIBLE = /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/gu;

/** What a name looks like: NFKC, invisible characters dropped, case folded, confusables mapped. */
export function skeleton(name: string): string {
  const folded = foldKey(name.normalize('NFKC').replace(INVISIBLE, ''));
  let out = '';
  for (const ch of folded) out += CONFUSABLES[ch] ?? ch;
  return out;
}

/** Per policy: skeleton -> the tool names it names (exact keys and hidden tools). */
const named = new WeakMap<CompiledPolicy, Map<string, string>>();

function namedTools(policy: CompiledPolicy): Map<string, string> {
  let m = named.get(policy);
  if (m) return m;
  m = new Map();
  for (const name of [...policy.tools.keys(), ...policy.hidden]) if (name !== '*') m.set(skeleton(name), name);
  named.set(policy, m);
  return m;
}

/** The policy's tool that `name` imitates, when it is not that tool itself; undefined otherwise. */
export function lookalikeOf(name: string, policy: CompiledPolicy): string | undefined {
  if (policy.tools.has(name) || policy.hidden.has(name)) return undefined;
  const twin = namedTools(policy).get(skeleton(name));
  return twin !== undefined && twin !== name ? twin : undefined;
}

/** The policy hides `tool` (by name; `hide: ["*"]` hides every tool anyway). */
export function hidesTwin(policy: CompiledPolicy, tool: string): boolean {
  return policy.hidden.has(tool);
}

/**
 * A key in `args`, on a path the policy's rules for `tool` read (conditions
 * and counter increments), that is a case variant of the key the rule reads.
 * Returns the offending path, or undefined.
 */
export function caseVariantArgument(policy: CompiledPolicy, tool: string, args: Record<string, unknown>): { found: string; expected: string } | undefined {
  for (const rule of rulesFor(policy, tool)) {
    const paths: string[][] = [];
    for (const c of rule.conditions) if (c.source === 'args') paths.push(c.segments);
    if (rule.counter?.incrementFrom) paths.push(rule.counter.incrementFrom);
    for (const segments of paths) {
      let here: unknown = args;
      const walked: string[] = [];
      for (const seg of segments) {
        if (!isPlainObject(here)) break;
        const want = foldKey(seg);
        for (const k in here) {
          if (k !== seg && foldKey(k) === want) return { found: ['args', ...walked, k].join('.'), expected: ['args', ...walked, seg].join('.') };
        }
        walked.push(seg);
        here = here[seg];
      }
    }
  }
  return undefined;
}

/**
 * Why a server could read this call as another than the one the policy
 * decides (lookalike.ts): a look-alike of a tool the policy names, or a
 * case variant of an argument key its rules read. Undefined when unambiguous.
 */
export function ambiguousCall(policy: CompiledPolicy, name: string, args: Record<string, unknown>, listed: ReadonlySet<string>): string | undefined {
  const twin = lookalikeOf(name, policy);
  // A listed name is the server's own tool, unless it imitates one the policy hides (then it is hidden too).
  if (twin !== undefined && (!listed.has(name) || hidesTwin(policy, twin))) {
    return `Tool ${JSON.stringify(name)} is not a tool the policy names, and looks like ${JSON.stringify(twin)}, which it does; refused`;
  }
  const variant = caseVariantArgument(policy, name, args);
  if (variant !== undefined)
    return `Argument ${variant.found} is a case variant of ${variant.expected}, which the policy reads; send it exactly as ${variant.expected}`;
  return undefined;
}
