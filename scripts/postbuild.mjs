// After tsc: copy the dashboard's static front end (plain files tsc does not
// emit), and bundle the command line into dist/bundle/cli/main.js, the
// `toolgate` binary.
//
// Why a bundle: start-up is on every agent's path, and Node's ES module
// loader spends much of it resolving, reading and linking the ~150 files of
// toolgate and its libraries one by one. esbuild folds them into a few files;
// lazily imported subcommands stay separate chunks, loaded only when used;
// native code and libraries loaded only on demand stay ordinary dependencies. The
// bundle sits at the same depth as dist/src/cli/main.js, so paths computed
// from import.meta.url (catalogue, examples, static files) resolve alike.
// Tests run the bundle end to end and the unbundled modules unit by unit.
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = (p) => fileURLToPath(new URL(`../dist/${p}`, import.meta.url));

const staticSrc = fileURLToPath(new URL('../src/web/static/', import.meta.url));
if (existsSync(staticSrc)) cpSync(staticSrc, dist('src/web/static/'), { recursive: true });
// The attack library's pages, which the dashboard's catalogue links to (and the package ships).
const attacksSrc = fileURLToPath(new URL('../docs/attacks/', import.meta.url));
rmSync(dist('src/web/static/attacks'), { recursive: true, force: true });
cpSync(attacksSrc, dist('src/web/static/attacks/'), { recursive: true, filter: (src) => src === attacksSrc || src.endsWith('.md') });

rmSync(dist('bundle'), { recursive: true, force: true });
await build({
  entryPoints: [dist('src/cli/main.js')],
  outdir: dist('bundle/cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled: what the gateway loads at start-up. Left to Node: native code,
  // and the libraries loaded only on demand (Redis, PostgreSQL, metrics,
  // tracing, the MCP client of scan and demo), which gain nothing from it;
  // jsonc-parser (init) is UMD, whose inner require()s esbuild cannot follow.
  external: [
    'better-sqlite3',
    'jsonc-parser',
    'pg',
    'pg-native',
    'ioredis',
    'prom-client',
    '@opentelemetry/*',
    '@modelcontextprotocol/sdk',
    '@modelcontextprotocol/sdk/*',
  ],
  // CommonJS libraries inside an ES module bundle still call require().
  banner: { js: "import { createRequire as __toolgateRequire } from 'node:module'; const require = __toolgateRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
// The library (`import { openToolgate } from 'toolgate'`, src/lib): one file of
// its own, with the same externals (the host's SDK is never bundled), and its
// declarations made from src/lib/index.ts and api.ts alone (they name no
// internal module), so the package promises exactly those types.
await build({
  entryPoints: [dist('src/lib/index.js')],
  outfile: dist('bundle/lib/index.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [
    'better-sqlite3',
    'jsonc-parser',
    'pg',
    'pg-native',
    'ioredis',
    'prom-client',
    '@opentelemetry/*',
    '@modelcontextprotocol/sdk',
    '@modelcontextprotocol/sdk/*',
  ],
  banner: { js: "import { createRequire as __toolgateRequire } from 'node:module'; const require = __toolgateRequire(import.meta.url);" },
  logLevel: 'warning',
});
{
  const ts = (await import('typescript')).default;
  for (const name of ['index', 'api']) {
    const source = readFileSync(new URL(`../src/lib/${name}.ts`, import.meta.url), 'utf8');
    const out = ts.transpileDeclaration(source, {
      fileName: `${name}.ts`,
      reportDiagnostics: true,
      compilerOptions: { strict: true, module: ts.ModuleKind.NodeNext },
    });
    const problems = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    if (problems.length > 0) throw new Error(`src/lib/${name}.ts: declarations need explicit types:\n${problems.join('\n')}`);
    writeFileSync(dist(`bundle/lib/${name}.d.ts`), out.outputText);
  }
}
chmodSync(dist('bundle/cli/main.js'), 0o755);
chmodSync(dist('src/cli/main.js'), 0o755);

// The build's identity: a hash of every compiled file. The policy cache
// (src/policy/cache.ts) keys its entries on it, so no build reads another's.
const hash = createHash('sha256');
for (const top of ['src', 'bundle']) {
  const walk = (rel) => {
    for (const e of readdirSync(dist(rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.js')) hash.update(p).update(readFileSync(dist(p)));
    }
  };
  walk(top);
}
writeFileSync(dist('build-id'), `${hash.digest('hex')}\n`);
