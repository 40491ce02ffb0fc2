// Every shape of answer the gateway writes itself (src/mcp/revision.ts),
// validated against the official JSON schema of each revision: unchanged on
// the 2025 line, with resultType and allowed error codes on 2026-07-28.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shapeOwnAnswer } from '../src/mcp/revision.js';
import { errorResponse, ErrorCode, resultResponse } from '../src/mcp/jsonrpc.js';
import { denialResult } from '../src/gateway/session.js';
import { answerComplaints } from './mcp-schema.js';

const gatewayErrors = [
  errorResponse(7, ErrorCode.InvalidRequest, 'Invalid Request: request id 7 is already in flight'),
  errorResponse(7, ErrorCode.InvalidParams, 'Invalid params for tools/call: arguments must be an object'),
  errorResponse(7, ErrorCode.InternalError, 'Internal error: the state store is unavailable'),
  errorResponse(7, ErrorCode.UpstreamUnavailable, 'Upstream MCP server closed before answering', { transport: 'streamable-http', may_have_run: true }),
  errorResponse('a', -32000, 'Not Acceptable: Accept must include application/json and text/event-stream'),
];

test("2025 line: the gateway's own answers are unchanged and conform to 2025-11-25", () => {
  const denial = resultResponse(7, denialResult('transfers above 100 are not allowed'));
  assert.equal(shapeOwnAnswer(denial, 'legacy'), denial);
  assert.deepEqual(answerComplaints('2025-11-25', denial), []);
  for (const e of gatewayErrors) {
    assert.equal(shapeOwnAnswer(e, 'legacy'), e);
    assert.equal(shapeOwnAnswer(e, undefined), e, 'a session whose revision is not known yet is answered as the 2025 line');
    assert.deepEqual(answerComplaints('2025-11-25', e), [], JSON.stringify(e));
  }
});

test('2026-07-28: a denial carries resultType "complete" and conforms; a result that has one keeps it', () => {
  const denial = resultResponse(7, denialResult('transfers above 100 are not allowed'));
  assert.notDeepEqual(answerComplaints('2026-07-28', denial), [], 'the 2025 shape does not conform to 2026-07-28 (positive control)');
  const shaped = shapeOwnAnswer(denial, 'modern');
  assert.deepEqual(answerComplaints('2026-07-28', shaped), []);
  assert.equal((shaped.result as { resultType: string }).resultType, 'complete');
  assert.deepEqual((shaped.result as { content: unknown }).content, (denial.result as { content: unknown }).content);
  const round = resultResponse(7, { resultType: 'input_required', requestState: 'toolgate.2.x.-.y' });
  assert.equal(shapeOwnAnswer(round, 'modern'), round);
});

test('2026-07-28: error codes from the ranges the revision allows, ids never null', () => {
  for (const e of gatewayErrors) {
    const shaped = shapeOwnAnswer(e, 'modern');
    assert.deepEqual(answerComplaints('2026-07-28', shaped), [], JSON.stringify(shaped));
    assert.equal(shaped.error!.message, e.error!.message, 'the message is kept');
    assert.deepEqual(shaped.error!.data, e.error!.data, 'the data is kept');
  }
  assert.equal(shapeOwnAnswer(gatewayErrors[3]!, 'modern').error!.code, ErrorCode.InternalError);
  assert.equal(shapeOwnAnswer(gatewayErrors[4]!, 'modern').error!.code, ErrorCode.InvalidRequest);
  assert.notDeepEqual(answerComplaints('2026-07-28', gatewayErrors[3]), [], '-32001 is refused by the 2026 check (positive control)');
  const anonymous = shapeOwnAnswer(errorResponse(null, ErrorCode.InvalidRequest, 'Invalid Request: empty batch'), 'modern');
  assert.equal('id' in anonymous, false);
  assert.deepEqual(answerComplaints('2026-07-28', anonymous), []);
});
