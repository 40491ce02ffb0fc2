// After tsc: make the CLI entry executable (tsc does not keep file modes) and
// copy the dashboard's static front end (plain files tsc does not emit).
import { chmodSync, cpSync, existsSync } from 'node:fs';
const bin = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(bin)) chmodSync(bin, 0o755);
const staticSrc = new URL('../src/web/static/', import.meta.url);
if (existsSync(staticSrc)) cpSync(staticSrc, new URL('../dist/src/web/static/', import.meta.url), { recursive: true });
