#!/usr/bin/env node
// Validate every Intercept policy file (*.yaml, *.yml) in a directory with toolgate's
// compiler; exit 1 if any has an error. Needs a build first (npm run build).
// Usage: node scripts/check-corpus.mjs [dir]   (default: ../shared/data/intercept-policies)
import { readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { loadPolicyFile, formatPolicyError } = await import(join(root, 'dist/src/policy/index.js'));
const dir = resolve(process.argv[2] ?? '/work/shared/data/intercept-policies');
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
let bad = 0;
for (const f of files) {
  const r = loadPolicyFile(join(dir, f));
  if (r.ok) continue;
  bad++;
  for (const e of r.errors) console.log(formatPolicyError(e));
}
console.log(`${files.length - bad} of ${files.length} policies valid`);
process.exitCode = bad > 0 || files.length === 0 ? 1 : 0;
