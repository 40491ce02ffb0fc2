// How the dashboard answers: the headers every answer carries, the page's
// Content-Security-Policy, and one small function per kind of answer.
import type { ServerResponse } from 'node:http';
import type { StaticAsset } from './pages.js';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** The pages' policy: scripts, styles and data only from the dashboard itself; no inline script, no framing. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function json(res: ServerResponse, status: number, body: unknown): true {
  const t = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(t) });
  res.end(t);
  return true;
}

export function text(res: ServerResponse, status: number, body: string): true {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
  return true;
}

export function page(res: ServerResponse, status: number, html: string): true {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': PAGE_CSP });
  res.end(html);
  return true;
}

export function redirect(res: ServerResponse, location: string): true {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
  return true;
}

export function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow);
  return json(res, 405, { error: 'method_not_allowed', message: `use ${allow}` });
}

export function serveAsset(res: ServerResponse, asset: StaticAsset | undefined, method: string, cache = 'no-cache'): true {
  if (!asset) return text(res, 404, 'not found\n');
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': cache, etag: asset.etag });
  res.end(method === 'HEAD' ? undefined : asset.body);
  return true;
}
