// The official MCP JSON schemas (test/fixtures/mcp-schema, vendored from the
// specification repository) as validators: a test hands over a message the
// gateway wrote and the revision of its session, and gets the schema's
// complaints back (none: it conforms).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { root } from './helpers.js';

export type Revision = '2025-11-25' | '2026-07-28';

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
for (const revision of ['2025-11-25', '2026-07-28'] as const) {
  ajv.addSchema(JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'mcp-schema', revision, 'schema.json'), 'utf8')) as object, revision);
}

function check(revision: Revision, def: string, value: unknown): string[] {
  const validate = ajv.getSchema(`${revision}#/$defs/${def}`);
  if (!validate) throw new Error(`no definition ${def} in the ${revision} schema`);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${def}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/**
 * What the revision's schema says against an answer to a request: an error
 * response, or a result response whose result is `resultDef` (CallToolResult
 * for tools/call). The 2026-07-28 revision also forbids the legacy code
 * sub-range (-32000..-32019) and -32042 (basic/index "Error Codes"), which a
 * JSON schema cannot say.
 */
export function answerComplaints(revision: Revision, msg: unknown, resultDef = 'CallToolResult'): string[] {
  const m = msg as { result?: unknown; error?: { code?: unknown } };
  if (m.error !== undefined) {
    const out = check(revision, 'JSONRPCErrorResponse', msg);
    const code = m.error.code;
    if (revision === '2026-07-28' && typeof code === 'number' && ((code <= -32000 && code >= -32019) || code === -32042)) {
      out.push(`error code ${code} is one 2026-07-28 does not allow`);
    }
    return out;
  }
  return [...check(revision, 'JSONRPCResultResponse', msg), ...check(revision, resultDef, m.result)];
}

/** What the revision's schema says against a notification the gateway sent (progress while a call waits). */
export function notificationComplaints(revision: Revision, msg: unknown): string[] {
  return check(revision, 'ServerNotification', msg);
}
