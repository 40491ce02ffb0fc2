// The front end's files (plain HTML, CSS and JavaScript under src/web/static,
// copied beside the compiled code by scripts/postbuild.mjs) and the login page.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  // The attack library's pages (docs/attacks/, copied under static/attacks/ by scripts/postbuild.mjs), read as text.
  '.md': 'text/plain; charset=utf-8',
};

/** The folders under static/ that are served too (one level). */
const SUBDIRS = ['attacks'];

/** Where the dashboard serves an attack library page (relative to the dashboard's root). */
export function attackPageHref(slug: string): string {
  return `static/attacks/${slug}.md`;
}

/** Where the static files are: beside the compiled module, beside the bundle, else in the source tree. */
export function staticDir(): string {
  // dist/src/web/static beside this module; from the bundle (dist/bundle/cli) the same folder; else the source tree.
  const candidates = [
    fileURLToPath(new URL('./static/', import.meta.url)),
    fileURLToPath(new URL('../../src/web/static/', import.meta.url)),
    fileURLToPath(new URL('../../../src/web/static/', import.meta.url)),
  ];
  for (const c of candidates) if (existsSync(join(c, 'index.html'))) return c;
  return candidates[0]!;
}

/** Read the front end once, into memory. */
export function loadStaticAssets(dir: string = staticDir()): Map<string, StaticAsset> {
  const out = new Map<string, StaticAsset>();
  if (!existsSync(dir)) return out;
  const names = readdirSync(dir).concat(SUBDIRS.flatMap((d) => (existsSync(join(dir, d)) ? readdirSync(join(dir, d)).map((n) => `${d}/${n}`) : [])));
  for (const name of names) {
    const path = join(dir, name);
    const type = TYPES[extname(name)];
    if (!type || !statSync(path).isFile()) continue;
    const body = readFileSync(path);
    out.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"` });
  }
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The sign-in page: one field for the admin or a viewer key. Relative URLs, so it works under any base path. */
export function loginPage(o: { error?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in · toolgate</title>
<link rel="icon" href="static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="static/app.css">
</head>
<body class="login">
<main class="login-card">
  <div class="brand brand-lg"><img src="static/icon.svg" alt="" width="32" height="32"><span>toolgate</span></div>
  <h1>Sign in to the dashboard</h1>
  <p class="muted">Use the admin key to decide approvals, or a viewer key to watch.</p>
  ${o.error ? `<p class="alert" role="alert" id="login-error">${escapeHtml(o.error)}</p>` : ''}
  <form method="post" action="login">
    <label for="key">Key</label>
    <input id="key" name="key" type="password" autocomplete="current-password" required autofocus spellcheck="false">
    <button type="submit" class="btn btn-primary">Sign in</button>
  </form>
</main>
</body>
</html>
`;
}
