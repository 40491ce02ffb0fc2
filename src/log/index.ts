// Logging: pino, always to stderr (stdout belongs to the MCP protocol in stdio mode).
// JSON lines for machines (the default when stderr is a pipe or a file), or
// readable text for a person at a terminal (pino-pretty, loaded only then).
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import { LOG_LEVELS, type LogFormat } from './levels.js';

export type { Logger } from 'pino';
export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './levels.js';

const requireCjs = createRequire(import.meta.url);

/** Text on a terminal, JSON otherwise (an MCP client's pipe, a log file, a container's log driver). */
export function defaultLogFormat(stderrIsTTY: boolean = process.stderr.isTTY === true): LogFormat {
  return stderrIsTTY ? 'text' : 'json';
}

export function createLogger(level: string = 'info', format: string = defaultLogFormat()): Logger {
  const lvl = (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info';
  const options = { name: 'toolgate', level: lvl, base: { pid: process.pid } };
  if (format === 'text') {
    const { PinoPretty } = requireCjs('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      PinoPretty({ destination: 2, colorize: process.stderr.isTTY === true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }),
    );
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
