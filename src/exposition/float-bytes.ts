// A sample value or bound as the bytes of a body hold it (already validated
// by the scrape index, scrape/relabel.ts), parsed as Go's strconv.ParseFloat
// would: plain decimals computed in place, the rest (±Inf, NaN, long
// mantissas) through a string.

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

export function floatAt(b: Buffer, start: number, end: number): number {
  let i = start;
  const neg = b[i] === 45; // -
  if (neg || b[i] === 43) i++;
  let m = 0;
  let digits = 0;
  let scale = 0;
  let d = 0;
  while (i < end && (d = b[i]! - 48) >= 0 && d <= 9) {
    m = m * 10 + d;
    digits++;
    i++;
  }
  if (i < end && b[i] === 46) {
    i++;
    while (i < end && (d = b[i]! - 48) >= 0 && d <= 9) {
      m = m * 10 + d;
      digits++;
      scale++;
      i++;
    }
  }
  // Clinger's fast path: below 10^15 the mantissa is exact, and so is 10^k for k <= 22.
  if (i === end && digits > 0 && digits <= 15 && scale <= 22) {
    const v = scale === 0 ? m : m / POW10[scale]!;
    return neg ? -v : v;
  }
  return slowFloat(b.toString('latin1', start, end));
}

function slowFloat(s: string): number {
  const t = s.toLowerCase();
  const body = t.charCodeAt(0) === 43 || t.charCodeAt(0) === 45 ? t.slice(1) : t;
  if (body === 'inf' || body === 'infinity') return t.charCodeAt(0) === 45 ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
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
