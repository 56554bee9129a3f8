import { pino } from 'pino';
import type { Logger } from 'pino';
import type { LogLevel } from '../config/settings.js';

/** The process logger. Authorization headers and tokens never reach a log line. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'quick-im' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token'],
      censor: '[redacted]',
    },
  });
}
