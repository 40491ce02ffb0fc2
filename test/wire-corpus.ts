// The corpus of issue 16's wire shapes: the bypass tests send each one
// (wire.e2e.test.ts), and the fuzzer starts from them (fuzz.e2e.test.ts).

export const DEEP = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
export const call = (id: string, params: string) => `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":${params}}`;

/** Shapes that a Go-decoding server reads as a denied, hidden or over-cap call. */
export const GO_BYPASSES: Array<[string, string]> = [
  ['"Method" beside "method"', '{"jsonrpc":"2.0","id":"b1","method":"ping","Method":"tools/call","params":{"name":"delete_file","arguments":{"path":"/etc"}}}'],
  ['"ID" instead of "id"', '{"jsonrpc":"2.0","ID":"b2","method":"tools/call","params":{"name":"delete_file","arguments":{"path":"/etc"}}}'],
  ['"Name" beside "name"', call('b3', '{"name":"echo","Name":"delete_file","arguments":{"path":"/etc"}}')],
  ['"Arguments" beside "arguments"', call('b4', '{"name":"transfer","arguments":{"amount":1},"Arguments":{"amount":5000}}')],
  ['"Amount" beside "amount"', call('b5', '{"name":"transfer","arguments":{"amount":1,"Amount":5000}}')],
  ['"To" where a deny rule reads "to"', call('b6', '{"name":"transfer","arguments":{"amount":1,"To":"offshore"}}')],
  ['a response carrying "Method"', '{"jsonrpc":"2.0","id":"b7","result":{},"Method":"tools/call","Params":{"name":"delete_file","arguments":{}}}'],
  [
    'a "PARAMS" object',
    '{"jsonrpc":"2.0","id":"b8","method":"tools/call","params":{"name":"echo","arguments":{}},"PARAMS":{"name":"delete_file","arguments":{}}}',
  ],
  ['a case variant of a denied tool', call('b9', '{"name":"Delete_File","arguments":{"path":"/etc"}}')],
  ['a case variant of a hidden tool', call('b10', '{"name":"SECRET","arguments":{}}')],
  ['a tools/call notification', '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_file","arguments":{"path":"/etc"}}}'],
  [
    'a tools/call notification in a batch',
    '[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_file","arguments":{}}},{"jsonrpc":"2.0","id":"b12","method":"ping"}]',
  ],
];

/** Shapes that crashed the process. */
export const CRASHES: Array<[string, string]> = [
  ['1e309 in the arguments', call('c1', '{"name":"echo","arguments":{"x":1e309}}')],
  ['-1e309 nested in the arguments', call('c2', '{"name":"echo","arguments":{"x":[{"y":-1e309}]}}')],
  ['arguments nested 5,000 deep', call('c3', `{"name":"echo","arguments":${DEEP}}`)],
  ['a batch element nested 5,000 deep', `[${call('c4', `{"name":"echo","arguments":${DEEP}}`)}]`],
  ['an id of 1e309', '{"jsonrpc":"2.0","id":1e309,"method":"tools/call","params":{"name":"echo","arguments":{}}}'],
  // JSON escapes can carry a lone surrogate, which canonical JSON (RFC 8785) refuses: hashing the call's arguments must not throw.
  ['a lone surrogate in the arguments', call('c5', '{"name":"echo","arguments":{"x":"\\ud800","y":["\\udc00a"]}}')],
];

/** Shapes that a first-key-wins server reads as another call. */
export const DUPLICATES: Array<[string, string]> = [
  ['two "method" keys', '{"jsonrpc":"2.0","id":"d1","method":"tools/call","params":{"name":"delete_file","arguments":{}},"method":"ping"}'],
  ['two "name" keys', call('d2', '{"name":"delete_file","name":"echo","arguments":{}}')],
  ['two "amount" keys', call('d3', '{"name":"transfer","arguments":{"amount":5000,"amount":1}}')],
  ['a duplicate written as an escape', call('d4', '{"name":"transfer","arguments":{"amount":5000,"\\u0061mount":1}}')],
];
