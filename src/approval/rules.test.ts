// The rules both approval stores share, alone: who may decide, the drafted
// record, and finding a request by a prefix of its id.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bareApprovalId, draftApproval, matchIdPrefix, newApprovalId, refuseDecider } from './rules.js';
import { SELF_APPROVER, type NewApproval } from './types.js';

const input: NewApproval = { tool: 'pay', argsSha256: 'ab'.repeat(32), rule: 'r', rulePointer: 'tools/pay/rules/0', timeoutMs: 1000, identity: 'alice' };
const at = { now: 1_000, host: 'h', pid: 7 };

describe('approval rules', () => {
  it('drafts a pending record that expires timeoutMs later, under the given instance unless the input names one', () => {
    const r = draftApproval(input, { ...at, instance: 'gw-1' });
    assert.match(r.id, /^apr_[0-9a-f]{16}$/);
    assert.equal(r.status, 'pending');
    assert.equal(r.expiresAt, 2_000);
    assert.equal(r.instance, 'gw-1');
    assert.equal(draftApproval({ ...input, instance: 'own' }, { ...at, instance: 'gw-1' }).instance, 'own');
    assert.equal(draftApproval({ ...input, timeoutMs: -5 }, at).expiresAt, 1_000, 'a negative timeout is no timeout');
  });

  it('the caller may deny its own call but approve it only under self-approval; others must be named approvers', () => {
    const rec = draftApproval({ ...input, approvers: ['bob'] }, at);
    assert.equal(refuseDecider(rec, { approve: false, by: 'alice', channel: 'cli' }), undefined);
    assert.equal(refuseDecider(rec, { approve: true, by: 'alice', channel: 'cli' })?.ok, false);
    assert.equal(refuseDecider(rec, { approve: true, by: 'bob', channel: 'cli' }), undefined);
    const other = refuseDecider(rec, { approve: true, by: 'carol', channel: 'cli' });
    assert.ok(other && !other.ok && other.code === 'not_approver');
    const self = draftApproval({ ...input, approvers: [SELF_APPROVER] }, at);
    assert.equal(refuseDecider(self, { approve: true, by: 'alice', channel: 'elicitation' }), undefined);
    assert.equal(refuseDecider(self, { approve: true, by: 'carol', channel: 'cli' }), undefined, 'no named approver: anyone');
  });

  it('finds one id by a unique prefix of at least 4 hex digits, with or without its apr_/ap_ prefix', () => {
    const ids = ['apr_3f2a000000000001', 'apr_3f2b000000000002', 'ap_99aa0000'];
    assert.deepEqual(matchIdPrefix('3f2a', ids), { ok: true, id: ids[0] });
    assert.deepEqual(matchIdPrefix('apr_3f2b', ids), { ok: true, id: ids[1] });
    assert.deepEqual(matchIdPrefix('ap_99aa', ids), { ok: true, id: ids[2] });
    assert.equal((matchIdPrefix('3f2', ids) as { code: string }).code, 'not_found', 'too short');
    assert.equal((matchIdPrefix('3f2X', ids) as { code: string }).code, 'not_found', 'not hex');
    assert.equal((matchIdPrefix('apr_3f2', [...ids, 'apr_3f20']) as { code: string }).code, 'not_found');
    assert.equal((matchIdPrefix('apr_3f2a', [...ids, 'apr_3f2a99']) as { code: string }).code, 'ambiguous');
    assert.equal(bareApprovalId(newApprovalId()).length, 16);
  });
});
