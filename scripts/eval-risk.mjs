#!/usr/bin/env node
// Agreement of the risk classifier with labelled real tools, reported per set:
//   - the shared development labels (../shared/data/risk-labels-dev.json, beside the project;
//     skipped with a note when absent: a fresh clone does not have them), and
//   - data/risk-heldout/set-a to set-s: once held out, now development sets (their results were
//     seen while the classifier changed). Each one's held-out run stays the record for the
//     classifier it measured (set-p: a259e86, 82.9 %; set-q: 0209c1c, 87.4 %); see RUBRIC.md.
//   - data/risk-heldout/set-r: the held-out set of session 11's second classifier change, run once
//     (84.5 %, 22 of 97 understated, 1 money tool called Read); a development set since.
//   - data/risk-heldout/set-s: labelled twice apart and reconciled, the held-out set of session 12's
//     first change, run once (84.6 %, 29 of 117 understated, 1 called Read); a development set since.
//   - data/risk-heldout/set-t: listed after commit f437018, labelled twice apart and reconciled before
//     any classifier run on it: the held-out set of session 12's second change; it is reported and
//     checked as the latest held-out set until a new one is labelled (its one run is in RUBRIC.md).
// Each server's tools (the `server` field, else the file's `source`) are classified as one listing
// with classifyTools, as `scan` and `classify` read them (src/risk/listing.ts).
// Usage: npm run eval:risk [-- FILE ...] [--misses] [--check]
//   FILE: a JSON file {"tools": [{name, description, label, ...}]} or a directory of them.
//   --check exits 1 when the held-out set misses the targets of issue 23.
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

const args = process.argv.slice(2);
const showMisses = args.includes('--misses');
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
    const classified = classifyTools(group);
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
  evaluate('set A: development, once held out (data/risk-heldout/set-a)', load(join(root, 'data', 'risk-heldout', 'set-a')));
  evaluate('set B: development, once held out (data/risk-heldout/set-b)', load(join(root, 'data', 'risk-heldout', 'set-b')));
  evaluate('set C: development, once held out (data/risk-heldout/set-c)', load(join(root, 'data', 'risk-heldout', 'set-c')));
  evaluate('set D: development, once held out (data/risk-heldout/set-d)', load(join(root, 'data', 'risk-heldout', 'set-d')));
  evaluate('set E: development, once held out (data/risk-heldout/set-e)', load(join(root, 'data', 'risk-heldout', 'set-e')));
  evaluate('set F: development, once held out (data/risk-heldout/set-f)', load(join(root, 'data', 'risk-heldout', 'set-f')));
  evaluate('set G: development, once held out (data/risk-heldout/set-g)', load(join(root, 'data', 'risk-heldout', 'set-g')));
  evaluate('set H: development, once held out (data/risk-heldout/set-h)', load(join(root, 'data', 'risk-heldout', 'set-h')));
  evaluate('set I: development, once held out (data/risk-heldout/set-i)', load(join(root, 'data', 'risk-heldout', 'set-i')));
  evaluate('set J: development, once held out (data/risk-heldout/set-j)', load(join(root, 'data', 'risk-heldout', 'set-j')));
  evaluate('set K: development, once held out (data/risk-heldout/set-k)', load(join(root, 'data', 'risk-heldout', 'set-k')));
  evaluate('set L: development, once held out (data/risk-heldout/set-l)', load(join(root, 'data', 'risk-heldout', 'set-l')));
  evaluate('set M: development, once held out (data/risk-heldout/set-m)', load(join(root, 'data', 'risk-heldout', 'set-m')));
  evaluate('set N: development, once held out (data/risk-heldout/set-n)', load(join(root, 'data', 'risk-heldout', 'set-n')));
  evaluate('set O: development, once held out (data/risk-heldout/set-o)', load(join(root, 'data', 'risk-heldout', 'set-o')));
  evaluate('set P: development, once held out (data/risk-heldout/set-p)', load(join(root, 'data', 'risk-heldout', 'set-p')));
  evaluate('set Q: development, once held out (data/risk-heldout/set-q)', load(join(root, 'data', 'risk-heldout', 'set-q')));
  evaluate('set R: development, once held out (data/risk-heldout/set-r)', load(join(root, 'data', 'risk-heldout', 'set-r')));
  evaluate('set S: development, once held out (data/risk-heldout/set-s)', load(join(root, 'data', 'risk-heldout', 'set-s')));
  // The latest held-out set: listed after commit f437018, labelled twice apart and reconciled before
  // any classifier run on it; its one held-out run is recorded in RUBRIC.md. The next one replaces it here.
  const held = evaluate('set T: latest held-out set (data/risk-heldout/set-t)', load(join(root, 'data', 'risk-heldout', 'set-t')));
  const targets = [
    [held.moneyOrDestructiveAsRead === 0, 'no Destructive or Financial tool called Read'],
    [held.understated <= 0.03 * held.high, 'at most 3 % of high-risk tools understated'],
    [held.agree >= 0.95 * held.total, 'at least 95 % agreement'],
  ];
  for (const [met, what] of targets) console.log(`held-out target: ${what}: ${met ? 'met' : 'NOT met'}`);
  if (check && targets.some(([met]) => !met)) process.exitCode = 1;
}
