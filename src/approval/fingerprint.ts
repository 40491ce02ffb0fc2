// What an approval releases: one call, named by a fingerprint. Intercept binds
// an approval to the canonical JSON of the arguments (keys sorted, also inside
// arrays), the rule and the policy revision; toolgate adds the tool and the
// calling identity, so an approval for alice's call does not release bob's.
import { createHash } from 'node:crypto';

export interface FingerprintInput {
  tool: string;
  identity?: string;
  rule: string;
  rulePointer: string;
  /** The policy revision (its hash). */
  policyHash: string;
  /** SHA-256 of the canonical JSON of the arguments (RFC 8785: keys sorted at every depth). */
  argsSha256: string;
}

export function approvalFingerprint(f: FingerprintInput): string {
  // A JSON array of strings is unambiguous (no field can run into the next).
  const form = JSON.stringify(['toolgate-approval-v1', f.tool, f.identity ?? null, f.rule, f.rulePointer, f.policyHash, f.argsSha256]);
  return createHash('sha256').update(form).digest('hex');
}
