// What a listener needs of this room, from a config: the resource and where its refusals go.
import { oauthConfigFromFlags, type OAuthConfig } from './config.js';
import { ProtectedResource } from './resource.js';

export interface OAuthRefusal {
  status: number;
  reason: string;
  message: string;
  resource?: string;
  identity?: string;
}

/** `{ oauth, onRefused }` for openListenerAuth, or nothing when OAuth is not configured. */
export function oauthListenerOptions(
  config: OAuthConfig | undefined,
  audit: (r: OAuthRefusal) => void,
): { oauth?: ProtectedResource; onRefused?: (r: OAuthRefusal) => void } {
  if (!config) return {};
  return { oauth: new ProtectedResource(config), onRefused: audit };
}

export function oauthFromFlags(opts: { oauth?: string; oauthIssuer?: string }, audit: (r: OAuthRefusal) => void): ReturnType<typeof oauthListenerOptions> {
  return oauthListenerOptions(oauthConfigFromFlags(opts), audit);
}
