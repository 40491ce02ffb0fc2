import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Chainer, computeHash, hashInput, verifyRecords } from './chain.js';
import { eventToFields } from './record.js';
import type { GatewayEvent } from '../events/types.js';
import type { AuditRecord } from './types.js';

function chain(instance: string, count: number, key?: Buffer, seqStart = 1): AuditRecord[] {
  const c = new Chainer(instance, key);
  const out: AuditRecord[] = [];
  for (let i = 0; i < count; i++) {
    const rec = c.next({ ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), kind: 'decision', tool: `t${i}`, decision: i % 2 ? 'denied' : 'allowed' });
    out.push({ ...rec, seq: seqStart + i });
  }
  return out;
}

/** Two chains interleaved in store order. */
function twoChains(): AuditRecord[] {
  const a = chain('A', 6);
  const b = chain('B', 4);
  const all = [...a, ...b];
  // interleave: A1 B1 A2 B2 ...
  const order = [a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], a[5]] as AuditRecord[];
  order.forEach((r, i) => (r.seq = i + 1));
  return all.sort((x, y) => x.seq! - y.seq!);
}

const resequence = (rs: AuditRecord[]) => rs.map((r, i) => ({ ...r, seq: i + 1 }));

describe('hash chain', () => {
  test('a clean log verifies', () => {
    const r = verifyRecords(twoChains());
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.records, 10);
    assert.equal(r.chains, 2);
  });

  test('each record links to the previous one and the first to the genesis hash', () => {
    const rs = chain('A', 3);
    assert.equal(rs[0]!.prev_hash, '0'.repeat(64));
    assert.equal(rs[1]!.prev_hash, rs[0]!.hash);
    assert.equal(rs[2]!.n, 3);
    assert.equal(computeHash(rs[2]!), rs[2]!.hash);
  });

  test('a changed record is named', () => {
    const rs = twoChains();
    const target = rs.find((r) => r.instance === 'A' && r.n === 3)!;
    target.decision = 'denied'; // was allowed
    const r = verifyRecords(rs);
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.kind, 'changed');
    assert.equal(r.problems[0]!.instance, 'A');
    assert.equal(r.problems[0]!.n, 3);
    assert.equal(r.problems[0]!.seq, target.seq);
  });

  test('a changed hash (rewritten to match new content, no key) is caught at the next link', () => {
    const rs = chain('A', 5);
    const t = rs[1]!;
    t.tool = 'other';
    t.hash = computeHash(t);
    const r = verifyRecords(rs);
    assert.equal(r.ok, false);
    assert.equal(r.problems[0]!.n, 3);
    assert.equal(r.problems[0]!.kind, 'changed');
  });

  test('a deleted record is named (the gap before the next record)', () => {
    const rs = twoChains().filter((r) => !(r.instance === 'A' && r.n === 4));
    const r = verifyRecords(rs);
    assert.equal(r.ok, false);
    assert.equal(r.problems[0]!.kind, 'deleted');
    assert.equal(r.problems[0]!.n, 5);
    assert.match(r.problems[0]!.message, /record #4 of instance A is missing/);
  });

  test('deleting the first records without a checkpoint is caught', () => {
    const rs = chain('A', 5).slice(2);
    const r = verifyRecords(rs);
    assert.equal(r.problems[0]!.kind, 'deleted');
    assert.match(r.problems[0]!.message, /#1\.\.#2.*no checkpoint/);
  });

  test('an inserted record (copy of another, in the middle) is named', () => {
    const rs = chain('A', 5);
    const copy = { ...rs[1]! };
    const tampered = resequence([rs[0]!, rs[1]!, rs[2]!, copy, rs[3]!, rs[4]!]);
    const r = verifyRecords(tampered);
    assert.equal(r.problems[0]!.kind, 'inserted');
    assert.equal(r.problems[0]!.seq, 4);
  });

  test('an inserted forged record is named, not the genuine one after it', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const rs = chain('A', 5, key);
    // The forger links it correctly but cannot make the HMAC.
    const forged: AuditRecord = { ...rs[2]!, tool: 'forged', prev_hash: rs[1]!.hash, n: 3, hash: 'f'.repeat(64) };
    const tampered = resequence([rs[0]!, rs[1]!, forged, rs[2]!, rs[3]!, rs[4]!]);
    const r = verifyRecords(tampered, { key });
    assert.equal(r.problems[0]!.kind, 'inserted');
    assert.equal(r.problems[0]!.seq, 3);
  });

  test('an inserted record at the end with a new position is named', () => {
    const rs = chain('A', 3);
    const forged: AuditRecord = { ...rs[2]!, n: 9, prev_hash: 'a'.repeat(64), hash: 'b'.repeat(64), seq: 4 };
    const r = verifyRecords([...rs, forged]);
    assert.equal(r.problems[0]!.kind, 'inserted');
    assert.equal(r.problems[0]!.seq, 4);
  });

  test('reordered records are named', () => {
    const rs = chain('A', 5);
    const tampered = resequence([rs[0]!, rs[1]!, rs[3]!, rs[2]!, rs[4]!]);
    const r = verifyRecords(tampered);
    assert.equal(r.problems[0]!.kind, 'reordered');
    assert.equal(r.problems[0]!.n, 4);
    assert.equal(r.problems[0]!.seq, 3);
  });

  test('with an HMAC key: verifies with the key, refuses without it, and a wrong key fails', () => {
    const key = Buffer.from('k'.repeat(32));
    const rs = chain('A', 3, key);
    assert.equal(verifyRecords(rs, { key }).ok, true);
    const nokey = verifyRecords(rs);
    assert.equal(nokey.ok, false);
    assert.equal(nokey.problems[0]!.kind, 'unverifiable');
    assert.equal(verifyRecords(rs, { key: Buffer.from('x'.repeat(32)) }).ok, false);
  });

  test('with a key, a chain rebuilt without it (downgrade to plain SHA-256) fails', () => {
    const key = Buffer.from('k'.repeat(32));
    const rs = chain('A', 3); // unkeyed
    const r = verifyRecords(rs, { key });
    assert.equal(r.ok, false);
    assert.equal(r.problems[0]!.n, 1);
  });

  test('a checkpoint anchors a pruned chain; pruning without one does not verify', () => {
    const a = chain('A', 6);
    const c = new Chainer('P');
    const cp = c.next({
      ts: '2026-01-02T00:00:00.000Z',
      kind: 'checkpoint',
      data: JSON.stringify({ anchors: [{ instance: 'A', through: 3, hash: a[2]!.hash }] }),
    });
    const kept = resequence([...a.slice(3), cp]);
    assert.equal(verifyRecords(kept).ok, true);
    // A changed checkpoint anchors nothing.
    const bad = kept.map((r) => (r.kind === 'checkpoint' ? { ...r, data: JSON.stringify({ anchors: [{ instance: 'A', through: 4, hash: a[3]!.hash }] }) } : r));
    const res = verifyRecords(bad);
    assert.equal(res.ok, false);
    assert.ok(res.problems.some((p) => p.instance === 'P' && p.kind === 'changed'));
    assert.ok(res.problems.some((p) => p.instance === 'A' && p.kind === 'deleted'));
  });

  test('record hashes are byte-for-byte those of earlier versions (golden chain, SHA-256 and HMAC)', () => {
    // Hashes computed by the version before the hot-path rewrite (commit d81914d); a change here breaks every existing store.
    const events: GatewayEvent[] = [
      { type: 'startup', ts: '2026-01-01T00:00:00.000Z', instance: 'golden-1', server: 'demo', pid: 42, policy_hash: 'cd'.repeat(32) },
      {
        type: 'tool_call',
        ts: '2026-01-01T00:00:01.000Z',
        instance: 'golden-1',
        session: 's1',
        identity: 'alice',
        tool: 'echo',
        request_id: 7,
        decision: 'allowed',
        outcome: 'ok',
        args_sha256: 'ab'.repeat(32),
        policy_hash: 'cd'.repeat(32),
        latency_ms: 1.25,
        decision_ms: 0.5,
        protocol_version: '2025-06-18',
        args: { message: 'héllo 😀 "q"\n', token: 'x' },
      },
      {
        type: 'tool_call',
        ts: '2026-01-01T00:00:02.000Z',
        instance: 'golden-1',
        tool: 'delete_customer',
        request_id: 'x',
        decision: 'denied',
        reason: 'rule',
        rule: 'no deletes',
        rule_pointer: 'tools/delete_customer/rules/0',
        message: 'Deleting\tcustomers is not permitted \u0001',
        args_sha256: 'ef'.repeat(32),
      },
      {
        type: 'approval_requested',
        ts: '2026-01-01T00:00:03.000Z',
        instance: 'golden-1',
        tool: 'create_charge',
        approval_id: 'ap_1',
        expires_at: '2026-01-01T00:05:03.000Z',
      },
    ];
    const hashes = (key?: Buffer) => {
      const c = new Chainer('golden-1', key);
      return events.map((e) => c.next(eventToFields(e)).hash);
    };
    assert.deepEqual(hashes(), [
      '7ee6dbc67f75b8ab5d003b736689901f565d568c6fdec57a0ed066cddedcc079',
      '98f44514ac037ab56dc958a0152df0d0350c6b51d299438b810db95f8ea484c8',
      '53c7fdd48ea3a7957f1a44e14e2d34b2e0f15b7d797bad4203a781222d5fa57d',
      'a99796e239d736bcff53690d6596c6194ad021696986be12bcf6e034c47e48dd',
    ]);
    assert.deepEqual(hashes(Buffer.from('0123456789abcdef0123456789abcdef')), [
      '1bed29c86d49affa6942c64328a6e6fc49fe2193af82fb6d9c3ce1495ae8a0ce',
      '36b6500dfed675dfbe4a63a079533b59433009f8a0a7b57530697d705b290cac',
      '6f72bff782f825a940716328ac4a9574099334dda4f95a27dcf465b4c183a8be',
      '8a97930973f400db34d2fe9fda1035dfb98b3578ca21938d98e8c9ff882b2c65',
    ]);
  });

  test('lastJson is the record as JSON (fields without a value left out) and parses back to it', () => {
    for (const key of [undefined, Buffer.from('k'.repeat(32))]) {
      const c = new Chainer('J', key);
      const recs = [
        c.next({ ts: '2026-01-01T00:00:00.000Z', kind: 'startup' }),
        c.next({
          ts: 't',
          kind: 'decision',
          session: null,
          tool: 'é😀"\\\n\u0001',
          request_id: '"x"',
          latency_ms: 0.1 + 0.2,
          data: '{"a":1}',
          message: undefined,
        }),
        c.next({ ts: 't', kind: 'checkpoint', data: JSON.stringify({ anchors: [] }) }),
      ];
      for (const [i, rec] of recs.entries()) {
        const c2 = new Chainer('J', key, i === 0 ? undefined : { n: recs[i - 1]!.n, hash: recs[i - 1]!.hash });
        const again = c2.next(rec);
        assert.equal(again.hash, rec.hash);
        const parsed = JSON.parse(c2.lastJson) as Record<string, unknown>;
        const expected = Object.fromEntries(Object.entries(rec).filter(([, v]) => v !== undefined && v !== null));
        assert.deepEqual(parsed, expected);
        assert.equal(c2.lastJson, `${hashInput(rec).slice(0, -1)},"hash":"${rec.hash}"}`);
        assert.equal(computeHash(parsed as never, key), rec.hash, 'a record read back from its JSON verifies');
      }
    }
  });
});
