#!/usr/bin/env node
// The module map is data (docs/module-map.json) and this check enforces it:
// every import between rooms (the folders under src/) must be an allowed
// edge, and no new import cycle may appear, between rooms or between files.
// A new edge is a decision: add it to the map in the same commit, with its
// reason. Known cycles are listed there as debts; the check fails when one
// is gone too, so the list only shrinks. Type-only imports count as edges
// (they are dependencies of the design) but not for file cycles (they vanish
// at run time). Test files are left out: tests may reach into any room.
// Every room also needs a front door that opens with its purpose (below).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');
const map = JSON.parse(readFileSync(join(root, 'docs', 'module-map.json'), 'utf8'));

const files = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
  .map((e) => join(e.parentPath ?? e.path, e.name));

/** The room of a file: its first folder under src/ (a file directly in src/ is its own room). */
const roomOf = (file) => relative(src, file).split('/')[0].replace(/\.ts$/, '');

/** Relative imports of a file: [target file, runtime?]. */
function importsOf(file) {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const out = [];
  const add = (spec, runtime) => {
    if (!spec.startsWith('.')) return;
    out.push([resolve(dirname(file), spec).replace(/\.js$/, '.ts'), runtime]);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, !typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, !node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const problems = [];

// Every room has a front door whose first line (after a shebang) says what the room is for:
// index.ts, or for cli its entry point main.ts (the binary; no room imports cli).
const frontDoors = { cli: 'main.ts' };
for (const e of readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory())) {
  const door = join(src, e.name, frontDoors[e.name] ?? 'index.ts');
  let text;
  try {
    text = readFileSync(door, 'utf8');
  } catch {
    problems.push(`room ${e.name} has no front door ${relative(root, door)}: add one with a one-line purpose comment`);
    continue;
  }
  if (!/^(#![^\n]*\n)?\/\/ \S/.test(text)) problems.push(`${relative(root, door)} does not start with a purpose comment (// ...)`);
}
const roomEdges = new Map(); // "a -> b" -> first file seen
const fileGraph = new Map(); // file -> runtime imports
for (const f of files) {
  const runtime = [];
  for (const [target, isRuntime] of importsOf(f)) {
    if (isRuntime) runtime.push(target);
    const [a, b] = [roomOf(f), roomOf(target)];
    if (a !== b && !roomEdges.has(`${a} -> ${b}`)) roomEdges.set(`${a} -> ${b}`, relative(root, f));
  }
  fileGraph.set(f, runtime);
}

const allowed = new Set(Object.entries(map.rooms).flatMap(([a, r]) => (r.uses ?? []).map((b) => `${a} -> ${b}`)));
for (const [edge, file] of roomEdges)
  if (!allowed.has(edge)) problems.push(`new edge ${edge} (first in ${file}): add it to docs/module-map.json if it is meant, or import through another room`);
for (const edge of allowed) if (!roomEdges.has(edge)) problems.push(`unused edge ${edge} in docs/module-map.json: remove it`);
for (const room of new Set([...roomEdges.keys()].flatMap((e) => e.split(' -> '))))
  if (!map.rooms[room]) problems.push(`room ${room} is not in docs/module-map.json`);

/** Strongly connected components (Tarjan) with more than one member: the cycles. */
function cycles(graph) {
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    stack = [],
    on = new Set(),
    out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) strong(v);
  return out;
}

const roomGraph = new Map();
for (const e of roomEdges.keys()) {
  const [a, b] = e.split(' -> ');
  if (!roomGraph.has(a)) roomGraph.set(a, []);
  roomGraph.get(a).push(b);
}
const found = [
  ...cycles(roomGraph).map((c) => `rooms: ${c.join(' <-> ')}`),
  ...cycles(fileGraph).map((c) => `files: ${c.map((f) => relative(src, f)).join(' <-> ')}`),
];
const known = new Set(map.knownCycles ?? []);
for (const c of found) if (!known.has(c)) problems.push(`new import cycle, ${c}`);
for (const c of known) if (!found.includes(c)) problems.push(`cycle gone (well done): remove "${c}" from knownCycles in docs/module-map.json`);

if (process.argv.includes('--print')) {
  console.log(JSON.stringify({ edges: [...roomEdges.keys()].sort(), cycles: found }, null, 2));
}
if (problems.length > 0) {
  console.error(`module map: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.error(`module map: ${roomEdges.size} edges between ${Object.keys(map.rooms).length} rooms, all allowed; no new cycle`);
