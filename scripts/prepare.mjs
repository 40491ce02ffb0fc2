// npm's prepare step: build dist/ when the package is installed from git
// (`npm install -g git+URL`, `npx github:owner/repo`) or in a clone.
//
// npm is meant to install the dev dependencies before prepare on a git
// install, but a global one (-g) runs that install in global mode, so they
// are missing (npm/cli#8440). Then they are installed here first: locally,
// without saving, and without install scripts (building needs only
// TypeScript and esbuild, not the native SQLite module compiled again).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args, env = process.env) => {
  const r = spawnSync(npm, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (
  !existsSync(new URL('../node_modules/typescript/package.json', import.meta.url)) ||
  !existsSync(new URL('../node_modules/esbuild/package.json', import.meta.url))
) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(global|location|prefix)$/i.test(k)));
  run(['install', '--include=dev', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--location=project'], env);
}
run(['run', 'build']);
