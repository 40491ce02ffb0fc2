// Secret redaction for captured arguments. Arguments are not stored unless a
// policy opts in (`audit: {capture_args: true, redact: [args.card_number]}`);
// when they are, the listed paths are replaced, and secrets are always
// replaced, listed or not, by the shared detector (src/redact): API keys and
// tokens, private keys, JWTs, credentials in URLs and connection strings,
// card numbers, and every value under a key whose name says it is a secret.
import { REDACTED, isSecretKey, luhn, redactText, redactValue } from '../redact/index.js';

export { REDACTED, isSecretKey, luhn };

/** What a policy may say about the audit log (the `audit:` key of a policy file). */
export interface AuditCaptureConfig {
  /** Store the (redacted) arguments with each tool_call record. Default false. */
  captureArgs?: boolean;
  /** Paths to always redact, as written in a policy: `args.card_number`, `args.customer.*.ssn`. */
  redact?: readonly string[];
}

/** Replace every secret-looking part of a string. */
export const redactString = redactText;

/** A redacted deep copy of `args` (the listed paths, secret-named keys, secrets in strings). */
export function redactArgs(args: unknown, paths: readonly string[] = []): unknown {
  return redactValue(args, paths);
}

/** What to store for a call's arguments under a policy's audit settings: nothing unless capture is on. */
export function captureArgs(config: AuditCaptureConfig | undefined, args: unknown): unknown {
  if (!config?.captureArgs) return undefined;
  return redactArgs(args, config.redact ?? []);
}
