// The claims ledger (docs/CLAIMS.md) stays true to the README and the suite:
// every quoted claim is still in README.md, and every test it names still
// exists, by that name, in that file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './helpers.js';

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

interface Row {
  claim: string;
  status: string;
  file: string;
  name: string;
}

function ledger(): Row[] {
  const rows: Row[] = [];
  for (const line of readFileSync(join(root, 'docs', 'CLAIMS.md'), 'utf8').split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| README says') || line.startsWith('| ---')) continue;
    // Cells are split on unescaped pipes; a claim keeps an escaped one (\|) as the README's table has it.
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
    assert.equal(cells.length, 4, `a ledger row has four cells: ${line}`);
    const [claim, status, file, name] = cells as [string, string, string, string];
    rows.push({ claim, status, file, name });
  }
  return rows;
}

test('docs/CLAIMS.md: every claim is quoted from README.md and every named test exists', () => {
  const readme = squash(readFileSync(join(root, 'README.md'), 'utf8'));
  const rows = ledger();
  assert.ok(rows.length >= 20, `the ledger has its rows (${rows.length})`);
  const problems: string[] = [];
  for (const r of rows) {
    if (!readme.includes(squash(r.claim))) problems.push(`not in README.md (reworded?): ${r.claim}`);
    if (!/^(tested|partly|untested|contradicted|not a promise)\b/.test(r.status)) problems.push(`unknown status "${r.status}": ${r.claim}`);
    // A tested claim names its test; any other row may name the test that covers part of it.
    if (/^tested\b/.test(r.status) && (r.file === '' || r.name === '')) problems.push(`a tested claim names no test: ${r.claim}`);
    if (r.file === '') continue;
    const path = join(root, r.file);
    if (!existsSync(path)) problems.push(`no such test file ${r.file}: ${r.claim}`);
    else if (!readFileSync(path, 'utf8').includes(r.name)) problems.push(`no test "${r.name}" in ${r.file}: ${r.claim}`);
  }
  assert.deepEqual(problems, []);
});

test('docs/CLAIMS.md: every guarantee word of the README (every, never, always, exactly) is inside a claim of the ledger', () => {
  // The README's prose, without code blocks (examples promise nothing), as one line.
  const prose = squash(readFileSync(join(root, 'README.md'), 'utf8').replace(/```[\s\S]*?```/g, ' '));
  const covered: Array<[number, number]> = [];
  for (const { claim } of ledger()) {
    const q = squash(claim);
    for (let at = prose.indexOf(q); at !== -1; at = prose.indexOf(q, at + 1)) covered.push([at, at + q.length]);
  }
  const uncovered: string[] = [];
  for (const m of prose.matchAll(/\b(every|never|always|exactly)\b/gi)) {
    const at = m.index!;
    if (!covered.some(([from, to]) => from <= at && at < to)) uncovered.push(`…${prose.slice(Math.max(0, at - 60), at + 40)}…`);
  }
  assert.deepEqual(uncovered, [], 'README guarantees without a row in docs/CLAIMS.md');
});
