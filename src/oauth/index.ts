// Front door of the oauth room: toolgate as an OAuth 2.1 protected resource.
export { loadOAuthConfigFile, OAUTH_KEYS, parseOAuthConfig } from './config.js';
export type { IntrospectionConfig, OAuthConfig } from './config.js';
export { ProtectedResource, scopesOf } from './resource.js';
export type { OAuthFailure, OAuthPrincipal, ProtectedResourceDeps, VerifyResult } from './resource.js';
export { callerOf, scopeTools } from './caller.js';
export type { OAuthCaller } from './caller.js';
export { oauthConfigFromFlags } from './config.js';
export { oauthFromFlags } from './wire.js';
export { oauthListenerOptions } from './wire.js';
export type { OAuthRefusal } from './wire.js';
export { login, refreshLogin } from './login.js';
export type { LoginOptions } from './login.js';
export { UpstreamTokens } from './upstream-tokens.js';
export { loadTokenKey, openTokenVault, seal, TOKEN_KEY_ENV, TokenVault, unseal } from './vault.js';
export type { OpenVaultOptions, UpstreamLogin } from './vault.js';
export { openUpstreamLogins, upstreamTokensFor } from './upstream-wire.js';
