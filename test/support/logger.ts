// A logger whose records a test can read: what a part reports only through
// its log (a root it cannot watch, a push left incomplete) is asserted on
// these.

import { createLogger, type Logger } from '../../src/log/logger.ts';

export interface LogRecord {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A logger that keeps its records (JSON lines, parsed). */
export function recordingLogger(level: 'debug' | 'info' | 'warn' = 'debug'): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = createLogger({ level, format: 'json', write: (line) => records.push(JSON.parse(line) as LogRecord) });
  return { logger, records };
}
