// Logging: pino, always to stderr (stdout belongs to the MCP protocol in stdio mode).
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';
import { LOG_LEVELS } from './levels.js';

export { LOG_LEVELS, type LogLevel } from './levels.js';

export function createLogger(level: string = 'info'): Logger {
  const lvl = (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info';
  return pino({ name: 'toolgate', level: lvl, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
