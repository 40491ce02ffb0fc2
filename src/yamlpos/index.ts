// Front door of the yamlpos room: YAML read with the source position of every node, decoded
// as Intercept's yaml.v3 decodes it (policies, test files) or strictly (settings files).
export { closest, decodeAny, decodeBool, decodeInt, decodeMap, decodeSeq, decodeString, deref, isNullNode, kindName, offsetOf, scalarValue } from './node.js';
export type { DecodeContext, Field, Issue, UnknownKey, YNode } from './node.js';
export { FieldReader } from './fields.js';
export { issuesToErrors, readYaml } from './read.js';
export type { ReadYaml, SourceError } from './read.js';
export { formatGoFloat, formatV, NIL, resolvePlainScalar } from './value.js';
export type { GoValue } from './value.js';
