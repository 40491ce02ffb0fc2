// `toolgate grant create|list|revoke`: named identities with a secret token.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { describeErrors } from '../gateway/policy-holder.js';
import { grantStatus, openGrantStore, type Grant, type GrantPolicy } from '../identity/index.js';
import { loadPolicyFile } from '../policy/index.js';
import { resolveStateDir } from '../state/index.js';

interface Common {
  stateDir?: string;
  json?: boolean;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d`. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`invalid duration "${text}": use a number and s, m, h or d (e.g. 30d)`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function describePolicy(p: GrantPolicy): string {
  return p.kind === 'file' ? p.path : p.kind === 'section' ? `section ${p.name}` : '(none: every call denied)';
}

function grantJson(g: Grant, now: number): Record<string, unknown> {
  return {
    name: g.name,
    status: grantStatus(g, now),
    policy: g.policy,
    token_hint: g.tokenHint,
    created_at: new Date(g.createdAt).toISOString(),
    expires_at: g.expiresAt === undefined ? null : new Date(g.expiresAt).toISOString(),
    revoked_at: g.revokedAt === undefined ? null : new Date(g.revokedAt).toISOString(),
  };
}

export function registerGrant(program: Command): void {
  const grant = new Command('grant').description('manage grants: named identities with a secret token and a policy');
  const stateOpt = (c: Command) => c.option('--state-dir <dir>', 'state directory (default ~/.toolgate, or $TOOLGATE_HOME)');

  stateOpt(grant.command('create'))
    .description('create a grant and print its token (shown once; only a hash is stored)')
    .argument('<name>', 'the identity name, e.g. alice-laptop')
    .option('--policy <file>', 'the policy file this grant uses (checked now)')
    .option('--policy-section <name>', 'a named section of the gateway policy this grant uses')
    .option('--expires-in <duration>', 'the grant expires after this long (e.g. 30d, 12h)')
    .option('--json', 'print JSON')
    .action((name: string, opts: Common & { policy?: string; policySection?: string; expiresIn?: string }) => {
      if (opts.policy && opts.policySection) throw new Error('give --policy or --policy-section, not both');
      let policy: GrantPolicy = { kind: 'none' };
      if (opts.policy) {
        const path = resolve(opts.policy);
        const loaded = loadPolicyFile(path);
        if (!loaded.ok) {
          process.stderr.write(`${describeErrors(loaded.errors)}\n`);
          throw new Error(`policy ${opts.policy} has ${loaded.errors.length} error(s); grant not created`);
        }
        policy = { kind: 'file', path };
      } else if (opts.policySection) {
        policy = { kind: 'section', name: opts.policySection };
      }
      const now = Date.now();
      const expiresAt = opts.expiresIn ? now + parseDuration(opts.expiresIn) : undefined;
      const store = openGrantStore(resolveStateDir({ stateDir: opts.stateDir }));
      try {
        const { grant: g, token } = store.create(name, { policy, now, ...(expiresAt !== undefined ? { expiresAt } : {}) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ...grantJson(g, now), token })}\n`);
          return;
        }
        process.stdout.write(`${token}\n`);
        process.stderr.write(
          `grant "${g.name}" created; policy: ${describePolicy(g.policy)}` +
            `${g.expiresAt !== undefined ? `; expires ${new Date(g.expiresAt).toISOString()}` : ''}\n` +
            'the token above is shown once and cannot be recovered; send it as "Authorization: Bearer <token>"\n',
        );
      } finally {
        store.close();
      }
    });

  stateOpt(grant.command('list'))
    .description('list grants (tokens are never shown)')
    .option('--json', 'print JSON lines')
    .action((opts: Common) => {
      const store = openGrantStore(resolveStateDir({ stateDir: opts.stateDir }));
      const now = Date.now();
      try {
        const grants = store.list();
        if (opts.json) {
          for (const g of grants) process.stdout.write(`${JSON.stringify(grantJson(g, now))}\n`);
          return;
        }
        if (grants.length === 0) {
          process.stdout.write('no grants\n');
          return;
        }
        const rows = grants.map((g) => [g.name, grantStatus(g, now), `${g.tokenHint}…`, new Date(g.createdAt).toISOString(), describePolicy(g.policy)]);
        const head = ['NAME', 'STATUS', 'TOKEN', 'CREATED', 'POLICY'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
      } finally {
        store.close();
      }
    });

  stateOpt(grant.command('revoke'))
    .description('revoke a grant: its token and JWTs are refused from now on')
    .argument('<name>', 'the grant to revoke')
    .action((name: string, opts: Common) => {
      const store = openGrantStore(resolveStateDir({ stateDir: opts.stateDir }));
      try {
        const g = store.revoke(name);
        process.stdout.write(`grant "${g.name}" revoked at ${new Date(g.revokedAt!).toISOString()}\n`);
      } finally {
        store.close();
      }
    });

  program.addCommand(grant);
}
