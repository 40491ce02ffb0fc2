#!/usr/bin/env node
// No wall-clock upper bound as a pass condition in a test (test/README.md): on a
// loaded 2-core machine "took < 200 ms" fails when nothing is wrong. This scan reads every test
// file (src/**/*.test.ts, test/**/*.test.ts) with the TypeScript parser and fails on an
// assertion that bounds an elapsed time from above: `assert.ok(took < 500)`, `assert(500 >
// Date.now() - t0)`, where `took` holds a difference of clock readings (`Date.now()`,
// `performance.now()`, `process.hrtime`). Lower bounds (a deadline did not fire early) and
// deadlines of positive waits (`if (Date.now() > end) throw ...`) pass. Speed goals belong in
// bench/. A bound that is truly needed carries `check-tests: allow upper-bound` (with the
// reason) in a comment on its line or the line before.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ALLOW = 'check-tests: allow upper-bound';

/** A call that reads the wall clock. */
function isClockCall(node) {
  if (!ts.isCallExpression(node)) return false;
  const text = node.expression.getText();
  return text === 'Date.now' || text === 'performance.now' || /^process\.hrtime(\.bigint)?$/.test(text);
}

const contains = (node, pred) => pred(node) || (ts.forEachChild(node, (c) => (contains(c, pred) ? true : undefined)) ?? false);

/** The places in `source` where a test bounds an elapsed time from above: [{ line, text }]. */
export function findUpperBounds(source, fileName = 'x.test.ts') {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true);
  const stamps = new Set(); // names holding a clock reading
  const elapsed = new Set(); // names holding a difference of clock readings
  const readsClock = (n) => contains(n, (m) => isClockCall(m) || (ts.isIdentifier(m) && stamps.has(m.text)));
  const isElapsed = (n) =>
    contains(
      n,
      (m) =>
        (ts.isIdentifier(m) && elapsed.has(m.text)) ||
        (ts.isBinaryExpression(m) && m.operatorToken.kind === ts.SyntaxKind.MinusToken && readsClock(m.left) && readsClock(m.right)) ||
        (ts.isBinaryExpression(m) && m.operatorToken.kind === ts.SyntaxKind.MinusToken && readsClock(m.left) && ts.isIdentifier(m.right)),
    );
  // Names first (a file reads top to bottom, helpers included), then assertions.
  const collect = (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      if (isElapsed(node.initializer)) elapsed.add(node.name.text);
      else if (readsClock(node.initializer)) stamps.add(node.name.text);
    }
    ts.forEachChild(node, collect);
  };
  collect(sf);

  const lines = source.split('\n');
  const allowed = (line) => lines[line]?.includes(ALLOW) || lines[line - 1]?.includes(ALLOW);
  const upperBound = (n) => {
    if (!ts.isBinaryExpression(n)) return false;
    const k = n.operatorToken.kind;
    if (k === ts.SyntaxKind.LessThanToken || k === ts.SyntaxKind.LessThanEqualsToken) return isElapsed(n.left);
    if (k === ts.SyntaxKind.GreaterThanToken || k === ts.SyntaxKind.GreaterThanEqualsToken) return isElapsed(n.right);
    return false;
  };
  const isAssertion = (call) => {
    const callee = call.expression.getText();
    return callee === 'assert' || /^(assert|t\.assert)\.(ok|equal|strictEqual|deepEqual|deepStrictEqual)$/.test(callee);
  };
  const found = [];
  const visit = (node) => {
    if (ts.isCallExpression(node) && isAssertion(node) && node.arguments.length > 0) {
      const cond = node.arguments[0];
      if (contains(cond, upperBound)) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        if (!allowed(line)) found.push({ line: line + 1, text: node.getText(sf).split('\n')[0] });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function testFiles(root) {
  return ['src', 'test'].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
      .map((e) => join(e.parentPath ?? e.path, e.name)),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const files = testFiles(root);
  let bad = 0;
  for (const file of files) {
    for (const f of findUpperBounds(readFileSync(file, 'utf8'), file)) {
      bad++;
      console.error(`${relative(root, file)}:${f.line}: a wall-clock upper bound as a pass condition: ${f.text}`);
    }
  }
  if (bad > 0) {
    console.error(
      `check-tests: ${bad} upper bound(s) on elapsed time in tests. Assert the cause that makes it fast, use a mocked clock, or measure in bench/; if a bound is truly needed, add a comment "${ALLOW} (why)".`,
    );
    process.exit(1);
  }
  console.log(`check-tests: ${files.length} test files, no wall-clock upper bound used as a pass condition`);
}
