#!/usr/bin/env node
// Agreement of the risk classifier with a labelled file of real tools.
// Usage: npm run eval:risk -- FILE   (FILE: {"tools": [{name, description, label, ...}]})
// Label "Other" means unlabelled: those tools are left out of the agreement.
import { readFileSync } from 'node:fs';
import { classifyTool } from '../dist/src/risk/index.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npm run eval:risk -- FILE\n');
  process.exit(1);
}
const data = JSON.parse(readFileSync(file, 'utf8'));
const tools = Array.isArray(data) ? data : data.tools;
const classes = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
const predCols = [...classes, 'Other'];
const matrix = Object.fromEntries(classes.map((c) => [c, Object.fromEntries(predCols.map((p) => [p, 0]))]));
const misses = [];
let total = 0;
let agree = 0;
for (const t of tools) {
  if (!classes.includes(t.label)) continue;
  const { category, reasons } = classifyTool(t);
  matrix[t.label][category]++;
  total++;
  if (category === t.label) agree++;
  else misses.push(`${t.label.padEnd(11)} → ${category.padEnd(11)} ${t.name}: ${(t.description ?? '').slice(0, 60)}  [${reasons[0] ?? ''}]`);
}
const pct = (a, b) => (b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);
console.log(`${file}: ${total} labelled tools (Other = unlabelled, left out)\n`);
console.log('class        n   recall  precision');
for (const c of classes) {
  const n = Object.values(matrix[c]).reduce((x, y) => x + y, 0);
  const predicted = classes.reduce((s, l) => s + matrix[l][c], 0);
  console.log(`${c.padEnd(11)} ${String(n).padStart(3)}   ${pct(matrix[c][c], n)}   ${pct(matrix[c][c], predicted)}`);
}
console.log(`\noverall agreement: ${agree}/${total} = ${pct(agree, total).trim()}\n`);
console.log('confusion (rows: label, columns: predicted)');
console.log(''.padEnd(12) + predCols.map((p) => p.slice(0, 6).padStart(7)).join(''));
for (const c of classes) console.log(c.padEnd(12) + predCols.map((p) => String(matrix[c][p]).padStart(7)).join(''));
if (process.argv.includes('--misses')) {
  console.log('\nmisses:');
  for (const m of misses) console.log('  ' + m);
}
