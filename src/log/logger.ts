// Structured logging with logrus' levels and two encodings: JSON (one object a
// line, for log pipelines) and logrus' text format (for upstream users' greps).

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const;
export type LogLevel = (typeof LEVELS)[number];
export type LogFormat = 'json' | 'text';
export type LogFields = Readonly<Record<string, unknown>>;

const RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, panic: 6 };

export function parseLogLevel(text: string): LogLevel | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'warning') return 'warn';
  return (LEVELS as readonly string[]).includes(t) ? (t as LogLevel) : undefined;
}

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'json';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < min) return;
    const all = fields ? { ...base, ...fields } : base;
    write(format === 'json' ? jsonLine(now(), lvl, msg, all) : textLine(now(), lvl, msg, all));
  };
  return {
    level,
    enabled: (lvl) => RANK[lvl] >= min,
    log: emit,
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = createLogger({ level: 'panic', write: () => {} });

function fieldValue(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  return v;
}

function jsonLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const out: Record<string, unknown> = { time: time.toISOString(), level: level === 'warn' ? 'warning' : level, msg };
  for (const [k, v] of Object.entries(fields)) out[k in out ? `fields.${k}` : k] = fieldValue(v);
  return JSON.stringify(out) + '\n';
}

// logrus TextFormatter without colours: time="..." level=info msg="..." key=value
function textLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `time=${quoteIfNeeded(time.toISOString())} level=${level === 'warn' ? 'warning' : level} msg=${quoteIfNeeded(msg)}`;
  for (const k of Object.keys(fields).sort()) {
    const v = fieldValue(fields[k]);
    line += ` ${k}=${quoteIfNeeded(typeof v === 'string' ? v : JSON.stringify(v) ?? String(v))}`;
  }
  return line + '\n';
}

function quoteIfNeeded(s: string): string {
  return /^[A-Za-z0-9\-._/@^+:]+$/.test(s) ? s : JSON.stringify(s);
}
