#!/usr/bin/env node
// Train the risk classifier's second opinion (src/risk/model.ts) on every labelled tool in
// data/risk-heldout and write models/risk-model.json. Deterministic: the same labels give the
// same weights (a seeded shuffle), so the committed model can be checked against the labels.
// Usage (after `npm run build`):
//   node scripts/train-risk-model.mjs            write models/risk-model.json
//   node scripts/train-risk-model.mjs --check [FILE]   exit 1 unless the model (the committed one) is what its sets' labels give
//   node scripts/train-risk-model.mjs --loso REPLAY.json
//       leave one set out: train on the other sets, and raise the rules' verdicts of the left-out
//       set as the classifier does, where the rules' verdicts are REPLAY.json's (written by
//       scripts/replay-heldout.mjs: each set classified by the commit that first measured it).
//       --raise-at P tries another threshold than the classifier's RAISE_AT.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyToolsDetail, inListing } from '../dist/src/risk/listing.js';
import { BIAS, listingFeatures, MODEL_CLASSES, probabilities, RAISE_AT, raises } from '../dist/src/risk/model.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'models/risk-model.json');
const HIGH = new Set(['Execute', 'Destructive', 'Financial']);
/** A feature must occur in this many tools to be kept: a word one tool uses teaches nothing general. */
const MIN_TOOLS = 3;
const EPOCHS = 8;
const RATE = 0.3;
const L2 = 1e-5;
const SEED = 20261207;

/** Every labelled tool of the sets (all of them by default), in a fixed order, as its listing reads it (src/risk/listing.ts). */
function labelled(only, withQuery = false) {
  const base = join(root, 'data/risk-heldout');
  const tools = [];
  for (const set of readdirSync(base)
    .filter((d) => d.startsWith('set-') && (!only || only.includes(d)))
    .sort()) {
    for (const file of readdirSync(join(base, set))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const data = JSON.parse(readFileSync(join(base, set, file), 'utf8'));
      // Each tool's features as the classifier gives them to the model: read within its listing.
      const features = listingFeatures(inListing(data.tools));
      // Whether today's rules read it as a caller's query (`raises` keeps those Reads): the replayed
      // verdicts carry only a class, so --loso takes this reading from the rules as they are now.
      const ruled = withQuery ? classifyToolsDetail(data.tools, { rulesOnly: true }) : [];
      data.tools.forEach((t, i) => {
        if (MODEL_CLASSES.includes(t.label)) {
          tools.push({ set, file, name: t.name, features: features[i], label: MODEL_CLASSES.indexOf(t.label), query: ruled[i]?.query === true });
        }
      });
    }
  }
  return tools;
}

/** mulberry32: a small seeded generator, so the shuffle (and the weights) are the same every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Softmax regression by AdaGrad over the examples' features (only those kept). */
function train(examples) {
  const seen = new Map();
  for (const e of examples) for (const f of e.features) seen.set(f, (seen.get(f) ?? 0) + 1);
  const keep = (f) => f === BIAS || (seen.get(f) ?? 0) >= MIN_TOOLS;
  const rows = examples.map((e) => ({ features: e.features.filter(keep), label: e.label }));
  const weights = new Map();
  const squares = new Map();
  const next = random(SEED);
  const order = rows.map((_, i) => i);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const i of order) {
      const { features, label } = rows[i];
      const p = probabilities(weights, features);
      for (const f of features) {
        let w = weights.get(f);
        if (!w) weights.set(f, (w = [0, 0, 0, 0, 0]));
        let g = squares.get(f);
        if (!g) squares.set(f, (g = [1e-8, 1e-8, 1e-8, 1e-8, 1e-8]));
        for (let k = 0; k < MODEL_CLASSES.length; k++) {
          const grad = p[k] - (k === label ? 1 : 0) + L2 * w[k];
          g[k] += grad * grad;
          w[k] -= (RATE * grad) / Math.sqrt(g[k]);
        }
      }
    }
  }
  // Three decimals are plenty; a feature whose weights all round to nothing is left out.
  const out = {};
  for (const f of [...weights.keys()].sort()) {
    const w = weights.get(f).map((v) => Math.round(v * 1000) / 1000);
    if (w.some((v) => v !== 0)) out[f] = w.map((v) => (Object.is(v, -0) ? 0 : v));
  }
  return out;
}

