#!/usr/bin/env node
// How far two people labelling the same held-out tools agree: the ceiling any classifier can be
// measured against. Compares a set's committed labels with a second labelling made blind (without
// the first labels or the classifier's answers), written as {"labels": {"<tool>": "<Class>"}} per
// file of the same name.
//
//   node scripts/label-agreement.mjs data/risk-heldout/set-r data/risk-heldout/second/set-r [--diffs]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const CLASSES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
const HIGH = new Set(['Execute', 'Destructive', 'Financial']);
const [first, second] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (!first || !second) {
  console.error('usage: node scripts/label-agreement.mjs <set folder> <second labelling folder> [--diffs]');
  process.exit(2);
}

let total = 0;
let same = 0;
let high = 0;
let highLowered = 0;
const matrix = Object.fromEntries(CLASSES.map((c) => [c, Object.fromEntries(CLASSES.map((d) => [d, 0]))]));
const diffs = [];
for (const file of readdirSync(first)
  .filter((f) => f.endsWith('.json'))
  .sort()) {
  const other = join(second, file);
  if (!existsSync(other)) throw new Error(`${other}: missing (every file of ${first} needs a second labelling)`);
  const tools = JSON.parse(readFileSync(join(first, file), 'utf8')).tools;
  const labels = JSON.parse(readFileSync(other, 'utf8')).labels;
  for (const t of tools) {
    const a = t.label;
    const b = labels[t.name];
    if (!CLASSES.includes(a)) continue;
    if (!CLASSES.includes(b)) throw new Error(`${other}: no class for tool ${t.name}`);
    total++;
    matrix[a][b]++;
    if (a === b) same++;
    else diffs.push(`${file}: ${t.name}: ${a} / ${b}`);
    if (HIGH.has(a)) {
      high++;
      if (!HIGH.has(b)) highLowered++;
    }
  }
}
const pct = (a, b) => `${((100 * a) / b).toFixed(1)} %`;
console.log(`${first} against ${second}: ${total} tools`);
console.log(`agreement between the labellings: ${same}/${total} = ${pct(same, total)}`);
console.log(`high-risk by the first, Write or lower by the second: ${highLowered}/${high} = ${pct(highLowered, high)}`);
console.log('rows: first labelling; columns: second');
console.log(''.padEnd(12) + CLASSES.map((c) => c.slice(0, 6).padStart(7)).join(''));
for (const c of CLASSES) console.log(c.padEnd(12) + CLASSES.map((d) => String(matrix[c][d]).padStart(7)).join(''));
if (process.argv.includes('--diffs')) for (const d of diffs) console.log(`  ${d}`);
