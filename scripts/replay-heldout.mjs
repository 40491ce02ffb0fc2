#!/usr/bin/env node
// Replay every held-out run: classify each labelled set with the rules of the commit that first
// measured it, before its misses were seen, and write those verdicts to one JSON file. They are
// the honest answers of the rules on servers they had never met, every labelled tool, which
// `scripts/train-risk-model.mjs --loso` combines with a model that has not seen the set either.
// Each set's figures are printed; they must match the held-out runs RUBRIC.md records.
// Needs the git history (a full clone) and node_modules; only src/risk of each commit is compiled.
// Usage: node scripts/replay-heldout.mjs [OUT.json]   (default /tmp/toolgate-replay.json)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(tmpdir(), 'toolgate-replay.json');
const CLASSES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial'];
const HIGH = new Set(['Execute', 'Destructive', 'Financial']);

/** The commit whose classifier each set measured when it was held out (RUBRIC.md). */
const MEASURED = {
  'set-a': '80468ba',
  'set-b': '9bb67b6^',
  'set-c': '9bb67b6',
  'set-d': '544e9c8',
  'set-e': '4c370f4',
  'set-f': '16c069e',
  'set-g': '462aeb6',
  'set-h': 'df0f79a',
  'set-i': 'c7eed51',
  'set-j': '66509e2',
  'set-k': '8d0a59e',
  'set-l': '0a7ffed',
  'set-m': 'b0ea2b2',
  'set-n': '385eeec',
  'set-o': '98785b0',
  'set-p': 'a259e86',
  'set-q': '0209c1c',
  'set-r': '92580c7',
  'set-s': '6d5348d',
  'set-t': 'f437018',
  'set-u': '1e1c39e',
  'set-v': '0979d14',
  'set-w': '8f4eea2',
  'set-x': '7576c8b',
  'set-y': 'd5b6433',
  'set-z': 'f99bc30',
  'set-aa': 'dacf008',
  'set-ab': 'df9743e',
  'set-ac': 'c9173ac',
};

const work = mkdtempSync(join(tmpdir(), 'toolgate-replay-'));
const verdicts = {};
try {
  for (const [set, commit] of Object.entries(MEASURED)) {
    const dir = join(work, set);
    mkdirSync(dir);
    execFileSync('sh', ['-c', `git -C "${root}" archive "${commit}" src | tar -x -C "${dir}"`]);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    // The listing view (session 11 on) or the single-tool classifier before it.
    const entry = existsSync(join(dir, 'src/risk/listing.ts')) ? 'risk/listing' : 'risk/classify';
    execFileSync(
      join(root, 'node_modules/.bin/tsc'),
      [
        ...['--outDir', 'out', '--rootDir', 'src', '--module', 'nodenext', '--moduleResolution', 'nodenext'],
        ...['--target', 'es2022', '--skipLibCheck', '--noCheck', `src/${entry}.ts`],
      ],
      { cwd: dir },
    );
    const risk = await import(pathToFileURL(join(dir, 'out', `${entry}.js`)).href);
    const base = join(root, 'data/risk-heldout', set);
    verdicts[set] = {};
    let n = 0;
    let agree = 0;
    let high = 0;
    let under = 0;
    for (const file of readdirSync(base)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const tools = JSON.parse(readFileSync(join(base, file), 'utf8')).tools;
      // The rules alone: set-u on was scored with the second opinion too, which the replay leaves
      // to train-risk-model.mjs --loso (and which cannot find its weights from the scratch folder).
      const said = risk.classifyTools ? risk.classifyTools(tools, { rulesOnly: true }) : tools.map((t) => risk.classifyTool(t));
      tools.forEach((t, i) => {
        verdicts[set][`${file}::${t.name}`] = said[i].category;
        if (!CLASSES.includes(t.label)) return;
        n++;
        if (said[i].category === t.label) agree++;
        if (HIGH.has(t.label)) {
          high++;
          if (!HIGH.has(said[i].category)) under++;
        }
      });
    }
    console.log(`${set} at ${commit}: ${agree}/${n} = ${((100 * agree) / n).toFixed(1)} % agreement, ${under} of ${high} high-risk understated`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
writeFileSync(out, `${JSON.stringify(verdicts)}\n`);
console.log(`wrote ${out}`);
