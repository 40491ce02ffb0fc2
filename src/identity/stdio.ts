// The identity of a stdio gateway: named by `--identity NAME` (or
// $TOOLGATE_IDENTITY). A stdio client is whoever started the process, so no
// secret is asked; but when a grant of that name exists, its status and policy
// count: a revoked or expired grant refuses to start, a grant without a policy
// denies every call, a grant with a policy file runs that file.
import { grantStatus, type GrantStore } from './grants.js';
import type { Identity } from './authenticate.js';

export class IdentityError extends Error {
  override name = 'IdentityError';
}

export function resolveStdioIdentity(name: string, grants: GrantStore | undefined, now: number = Date.now()): Identity {
  const grant = grants?.get(name);
  if (!grant) return { ok: true, name, via: 'stdio', policy: { kind: 'gateway' } };
  const status = grantStatus(grant, now);
  if (status !== 'active') throw new IdentityError(`identity "${name}": its grant is ${status}; not starting`);
  return { ok: true, name, via: 'stdio', grant, policy: grant.policy };
}
