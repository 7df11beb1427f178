// Structured logging with logrus' levels and two encodings: JSON (one object a
// line, for log pipelines) and logrus' text format (for upstream users' greps).

import { jsonLine, textLine } from './format.ts';
import { RateLimiter, type RateLimitOptions } from './rate-limit.ts';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const;
export type LogLevel = (typeof LEVELS)[number];
export type LogFormat = 'json' | 'text';
export type LogFields = Readonly<Record<string, unknown>>;

const RANK = Object.fromEntries(LEVELS.map((l, i) => [l, i])) as Record<LogLevel, number>;

/** logrus.ParseLevel's names ("warning" too), any case; undefined if unknown. */
export function parseLogLevel(text: string): LogLevel | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'warning') return 'warn';
  return (LEVELS as readonly string[]).includes(t) ? (t as LogLevel) : undefined;
}

export interface Logger {
  enabled(level: LogLevel): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (and shares the rate limit). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  /**
   * Repeated identical lines (level, message and fields) are written at most
   * once per interval; the next one carries `suppressed=N`. Off when absent.
   */
  rateLimit?: RateLimitOptions;
  /** Lines to leave out, judged on their level and all their fields (before the rate limit). */
  drop?: (level: LogLevel, fields: LogFields) => boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return build(options, options.rateLimit ? new RateLimiter(options.rateLimit) : undefined, {});
}

function build(options: LoggerOptions, limiter: RateLimiter | undefined, base: LogFields): Logger {
  const level = options.level ?? 'info';
  const encode = (options.format ?? 'json') === 'json' ? jsonLine : textLine;
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < min) return;
    let all = fields ? { ...base, ...fields } : base;
    if (options.drop?.(lvl, all)) return;
    const time = new Date();
    if (limiter) {
      const verdict = limiter.check(lvl, msg, all, time.getTime());
      if (!verdict.write) return;
      if (verdict.suppressed > 0) all = { ...all, suppressed: verdict.suppressed };
    }
    write(encode(time, lvl, msg, all));
  };
  return {
    enabled: (lvl) => RANK[lvl] >= min,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => build(options, limiter, { ...base, ...fields }),
  };
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = createLogger({ level: 'panic', write: () => {} });
