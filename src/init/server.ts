// The local page of `toolgate init`, on node:http, bound to 127.0.0.1 only.
//
// Who may use it: whoever holds the token in the URL toolgate printed (32 random bytes). The API
// wants it in a header, which a cross-site form cannot send and a cross-site fetch cannot send
// without a CORS preflight that this server never answers. A POST must also come from the page's
// own origin (Origin and Sec-Fetch-Site when the browser sends them), and every request must name
// this server in Host (a DNS-rebinding page names its own host). The token is spent by a
// successful save: the server then answers and closes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';
import { ACTIONS, MAX_PER_MINUTE } from './policy.js';
import { type Plan, type SaveResult, savable } from './plan.js';

const MAX_BODY = 1024 * 1024;

const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export interface InitPage {
  /** The URL to open, token included. */
  url: string;
  /** Resolves with the result of the save that spent the token. */
  saved: Promise<SaveResult>;
  close(): Promise<void>;
}

/** What the page shows: no environment values (they often hold API keys). */
export function planForPage(plan: Plan): unknown {
  return {
    actions: ACTIONS,
    maxPerMinute: MAX_PER_MINUTE,
    defaultPerMinute: 30,
    files: plan.files.map((f) => ({ client: f.client, file: f.file, servers: f.servers.length, ...(f.error ? { error: f.error } : {}) })),
    servers: plan.servers.map((s) => ({
      id: s.id,
      client: s.client,
      file: s.file,
      name: s.name,
      kind: s.kind,
      ...(s.note ? { note: s.note } : {}),
      ...(s.command !== undefined ? { commandLine: [s.command, ...(s.args ?? [])].join(' ') } : s.url ? { commandLine: s.url } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.tools && savable(plan).includes(s) ? { tools: s.tools } : {}),
    })),
  };
}

export async function startInitPage(plan: Plan, onSave: (body: unknown) => SaveResult, opts: { port?: number; token?: string } = {}): Promise<InitPage> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const tokenHash = digest(token);
  let spent = false;
  let resolveSaved!: (r: SaveResult) => void;
  const saved = new Promise<SaveResult>((r) => {
    resolveSaved = r;
  });
  let origin = '';

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: 'internal', message: err instanceof Error ? err.message : String(err) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.host !== new URL(origin).host) return send(res, 421, { error: 'bad_host', message: 'this page answers only at its own address' });
    const url = new URL(req.url ?? '/', origin);
    if (req.method === 'GET' && url.pathname === '/app.js') return text(res, 'text/javascript; charset=utf-8', PAGE_JS);
    if (req.method === 'GET' && url.pathname === '/app.css') return text(res, 'text/css; charset=utf-8', PAGE_CSS);
    if (req.method === 'GET' && url.pathname === '/') {
      if (spent) return text(res, 'text/plain; charset=utf-8', 'toolgate init: already saved; this page is closed.\n', 410);
      if (!tokenOk(url.searchParams.get('token')))
        return text(res, 'text/plain; charset=utf-8', 'toolgate init: open the address toolgate printed (with its token).\n', 403);
      return text(res, 'text/html; charset=utf-8', PAGE_HTML);
    }
    if (!url.pathname.startsWith('/api/')) return send(res, 404, { error: 'not_found', message: 'not found' });
    if (spent) return send(res, 410, { error: 'spent', message: 'already saved: run toolgate init again to change the choices' });
    if (!tokenOk(header(req, 'x-toolgate-token'))) return send(res, 403, { error: 'bad_token', message: 'wrong or missing token' });
    if (req.method === 'GET' && url.pathname === '/api/plan') return send(res, 200, planForPage(plan));
    if (req.method === 'POST' && url.pathname === '/api/save') {
      const o = header(req, 'origin');
      if (o !== undefined && o !== origin) return send(res, 403, { error: 'bad_origin', message: 'cross-origin request refused' });
      const site = header(req, 'sec-fetch-site');
      if (site !== undefined && site !== 'same-origin') return send(res, 403, { error: 'bad_origin', message: 'cross-site request refused' });
      if (!/^application\/json\s*(;|$)/i.test(header(req, 'content-type') ?? '')) {
        return send(res, 415, { error: 'bad_content_type', message: 'send application/json' });
      }
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch (err) {
        return send(res, 400, { error: 'bad_request', message: err instanceof Error ? err.message : 'not JSON' });
      }
      let result: SaveResult;
      try {
        result = onSave(body);
      } catch (err) {
        // Nothing was written (choices are checked and policies built before any write).
        return send(res, 400, { error: 'bad_choice', message: err instanceof Error ? err.message : String(err) });
      }
      spent = true;
      send(res, 200, result);
      resolveSaved(result);
      return;
    }
    return send(res, 405, { error: 'method_not_allowed', message: `${req.method} ${url.pathname} is not served` });
  }

  function tokenOk(given: string | null | undefined): boolean {
    return typeof given === 'string' && timingSafeEqual(digest(given), tokenHash);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    saved,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error(`the request is larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  text(res, 'application/json; charset=utf-8', JSON.stringify(body), status);
}

function text(res: ServerResponse, type: string, body: string, status = 200): void {
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
