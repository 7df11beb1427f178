// Byte values the text-format grammar (scan.ts) and the writers of the
// /metrics hot path (samples.ts, label-block.ts) compare against.

export const TAB = 9;
export const NL = 10;
export const SP = 32;
export const QUOTE = 34;
export const HASH = 35;
export const PLUS = 43;
export const COMMA = 44;
export const MINUS = 45;
export const DOT = 46;
const COLON = 58;
export const EQ = 61;
export const BACKSLASH = 92;
const UNDERSCORE = 95;
export const LBRACE = 123;
export const RBRACE = 125;

// Character classes of the text format's names, as a lookup table: one load
// per character on the hot paths. Codes past 255 (or NaN) are in no class.
// bit 1: [a-zA-Z_:] starts a metric name; 2: [a-zA-Z0-9_:] continues it;
// 4: [a-zA-Z_] starts a label name; 8: [a-zA-Z0-9_] continues it.
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alpha = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === UNDERSCORE;
  const digit = c >= 48 && c <= 57;
  CLASS[c] = (alpha || c === COLON ? 1 | 2 : 0) | (digit ? 2 | 8 : 0) | (alpha ? 4 | 8 : 0);
}

export function isMetricNameStart(c: number): boolean {
  return ((CLASS[c] ?? 0) & 1) !== 0;
}
export function isMetricNameChar(c: number): boolean {
  return ((CLASS[c] ?? 0) & 2) !== 0;
}
export function isLabelNameStart(c: number): boolean {
  return ((CLASS[c] ?? 0) & 4) !== 0;
}
export function isLabelNameChar(c: number): boolean {
  return ((CLASS[c] ?? 0) & 8) !== 0;
}