function model(tools) {
  const sets = [...new Set(tools.map((t) => t.set))];
  return {
    about:
      "The risk classifier's learned second opinion (src/risk/model.ts): softmax weights per feature for Read, Write, Execute, Destructive, Financial. Written by scripts/train-risk-model.mjs from data/risk-heldout; do not edit by hand.",
    trainedOn: { tools: tools.length, servers: new Set(tools.map((t) => `${t.set}/${t.file}`)).size, sets },
    classes: [...MODEL_CLASSES],
    weights: train(tools),
  };
}

function loso(replayPath, raiseAt = RAISE_AT) {
  const replay = JSON.parse(readFileSync(replayPath, 'utf8'));
  const tools = labelled(undefined, true);
  const score = { rules: [0, 0, 0], raised: [0, 0, 0], model: [0, 0, 0] };
  let n = 0;
  let high = 0;
  const lines = [];
  /** label -> raised verdict, where they differ: what is left to fix. */
  const confusions = new Map();
  for (const set of [...new Set(tools.map((t) => t.set))]) {
    const weights = model(tools.filter((t) => t.set !== set)).weights;
    const own = { rules: 0, raised: 0, n: 0 };
    for (const t of tools.filter((x) => x.set === set)) {
      const rules = replay[set]?.[`${t.file}::${t.name}`];
      if (!rules) throw new Error(`${replayPath} has no verdict for ${set}/${t.file} ${t.name}`);
      const p = probabilities(weights, t.features);
      const k = p.indexOf(Math.max(...p));
      const opinion = MODEL_CLASSES[k];
      const raised = raises({ category: rules, query: t.query }, { category: opinion, probability: p[k] }, raiseAt) ? opinion : rules;
      const label = MODEL_CLASSES[t.label];
      const tally = (s, verdict) => {
        if (verdict === label) s[0]++;
        if (HIGH.has(label) && !HIGH.has(verdict)) s[1]++;
        if ((label === 'Destructive' || label === 'Financial') && verdict === 'Read') s[2]++;
      };
      if (raised !== label) confusions.set(`${label} -> ${raised}`, (confusions.get(`${label} -> ${raised}`) ?? 0) + 1);
      tally(score.rules, rules);
      tally(score.raised, raised);
      tally(score.model, opinion);
      n++;
      own.n++;
      if (HIGH.has(label)) high++;
      if (rules === label) own.rules++;
      if (raised === label) own.raised++;
    }
    lines.push(`${set}  ${own.n} tools  rules ${((100 * own.rules) / own.n).toFixed(1)} %  raised ${((100 * own.raised) / own.n).toFixed(1)} %`);
  }
  console.log(lines.join('\n'));
  const worst = [...confusions].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`raised verdicts that differ from the labels (label -> verdict): ${worst.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [name, [agree, under, dfRead]] of Object.entries(score)) {
    console.log(
      `${name.padEnd(7)} agreement ${agree}/${n} = ${((100 * agree) / n).toFixed(1)} %   understated ${under}/${high} = ${((100 * under) / high).toFixed(1)} %   D/F called Read ${dfRead}`,
    );
  }
}

const args = process.argv.slice(2);
if (args[0] === '--loso') {
  const at = args.indexOf('--raise-at');
  loso(args[1] ?? '/tmp/toolgate-replay.json', at > 0 ? Number(args[at + 1]) : RAISE_AT);
} else {
  if (args[0] === '--check') {
    // The committed model names the sets it learnt from: a set labelled since (a new held-out set)
    // joins only when the model is trained again on purpose.
    const file = args[1] ?? OUT;
    const committed = JSON.parse(readFileSync(file, 'utf8'));
    const fresh = model(labelled(committed.trainedOn.sets));
    const same = JSON.stringify(committed) === JSON.stringify(fresh);
    console.log(
      same
        ? 'models/risk-model.json is what the labels give'
        : 'models/risk-model.json differs from what the labels give: run node scripts/train-risk-model.mjs',
    );
    process.exit(same ? 0 : 1);
  }
  const fresh = model(labelled());
  writeFileSync(OUT, `${JSON.stringify(fresh)}\n`);
  console.log(`wrote ${OUT}: ${Object.keys(fresh.weights).length} features from ${fresh.trainedOn.tools} tools of ${fresh.trainedOn.servers} servers`);
}
