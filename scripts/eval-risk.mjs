#!/usr/bin/env node
// Agreement of the risk classifier with labelled real tools, reported per set:
//   - the shared development labels (../shared/data/risk-labels-dev.json, beside the project;
//     skipped with a note when absent: a fresh clone does not have them), and
//   - data/risk-heldout/set-a to set-ab: each held out once, development sets since (their results
//     were seen while the classifier changed, and the learned second opinion is trained on them).
//     Each one's held-out run stays the record for the classifier it measured (RUBRIC.md;
//     scripts/replay-heldout.mjs replays them all).
//   - data/risk-heldout/set-u: listed after commit 4016858, labelled twice apart and reconciled before
//     any classifier run on it: the held-out set of session 13's change (the second opinion), run
//     once on 1e1c39e (80.8 %, 32 of 138 understated, 16 called Read; the rules alone 79.3 %, 49,
//     19); a development set since.
//   - data/risk-heldout/set-v: listed after commit 571d313, labelled twice apart and reconciled before
//     any classifier run on it: the held-out set of session 13's second change (the second opinion
//     trained on sets a to u), run once on 0979d14 (83.1 %, 15 of 69 understated, none called Read;
//     the rules alone 83.1 %, 20, 0); a development set since.
//   - data/risk-heldout/set-w: listed after commit 0979d14, labelled twice apart and reconciled before
//     any classifier run on it: the held-out set of session 13's third change (the second opinion
//     trained on sets a to v, with its exceptions for read-only queries and reads of money), run once
//     on 8f4eea2 (68.6 %, 22 of 63 understated, none called Read; the rules alone 68.0 %, 28, 0); a
//     development set since.
//   - data/risk-heldout/set-x: labelled twice apart after commit 8d7f07a, before any classifier run on
//     it: the held-out set of session 13's fourth change, run once on 7576c8b (79.1 %, 11 of 21
//     understated, none called Read; the rules alone 80.0 %, 11, 0); a development set since.
//   - data/risk-heldout/set-y: listed and labelled twice apart (and reconciled) after commit d5b6433,
//     before any classifier run on it: the held-out set of session 14's three rule changes, run once
//     on d5b6433 (84.9 %, 5 of 72 understated, 2 called Read; the rules alone 86.2 %, 10, 5); a
//     development set since.
//   - data/risk-heldout/set-z: listed and labelled twice apart (and reconciled) after commit f99bc30,
//     before any classifier run on it: the held-out set of session 14's four further rule changes, run
//     once on f99bc30 (82.5 %, 16 of 98 understated, 2 called Read; the rules alone 84.4 %, 19, 2); a
//     development set since.
//   - data/risk-heldout/set-aa: listed and labelled twice apart (and reconciled) after commit dacf008,
//     before any classifier run on it: the held-out set of session 14's last rule change, run once on
//     dacf008 (88.3 %, 7 of 68 understated, 1 called Read; the rules alone 89.3 %, 9, 1); a
//     development set since.
//   - data/risk-heldout/set-ab: listed and labelled twice apart (and reconciled) after commit df9743e,
//     before any classifier run on it, run once on df9743e (89.9 %, 0 of 27 understated, none called
//     Read; the rules alone 90.8 %, 0, 0); a development set since.
//   - data/risk-heldout/set-ac: listed and labelled twice apart after commit c9173ac, before any
//     classifier run on it, run once on c9173ac (94.8 %, 0 of 14 understated, none called Read; the
//     rules alone 95.5 %, 0, 0). It is reported and checked as the latest held-out set until a new
//     one is labelled.
// Each server's tools (the `server` field, else the file's `source`) are classified as one listing
// with classifyTools, as `scan` and `classify` read them (src/risk/listing.ts).
// Usage: npm run eval:risk [-- FILE ...] [--misses] [--check] [--rules]
//   FILE: a JSON file {"tools": [{name, description, label, ...}]} or a directory of them.
//   --check exits 1 when the held-out set misses the targets of issue 23.
//   --rules classifies with the rules alone, without the learned second opinion (src/risk/model.ts).
// Label "Other" means unlabelled: those tools are left out of the agreement.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyTools } from '../dist/src/risk/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLASSES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
const HIGH = new Set(['Execute', 'Destructive', 'Financial']);
/** What `scan` treats permissively: a high-risk tool predicted as one of these is understated. */
const PERMISSIVE = new Set(['Read', 'Write', 'Other']);

/** The newest set, labelled after the last classifier change and reported against issue 23's targets. */
const LATEST_HELD_OUT = 'set-ac';

const args = process.argv.slice(2);
const showMisses = args.includes('--misses');
const rulesOnly = args.includes('--rules');
const check = args.includes('--check');
const files = args.filter((a) => !a.startsWith('--'));

function load(path) {
  const paths = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const tools = [];
  for (const p of paths) {
    const data = JSON.parse(readFileSync(p, 'utf8'));
    for (const t of Array.isArray(data) ? data : data.tools) tools.push({ ...t, server: t.server ?? data.source ?? p });
  }
  return tools;
}

