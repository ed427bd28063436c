import pino from 'pino';

/**
 * Logs go to stderr as JSON lines (pino), so stdout stays clean for a stdio mode.
 * Header values and env values are never passed to the logger.
 */
export type Logger = pino.Logger;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
