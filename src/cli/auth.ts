// `toolgate auth login|status|logout`: toolgate's own OAuth logins to remote
// MCP servers (src/oauth). Tokens are sealed in the state store and never
// printed; status shows which servers have tokens and until when.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { login, openTokenVault, type TokenVault } from '../oauth/index.js';
import { loadGatewayConfig } from '../serve/config.js';
import { resolveStateDir } from '../state/index.js';

interface Common {
  config?: string;
  stateDir?: string;
  stateDsn?: string;
  statePrefix?: string;
  tokenKeyFile?: string;
  json?: boolean;
}

/** The vault of the config's state (serve) or of the flags (single-server gateway). */
function vaultOf(opts: Common): { vault: TokenVault; urlOf: (server: string) => string } {
  let stateDir = resolveStateDir({ stateDir: opts.stateDir });
  let dsn = opts.stateDsn;
  let prefix = opts.statePrefix;
  const urls = new Map<string, string>();
  if (opts.config) {
    const loaded = loadGatewayConfig(resolve(opts.config));
    if (!loaded.ok) throw new Error(`${opts.config}: ${loaded.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('; ')}`);
    const c = loaded.config;
    if (c.state.dir && !opts.stateDir) stateDir = c.state.dir;
    dsn ??= c.state.dsn;
    prefix ??= c.state.prefix;
    for (const s of c.servers) if (s.kind === 'url') urls.set(s.name, s.url);
  }
  const vault = openTokenVault({
    stateDir,
    ...(dsn ? { stateDsn: dsn } : {}),
    ...(prefix ? { statePrefix: prefix } : {}),
    ...(opts.tokenKeyFile ? { keyFile: opts.tokenKeyFile } : {}),
  });
  const urlOf = (server: string): string => {
    const known = urls.get(server);
    if (known) return known;
    if (URL.canParse(server) && /^https?:$/.test(new URL(server).protocol)) return server;
    throw new Error(
      opts.config
        ? `no server named "${server}" with a url in ${opts.config} (servers with a url: ${[...urls.keys()].join(', ') || 'none'})`
        : `"${server}" is not a URL: give the server's URL, or -c toolgate.yaml and a server name`,
    );
  };
  return { vault, urlOf };
}

const common = (c: Command) =>
  c
    .option('-c, --config <file>', 'a toolgate serve config: names its servers and its state store')
    .option('--state-dir <dir>', 'state directory (default ~/.toolgate, or $TOOLGATE_HOME)')
    .option('--state-dsn <dsn>', 'shared state in Redis (redis://...), as the gateway uses')
    .option('--state-prefix <prefix>', 'key prefix for shared state (default "toolgate:")')
    .option('--token-key-file <file>', 'the 32-byte key the tokens are encrypted with (default $TOOLGATE_TOKEN_KEY)');

export function registerAuth(program: Command): void {
  const auth = new Command('auth').description("toolgate's own OAuth logins to remote MCP servers (tokens encrypted at rest, refreshed by the gateway)");

  common(auth.command('login'))
    .description('log in to a remote MCP server that requires OAuth: opens the authorization page, waits for the callback on 127.0.0.1')
    .argument('<server>', 'a server name of the -c config, or the server URL (what --upstream names)')
    .option('--scope <scope>', 'the scopes to ask for (default: what the server advertises)')
    .option(
      '--client-metadata-url <url>',
      "an https URL of toolgate's client metadata document (used where the authorization server supports Client ID Metadata Documents)",
    )
    .action(async (name: string, opts: Common & { scope?: string; clientMetadataUrl?: string }) => {
      const { vault, urlOf } = vaultOf(opts);
      // A URL is kept under its normal form: what the gateway's --upstream names.
      const server = URL.canParse(name) ? new URL(name).href : name;
      try {
        const url = urlOf(server);
        const done = await login({
          server,
          url,
          vault,
          open: (u) =>
            process.stderr.write(`open this page to log in to ${server}:\n\n  ${u}\n\nwaiting for the authorization server to send you back to toolgate...\n`),
          ...(opts.scope ? { scope: opts.scope } : {}),
          ...(opts.clientMetadataUrl ? { clientMetadataUrl: opts.clientMetadataUrl } : {}),
        });
        process.stdout.write(
          `logged in to ${server} (issuer ${done.issuer})${done.expiresAt ? `; the access token expires ${new Date(done.expiresAt).toISOString()}` : ''}${done.refreshToken ? ', and the gateway refreshes it' : ', with no refresh token: log in again when it expires'}\n`,
        );
      } finally {
        await vault.close();
      }
    });

  common(auth.command('status'))
    .description('which servers have tokens, their issuer and expiry (never the tokens)')
    .option('--json', 'print JSON lines')
    .action(async (opts: Common) => {
      const { vault } = vaultOf(opts);
      try {
        const now = Date.now();
        const names = await vault.list();
        if (names.length === 0 && !opts.json) process.stdout.write('no upstream OAuth logins\n');
        for (const name of names) {
          const l = await vault.get(name);
          if (!l) continue;
          const row = {
            server: name,
            url: l.url,
            issuer: l.issuer,
            client_id: l.client.client_id,
            scope: l.scope ?? null,
            expires_at: l.expiresAt ? new Date(l.expiresAt).toISOString() : null,
            expired: l.expiresAt !== undefined && l.expiresAt <= now,
            refreshable: l.refreshToken !== undefined,
            updated_at: new Date(l.updatedAt).toISOString(),
          };
          if (opts.json) process.stdout.write(`${JSON.stringify(row)}\n`);
          else
            process.stdout.write(
              `${name}  ${l.url}  issuer ${l.issuer}  ${row.expires_at ? `${row.expired ? 'expired' : 'expires'} ${row.expires_at}` : 'no expiry'}  ${row.refreshable ? 'refreshable' : 'not refreshable'}\n`,
            );
        }
      } finally {
        await vault.close();
      }
    });

  common(auth.command('logout'))
    .description("forget a server's tokens")
    .argument('<server>', 'the server name (or URL) given to auth login')
    .action(async (name: string, opts: Common) => {
      const { vault } = vaultOf(opts);
      const server = URL.canParse(name) ? new URL(name).href : name;
      try {
        await vault.delete(server);
        process.stdout.write(`forgot the tokens of ${server}\n`);
      } finally {
        await vault.close();
      }
    });

  program.addCommand(auth);
}