function evaluate(title, tools) {
  const predCols = [...CLASSES, 'Other'];
  const matrix = Object.fromEntries(CLASSES.map((c) => [c, Object.fromEntries(predCols.map((p) => [p, 0]))]));
  const misses = [];
  let total = 0;
  let agree = 0;
  let high = 0;
  let understated = 0;
  let moneyOrDestructiveAsRead = 0;
  // Each server's tools are classified as one listing, as `scan` and `classify` read them.
  const byServer = new Map();
  for (const t of tools) byServer.set(t.server, [...(byServer.get(t.server) ?? []), t]);
  const verdicts = new Map();
  for (const group of byServer.values()) {
    const classified = classifyTools(group, { rulesOnly });
    for (let i = 0; i < group.length; i++) verdicts.set(group[i], classified[i]);
  }
  for (const t of tools) {
    if (!CLASSES.includes(t.label)) continue;
    const { category, risk, reasons } = verdicts.get(t);
    matrix[t.label][category]++;
    total++;
    if (category === t.label) agree++;
    else
      misses.push(
        `${t.label.padEnd(11)} → ${category.padEnd(11)} ${risk.padEnd(8)} ${t.name}: ${(t.description ?? '').replace(/\s+/g, ' ').slice(0, 60)}  [${reasons[0] ?? ''}]`,
      );
    if (HIGH.has(t.label)) {
      high++;
      if (PERMISSIVE.has(category)) understated++;
    }
    if ((t.label === 'Destructive' || t.label === 'Financial') && category === 'Read') moneyOrDestructiveAsRead++;
  }
  const pct = (a, b) => (b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);
  const servers = new Set(tools.map((t) => t.server)).size;
  console.log(`## ${title}: ${total} labelled tools of ${servers} servers\n`);
  console.log('class        n   recall  precision');
  for (const c of CLASSES) {
    const n = Object.values(matrix[c]).reduce((x, y) => x + y, 0);
    const predicted = CLASSES.reduce((s, l) => s + matrix[l][c], 0);
    console.log(`${c.padEnd(11)} ${String(n).padStart(3)}   ${pct(matrix[c][c], n)}   ${pct(matrix[c][c], predicted)}`);
  }
  console.log(`\nagreement:                          ${agree}/${total} = ${pct(agree, total).trim()}`);
  console.log(`high-risk understated (Write or lower): ${understated}/${high} = ${pct(understated, high).trim()}`);
  console.log(`Destructive or Financial called Read:   ${moneyOrDestructiveAsRead}\n`);
  console.log('confusion (rows: label, columns: predicted)');
  console.log(''.padEnd(12) + predCols.map((p) => p.slice(0, 6).padStart(7)).join(''));
  for (const c of CLASSES) console.log(c.padEnd(12) + predCols.map((p) => String(matrix[c][p]).padStart(7)).join(''));
  if (showMisses) {
    console.log('\nmisses:');
    for (const m of misses) console.log('  ' + m);
  }
  console.log('');
  return { total, agree, high, understated, moneyOrDestructiveAsRead };
}

if (files.length > 0) {
  for (const f of files) evaluate(f, load(f));
} else {
  const shared = [join(root, '..', 'shared', 'data', 'risk-labels-dev.json'), join(root, '..', '..', 'shared', 'data', 'risk-labels-dev.json')].find(
    existsSync,
  );
  if (shared) evaluate(`shared development labels (${shared})`, load(shared));
  else console.log('## shared development labels: not found beside the project (../shared/data); skipped\n');
  // Every set but the latest: each once held out (its one run is recorded in RUBRIC.md), development
  // sets since. The second opinion (models/risk-model.json) was trained on sets a to v, so with it
  // their figures are training figures; `--rules` shows the rules alone, and
  // scripts/train-risk-model.mjs --loso the honest figure of both together (each set left out of the
  // model, with the rules of its own run). Sets are named set-a … set-z, then set-aa, set-ab, ….
  const base = join(root, 'data', 'risk-heldout');
  const sets = readdirSync(base)
    .filter((d) => /^set-[a-z]+$/.test(d))
    .sort((a, b) => a.length - b.length || a.localeCompare(b));
  for (const set of sets.filter((s) => s !== LATEST_HELD_OUT)) {
    evaluate(`set ${set.slice(4).toUpperCase()}: development, once held out (data/risk-heldout/${set})`, load(join(base, set)));
  }
  // The latest held-out set: labelled twice apart, before any classifier run on it; its one held-out
  // run is recorded in RUBRIC.md. The next one replaces it here.
  const held = evaluate(
    `set ${LATEST_HELD_OUT.slice(4).toUpperCase()}: latest held-out set (data/risk-heldout/${LATEST_HELD_OUT})`,
    load(join(base, LATEST_HELD_OUT)),
  );
  const targets = [
    [held.moneyOrDestructiveAsRead === 0, 'no Destructive or Financial tool called Read'],
    [held.understated <= 0.03 * held.high, 'at most 3 % of high-risk tools understated'],
    [held.agree >= 0.95 * held.total, 'at least 95 % agreement'],
  ];
  for (const [met, what] of targets) console.log(`held-out target: ${what}: ${met ? 'met' : 'NOT met'}`);
  if (check && targets.some(([met]) => !met)) process.exitCode = 1;
}
