// A request body, read whole up to a limit: a declared Content-Length over the
// limit is refused before a byte is read, a body that grows past it as soon as
// it does (the rest is discarded). Decoded as UTF-8.
import type { IncomingMessage } from 'node:http';

/** The text; `too_large` (answer 413, then close the connection); or `failed` (the request broke off). */
export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too_large' | 'failed' };

export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.resolve({ ok: false, reason: 'too_large' });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > maxBytes) {
        done = true;
        chunks.length = 0;
        resolve({ ok: false, reason: 'too_large' });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      // A small body comes as one chunk: decoded as it is, not copied into a new Buffer first.
      if (!done) resolve({ ok: true, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      done = true;
    });
    req.on('error', () => {
      if (!done) resolve({ ok: false, reason: 'failed' });
      done = true;
    });
  });
}
