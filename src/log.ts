import pino from 'pino';
import { redact } from './secrets/redact.js';

/**
 * Logs go to stderr as JSON lines (pino), so stdout stays clean for a stdio mode. Lines are written
 * asynchronously: one synchronous write per audit line was the gateway's largest own cost per call
 * (bench/profile-invoke.ts). A line waits only while an earlier write is in flight, and whatever waits
 * is written out when the process exits (pino.destination's exit hook flushes synchronously).
 * Every line passes through redact() on its way out: a registered secret is replaced by «redacted:NAME»
 * whatever field, message or error text carries it.
 */
export type Logger = pino.Logger;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where log lines go: one write per line. */
export interface LogDestination {
  write(line: string): unknown;
}

export function createLogger(level: LogLevel = 'info', destination: LogDestination = pino.destination({ fd: 2, sync: false })): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, redacting(destination));
}

/** The destination behind a redacting write: pino hands it each line whole. */
function redacting(destination: LogDestination): LogDestination {
  return { write: (line: string) => destination.write(redact(line)) };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
