import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, formatSseEvent, type SseEvent } from './sse-parse.js';

function parseAll(chunks: Array<string | Uint8Array>): { events: SseEvent[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e));
  for (const c of chunks) parser.push(c);
  return { events, parser };
}

test('multi-line data joins with newlines, one space after the colon is dropped', () => {
  const { events } = parseAll(['data: line one\ndata:line two\ndata:  three\n\n']);
  assert.deepEqual(events, [{ event: 'message', data: 'line one\nline two\n three', id: '' }]);
});

test('CRLF, CR and LF line endings, split across chunks (including a CR|LF split)', () => {
  const { events } = parseAll(['event: a\r', '\ndata: 1\r\r', 'data: 2\n', '\n', 'data: 3\r\n\r\n']);
  assert.deepEqual(
    events.map((e) => [e.event, e.data]),
    [
      ['a', '1'],
      ['message', '2'],
      ['message', '3'],
    ],
  );
});

test('ids persist, ids with NUL are ignored, retry takes digits only, comments and unknown fields are skipped', () => {
  const { events, parser } = parseAll([': comment\nid: 7\nretry: 1500\nfoo: bar\ndata: x\n\nid: bad\u0000\nretry: 12a\ndata: y\n\n']);
  assert.deepEqual(
    events.map((e) => [e.id, e.data]),
    [
      ['7', 'x'],
      ['7', 'y'],
    ],
  );
  assert.equal(parser.retry, 1500);
  assert.equal(parser.lastEventId, '7');
});

test('an event with no data line is not dispatched, but its id is kept (priming event)', () => {
  const { events, parser } = parseAll(['id: prime-1\ndata\n\nid: only-id\n\n']);
  // `data` with no colon is a data line with an empty value: dispatched.
  assert.deepEqual(events, [{ event: 'message', data: '', id: 'prime-1' }]);
  assert.equal(parser.lastEventId, 'only-id');
});

test('a BOM at the start is dropped; UTF-8 split inside a character is decoded whole', () => {
  const bytes = Buffer.from('\ufeffdata: héllo\n\n', 'utf8');
  const cut = bytes.indexOf(0xc3) + 1; // inside "é"
  const { events } = parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
  assert.deepEqual(
    events.map((e) => e.data),
    ['héllo'],
  );
});

test('an incomplete event at the end of the stream is discarded', () => {
  const events: SseEvent[] = [];
  const p = new SseParser((e) => events.push(e));
  p.push('data: complete\n\ndata: cut off');
  p.end();
  assert.deepEqual(
    events.map((e) => e.data),
    ['complete'],
  );
});

test('formatSseEvent round-trips through the parser', () => {
  const text = formatSseEvent({ event: 'endpoint', id: '3', data: 'a\nb\r\nc' }) + formatSseEvent({ data: '{"x":1}' });
  const { events } = parseAll([text]);
  assert.deepEqual(events, [
    { event: 'endpoint', data: 'a\nb\nc', id: '3' },
    { event: 'message', data: '{"x":1}', id: '3' },
  ]);
});
