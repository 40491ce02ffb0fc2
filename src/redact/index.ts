// Front door of the redact room: the one secret detector for every place a
// human or a file sees a call's arguments (see README.md).
export { findSecrets, luhn, redactText } from './secrets.js';
export type { SecretMatch } from './secrets.js';
export { REDACTED, isSecretKey, parseRedactPath, redactValue } from './value.js';
export type { RedactOptions } from './value.js';
