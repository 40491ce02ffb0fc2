// Front door of the guards room: secrets and personal data in arguments and
// results, and cross-server taint (see README.md).
export { checkArguments, checkResult } from './gate.js';
export type { ArgsVerdict, GuardContext, GuardRecord, ResultVerdict } from './gate.js';
export { detect, DETECTOR_IMPLS } from './detectors.js';
export type { Finding } from './detectors.js';
export { scanValue } from './scan.js';
export { TaintStore, sharedTaint, decodings } from './taint.js';
