#!/usr/bin/env node
// Runs the whole suite N times in a row (issue 25: ten consecutive runs with zero failures) and
// prints one line per run: pass/fail/skip counts, duration and the names of the failing tests.
// Builds once first (unless --no-build); each run is `node scripts/run-tests.mjs` with the
// README's concurrency, its full TAP output kept in the log folder for reading a failure later.
//
//   node scripts/repeat-tests.mjs 10                       # ten runs, --test-concurrency=2
//   node scripts/repeat-tests.mjs 3 --no-build -- --test-concurrency=1
//
// Exit status 0 when every run passed, 1 otherwise. Meant for an otherwise idle machine.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash === -1 ? argv : argv.slice(0, dash);
const testArgs = dash === -1 ? ['--test-concurrency=2'] : argv.slice(dash + 1);
const runs = Number(own.find((a) => /^\d+$/.test(a)) ?? 10);
const unknown = own.filter((a) => !/^\d+$/.test(a) && a !== '--no-build');
if (unknown.length > 0 || !(runs >= 1)) {
  console.error('usage: node scripts/repeat-tests.mjs [N=10] [--no-build] [-- <node --test options>]');
  process.exit(2);
}

if (!own.includes('--no-build')) {
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

/** Counts and the failing leaf tests of a TAP report (a parent whose subtests failed is not named again). */
function summarize(tap) {
  const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap)?.[1] ?? NaN);
  const lines = tap.split('\n');
  const failing = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (!m) continue;
    let subtests = false;
    for (let j = i + 1; j < lines.length && !/^\s*\.\.\.$/.test(lines[j]); j++) {
      if (/failureType: '(subtestsFailed)'/.test(lines[j])) subtests = true;
    }
    if (!subtests) failing.push(m[2].replace(/ # (SKIP|TODO).*$/, ''));
  }
  return { tests: count('tests'), pass: count('pass'), fail: count('fail'), skipped: count('skipped'), cancelled: count('cancelled'), failing };
}

const logs = mkdtempSync(join(tmpdir(), 'toolgate-repeat-'));
console.log(`repeat-tests: ${runs} run(s) of the suite with ${testArgs.join(' ')}; TAP logs in ${logs}`);
let failedRuns = 0;
for (let run = 1; run <= runs; run++) {
  const log = join(logs, `run-${run}.tap`);
  const started = Date.now();
  const code = await new Promise((done) => {
    const child = spawn(process.execPath, ['scripts/run-tests.mjs', ...testArgs, '--test-reporter=tap', `--test-reporter-destination=${log}`], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (c, signal) => done(c ?? signal));
  });
  const s = summarize(readFileSync(log, 'utf8'));
  const ok = code === 0 && s.fail === 0 && s.cancelled === 0;
  if (!ok) failedRuns++;
  const secs = Math.round((Date.now() - started) / 1000);
  console.log(
    `run ${run}/${runs}: ${ok ? 'PASS' : 'FAIL'} tests ${s.tests} pass ${s.pass} fail ${s.fail} cancelled ${s.cancelled} skipped ${s.skipped} ${secs} s exit ${code}` +
      (s.failing.length > 0 ? ` failing: ${s.failing.map((n) => JSON.stringify(n)).join(', ')}` : ''),
  );
}
console.log(`repeat-tests: ${runs - failedRuns}/${runs} runs passed`);
process.exit(failedRuns === 0 ? 0 : 1);
