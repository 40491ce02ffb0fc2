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
export async function upstreamTokensFor(
  spec: UrlSpec,
  opts: { stateDsn?: string; statePrefix?: string; tokenKeyFile?: string },
  stateDir: string,
  log: Logger,
): Promise<{ close(): Promise<void> }> {
  if (spec.kind !== 'url' || spec.url === undefined) throw new Error('--upstream-oauth needs --upstream URL');
  const vault = openTokenVault({
    stateDir,
    ...(opts.stateDsn ? { stateDsn: opts.stateDsn } : {}),
    ...(opts.statePrefix ? { statePrefix: opts.statePrefix } : {}),
    ...(opts.tokenKeyFile ? { keyFile: opts.tokenKeyFile } : {}),
  });
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

/** The logins of the serve config's `oauth: true` servers, loaded (and refreshed) before the gateway starts. */
export async function openUpstreamLogins(
  names: string[],
  state: { stateDir: string; stateDsn?: string; statePrefix?: string },
  log: Logger,
): Promise<{ bearer(name: string): () => string | undefined; close(): Promise<void> }> {
  if (names.length === 0) return { bearer: () => () => undefined, close: async () => undefined };
  const vault = openTokenVault(state);
  const byName = new Map<string, UpstreamTokens>();
  try {
    for (const server of names) {
      const tokens = new UpstreamTokens({ vault, server, log });
      await tokens.start();
      byName.set(server, tokens);
    }
  } catch (err) {
    for (const t of byName.values()) t.close();
    await vault.close();
    throw new Error(`${(err as Error).message.replace(/toolgate auth login (\S+)/, 'toolgate auth login $1 -c <this config>')}`);
  }
  return {
    // A server added by a later reload has no login loaded: its requests go without a token until a restart.
    bearer: (name) => byName.get(name)?.bearer ?? (() => undefined),
    close: async () => {
      for (const t of byName.values()) t.close();
      await vault.close();
    },
  };
}
