// Front door of the identity room: grants, tokens, JWTs, and authenticate().
import { join } from 'node:path';
import { ensureStateDir } from '../state/index.js';
import { GRANTS_DB_FILE, GrantStore } from './grants.js';

export { GRANTS_DB_FILE, GRANT_NAME_RE, GrantError, GrantStore, grantStatus, noPolicyMessage } from './grants.js';
export type { CreateGrantOptions, Grant, GrantPolicy, GrantStatus } from './grants.js';
export { TOKEN_PREFIX, digestEquals, generateToken, hashToken, looksLikeToken, parseBearer, secretEquals } from './tokens.js';
export { JWT_ALGORITHMS, JwtVerifier, looksLikeJwt } from './jwt.js';
export type { JwtAlgorithm, JwtOptions, JwtResult } from './jwt.js';
export { authError, callerDenial, createAuthenticator } from './authenticate.js';
export type { AuthError, AuthFailure, Authenticate, AuthenticatorOptions, Identity, IdentityPolicy } from './authenticate.js';
export { IdentityError, resolveStdioIdentity } from './stdio.js';

/** Open `<stateDir>/grants.db` (creating the directory if needed). */
export function openGrantStore(stateDir: string): GrantStore {
  return new GrantStore({ path: join(ensureStateDir(stateDir), GRANTS_DB_FILE) });
}
export { openListenerAuth } from './listener-auth.js';
export type { CallerIdentity, ListenerAuth, ListenerAuthOptions, ListenerAuthResult } from './listener-auth.js';
