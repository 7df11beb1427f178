// The two line encodings, as logrus writes them (upstream kata-monitor uses
// logrus' TextFormatter with RFC3339Nano timestamps, no colours off a TTY).

import type { LogFields, LogLevel } from './logger.ts';

/** logrus' level names: warn is written "warning". */
function levelName(level: LogLevel): string {
  return level === 'warn' ? 'warning' : level;
}

/**
 * Go's time.RFC3339Nano: trailing zeros of the fraction dropped, and no
 * fraction at all on a whole second. Always UTC ("Z"): the same instant
 * reads the same on every node, whatever its time zone.
 */
export function formatTime(time: Date): string {
  const iso = time.toISOString(); // 2026-01-02T03:04:05.120Z
  return iso.replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

// Fields whose names would overwrite the fixed keys get logrus' "fields." prefix.
const FIXED = new Set(['time', 'level', 'msg']);

/** logrus TextFormatter: time="..." level=info msg="..." then fields sorted by key. */
export function textLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `time=${quoteIfNeeded(formatTime(time))} level=${levelName(level)} msg=${quoteIfNeeded(msg)}`;
  const keys = Object.keys(fields)
    .map((k) => [FIXED.has(k) ? `fields.${k}` : k, k] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [name, k] of keys) line += ` ${name}=${quoteIfNeeded(textValue(fields[k]))}`;
  return line + '\n';
}

/** logrus JSONFormatter: time, level, msg, then the fields; errors as their message. */
export function jsonLine(time: Date, level: LogLevel, msg: string, fields: LogFields): string {
  const out: Record<string, unknown> = { time: formatTime(time), level: levelName(level), msg };
  for (const k of Object.keys(fields).sort()) out[FIXED.has(k) ? `fields.${k}` : k] = jsonValue(fields[k]);
  try {
    return JSON.stringify(out) + '\n';
  } catch {
    // A cycle in some field: keep the line, lose only the structure.
    for (const k of Object.keys(out)) if (typeof out[k] === 'object' && out[k] !== null) out[k] = String(out[k]);
    return JSON.stringify(out) + '\n';
  }
}

// logrus needsQuoting: anything outside [a-zA-Z0-9-._/@^+] is quoted; the
// empty string is not (QuoteEmptyFields is off by default).
const PLAIN = /^[A-Za-z0-9\-._/@^+]*$/;

export function quoteIfNeeded(s: string): string {
  return PLAIN.test(s) ? s : goQuote(s);
}

const GO_ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' };

/** Go's %q (strconv.Quote) for the characters that occur in log values. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const escaped = GO_ESCAPES[ch];
    if (escaped !== undefined) out += escaped;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd'; // a lone surrogate: Go sees invalid UTF-8
    else out += ch;
  }
  return out + '"';
}

// fmt.Sprint's rendering for the values Go code would log.
function textValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof Error) return v.message;
  if (v instanceof Date) return formatTime(v);
  if (Array.isArray(v)) return `[${v.map(textValue).join(' ')}]`;
  if (typeof v === 'object') return jsonText(v);
  return String(v);
}

/** JSON with bigints as digits; String(v) for what JSON cannot say (a cycle, a function). */
export function jsonText(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

function jsonValue(v: unknown): unknown {
  if (v instanceof Error) return v.message;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return formatTime(v);
  if (v === undefined) return null;
  return v;
}
