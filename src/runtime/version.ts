import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// dist/src/runtime (or dist/bundle/*) -> package root
export const VERSION: string = (require('../../../package.json') as { version: string }).version;
