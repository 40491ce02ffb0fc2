// Front door of the events room: one sink interface, several sinks.
export type * from './types.js';
export { EVENT_FILE_PATTERN, JsonlEventSink, eventsDir, newInstanceId } from './jsonl.js';
export { toInterceptEvent } from './intercept-format.js';
export type { JsonlEventSinkOptions } from './jsonl.js';
export { MemorySink, MultiSink } from './sinks.js';
