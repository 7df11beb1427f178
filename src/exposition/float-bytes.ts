// A sample value or bound as the bytes of a body hold it (already validated
// by the scrape index, scrape/relabel.ts), read as Go's strconv.ParseFloat
// would: plain decimals in place (decimal.ts), the rest (±Inf, NaN, a sign,
// long mantissas) through a string.

import { decimalAt } from './decimal.ts';

export function floatAt(b: Buffer, start: number, end: number): number {
  const v = decimalAt(b, start, end, NOT_PLAIN);
  return v === v ? v : general(b.toString('latin1', start, end));
}

const NOT_PLAIN = (): number => NaN;

function general(s: string): number {
  const t = s.toLowerCase();
  const sign = t.charCodeAt(0) === 43 || t.charCodeAt(0) === 45;
  const word = sign ? t.slice(1) : t;
  if (word === 'inf' || word === 'infinity') return t.charCodeAt(0) === 45 ? -Infinity : Infinity;
  if (word === 'nan') return NaN;
  return Number(s);
}

/** An integer timestamp (ms), `-` allowed. */
export function intAt(b: Buffer, start: number, end: number): number {
  let i = start;
  const neg = b[i] === 45;
  if (neg) i++;
  let v = 0;
  for (; i < end; i++) v = v * 10 + (b[i]! - 48);
  return neg ? -v : v;
}
