// The single-server gateway's --upstream-oauth: the login of the --upstream URL, its token on every upstream request.
import type { Logger } from '../log/index.js';
import { UpstreamTokens } from './upstream-tokens.js';
import { openTokenVault } from './vault.js';

interface UrlSpec {
  kind: 'url' | 'command';
  url?: string;
  bearer?: () => string | undefined;
}

/** Load the login of `spec.url` and set `spec.bearer`; resolves with what to close at shutdown. */
export async function upstreamTokensFor(spec: UrlSpec, opts: { stateDsn?: string; statePrefix?: string; tokenKeyFile?: string }, stateDir: string, log: Logger): Promise<{ close(): Promise<void> }> {
  if (spec.kind !== 'url' || spec.url === undefined) throw new Error('--upstream-oauth needs --upstream URL');
  const vault = openTokenVault({ stateDir, ...(opts.stateDsn ? { stateDsn: opts.stateDsn } : {}), ...(opts.statePrefix ? { statePrefix: opts.statePrefix } : {}), ...(opts.tokenKeyFile ? { keyFile: opts.tokenKeyFile } : {}) });
  const tokens = new UpstreamTokens({ vault, server: spec.url, log });
  try {
    await tokens.start();
  } catch (err) {
    await vault.close();
    throw err;
  }
  spec.bearer = tokens.bearer;
  return {
    close: async () => {
      tokens.close();
      await vault.close();
    },
  };
}
