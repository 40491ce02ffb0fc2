export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * `--log-level` as Intercept reads it: case-insensitive (`DEBUG`, `Warn`); any other
 * word means info there, silently. toolgate accepts it too, but says so on stderr.
 */
export function parseLogLevelFlag(value: string): LogLevel {
  const lower = value.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  process.stderr.write(`toolgate: unknown --log-level ${JSON.stringify(value)}; using info (the levels are ${LOG_LEVELS.join(', ')})\n`);
  return 'info';
}
