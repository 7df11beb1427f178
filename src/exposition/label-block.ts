// The label block of a canonical sample line (`a="x",b="y"`, no blanks, as
// Go's encoder writes it): walked pair by pair without building strings.

import { BACKSLASH, QUOTE } from './chars.ts';

// A block is walked without a callback, for the loops that see every label
// of every point: a name runs from i to labelNameEnd (the `=`), its value from
// 2 bytes on to labelValueEnd (the closing quote), and the next pair starts 2
// bytes after that. Bounded by e: a wrong range must end the walk, never spin
// past the buffer.

/** Where the label name starting at b[i] ends. */
export function labelNameEnd(b: Buffer, i: number, e: number): number {
  while (i < e && b[i] !== 61 /* = */) i++;
  return i;
}

/** Where the label value starting at b[i] ends, escapes skipped. */
export function labelValueEnd(b: Buffer, i: number, e: number): number {
  while (i < e && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
  return i;
}

/** A label value as written (escaped) → its text. */
export function unescapeLabelValue(b: Buffer, vs: number, ve: number): string {
  const raw = b.toString('utf8', vs, ve);
  return raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * Two 26-bit hashes (FNV-1a, djb2) of b[s, e) in one double, exact: what
 * identifies a series by its label bytes.
 */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 5381;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = (Math.imul(h2, 33) + c) | 0;
  }
  return (h1 >>> 6) * 0x4000000 + (h2 >>> 6);
}
