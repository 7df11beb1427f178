// Numbers of the text format, read and written as Go's expfmt does: one
// reader for sample values and le/quantile bounds (expfmt's parseFloat, i.e.
// strconv.ParseFloat without hex or underscores), one for timestamps
// (strconv.ParseInt), and the writer (expfmt's writeFloat: strconv 'g' with
// the shortest digits). `isGoFloatText` tells whether a value is already
// written as Go would write it, so that a body can be copied as it is.

import { DOT, MINUS, PLUS } from './chars.ts';

/** 10^k for k <= 22: exact doubles, written as literals (10 ** k need not be exact). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * Set by parseGoFloat: whether the text it read is exactly how Go's
 * writeFloat writes that value (see isGoFloatText). A second result kept
 * here rather than in an object: this runs for every sample of every body.
 */
export let goFloatTextIsCanonical = false;

/**
 * b[s, e) as Go's expfmt parses a float, or undefined where it would refuse:
 * [+-] digits [. digits] [(e|E) [+-] digits], or Inf/Infinity (signed) and
 * NaN (unsigned) in any case; an overflow (1e400) is an error, an underflow
 * is 0. Plain decimals of up to 15 digits are computed in place, exactly as
 * Number() would (Clinger's fast path: the mantissa and 10^k are exact
 * doubles, so one multiplication or division rounds correctly).
 */
export function parseGoFloat(b: Buffer, s: number, e: number): number | undefined {
  let i = s;
  const c0 = i < e ? b[i]! : 0;
  const neg = c0 === MINUS;
  if (neg || c0 === PLUS) i++;
  const intStart = i;
  let m = 0;
  let d = 0;
  while (i < e && (d = b[i]! - 48) >= 0 && d <= 9) {
    m = m * 10 + d;
    i++;
  }
  const intDigits = i - intStart;
  let scale = 0;
  if (i < e && b[i] === DOT) {
    i++;
    while (i < e && (d = b[i]! - 48) >= 0 && d <= 9) {
      m = m * 10 + d;
      scale++;
      i++;
    }
  }
  const digits = intDigits + scale;
  if (digits === 0) {
    const v = special(b, s, e);
    goFloatTextIsCanonical = v !== undefined && isGoFloatText(b, s, e, v);
    return v;
  }
  let exp = 0;
  let hasExp = false;
  if (i < e && (b[i]! | 0x20) === 101 /* e */) {
    hasExp = true;
    i++;
    const c = i < e ? b[i]! : 0;
    const expNeg = c === MINUS;
    if (expNeg || c === PLUS) i++;
    const expStart = i;
    while (i < e && (d = b[i]! - 48) >= 0 && d <= 9) {
      if (exp < 100_000) exp = exp * 10 + d;
      i++;
    }
    if (i === expStart) return undefined;
    if (expNeg) exp = -exp;
  }
  if (i !== e) return undefined;
  const k = exp - scale;
  let v: number;
  if (digits <= 15 && k >= -22 && k <= 22) {
    v = k === 0 ? m : k > 0 ? m * POW10[k]! : m / POW10[-k]!;
    if (neg) v = -v;
  } else {
    // The syntax is checked: Number() rounds correctly, as Go does.
    v = Number(b.toString('latin1', s, e));
    if (v === Infinity || v === -Infinity) return undefined;
  }
  // The common shape decided here: an integer or a short decimal without
  // exponent, sign '+' or needless zeros. Anything else: the full check.
  if (!hasExp && c0 !== PLUS && v !== 0 && digits <= 15 && intDigits > 0 && intDigits <= 6 && b[intStart] !== 48 && (scale === 0 ? i === intStart + intDigits : b[e - 1] !== 48)) {
    goFloatTextIsCanonical = true;
  } else {
    goFloatTextIsCanonical = isGoFloatText(b, s, e, v);
  }
  return v;
}

/** Inf, +Inf, -Infinity, NaN… in any case, as Go's strconv.ParseFloat takes them (no sign on NaN). */
function special(b: ArrayLike<number>, s: number, e: number): number | undefined {
  let i = s;
  const c = b[i];
  const sign = c === PLUS || c === MINUS;
  if (sign) i++;
  const n = e - i;
  if (n === 3 && isWord(b, i, 'nan')) return sign ? undefined : NaN;
  if ((n === 3 && isWord(b, i, 'inf')) || (n === 8 && isWord(b, i, 'infinity'))) return c === MINUS ? -Infinity : Infinity;
  return undefined;
}

function isWord(b: ArrayLike<number>, i: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) if ((b[i + k]! | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/**
 * Whether b[s, e), which parsed to `v`, is exactly what Go's writeFloat
 * writes for `v`: NaN, +Inf, -Inf, 0, and otherwise the shortest digits in
 * %f layout for decimal exponents -4..5 (`0.0001`, `123456`) and %e layout
 * outside (`1e+06`, `1.5e-05`, at least two exponent digits). Checked on the
 * text: with at most 15 significant digits and no trailing zero the digits
 * are the shortest that round-trip; longer ones are compared with the
 * formatted value.
 */
export function isGoFloatText(b: ArrayLike<number>, s: number, e: number, v: number): boolean {
  if (v !== v) return e - s === 3 && b[s] === 78 && b[s + 1] === 97 && b[s + 2] === 78; // NaN
  if (v === Infinity || v === -Infinity) return e - s === 4 && b[s] === (v > 0 ? PLUS : MINUS) && b[s + 1] === 73 && b[s + 2] === 110 && b[s + 3] === 102;
  if (v === 0) return e - s === 1 && b[s] === 48;
  let i = s;
  if (b[i] === MINUS) i++;
  const intStart = i;
  while (i < e && b[i]! >= 48 && b[i]! <= 57) i++;
  const intEnd = i;
  let fracStart = -1;
  let fracEnd = -1;
  if (i < e && b[i] === DOT) {
    fracStart = ++i;
    while (i < e && b[i]! >= 48 && b[i]! <= 57) i++;
    fracEnd = i;
    // A fraction is written only when it has digits, the last one not zero.
    if (fracEnd === fracStart || b[fracEnd - 1] === 48) return false;
  }
  let significant: number;
  if (i < e) {
    // %e: one non-zero digit before the point, then e, a sign and 2+ digits (no padding beyond two).
    if (b[i] !== 101 || intEnd - intStart !== 1 || b[intStart] === 48) return false;
    const sign = b[i + 1];
    if (sign !== PLUS && sign !== MINUS) return false;
    const es = i + 2;
    let exp = 0;
    for (i = es; i < e; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) return false;
      exp = exp * 10 + d;
    }
    if (e - es < 2 || (e - es > 2 && b[es] === 48)) return false;
    if (sign === MINUS) exp = -exp;
    if (exp >= -4 && exp < 6) return false;
    // Subnormals hold fewer digits than 15: their shortest form is checked by formatting.
    significant = exp < -307 ? 16 : 1 + (fracStart < 0 ? 0 : fracEnd - fracStart);
  } else if (intEnd - intStart === 1 && b[intStart] === 48) {
    // 0.000ddd: the exponent is -1 to -4, so at most three zeros after the point.
    if (fracStart < 0) return false;
    let z = fracStart;
    while (b[z] === 48) z++;
    if (z - fracStart > 3) return false;
    significant = fracEnd - z;
  } else {
    // ddd[.ddd]: no leading zero, exponent below 6.
    const n = intEnd - intStart;
    if (n === 0 || n > 6 || b[intStart] === 48) return false;
    if (fracStart < 0) {
      let t = intEnd;
      while (t > intStart + 1 && b[t - 1] === 48) t--;
      significant = t - intStart;
    } else {
      significant = n + fracEnd - fracStart;
    }
  }
  if (significant <= 15) return true;
  if (significant > 17) return false;
  const text = formatFloat(v);
  if (text.length !== e - s) return false;
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) !== b[s + k]) return false;
  return true;
}

/**
 * What Go's uint64(v) gives on amd64 (histogram and summary counts are
 * stored as uint64), as the double Go then formats: values in range
 * truncate, negative ones from -2^63 wrap around 2^64, and NaN, ±Inf and
 * everything else out of range becomes 2^63 (the conversion's "indefinite").
 */
export function goUint64(v: number): number {
  const t = Math.trunc(v);
  if (t === 0) return 0;
  if (t > 0 && t < 2 ** 64) return t;
  if (t < 0 && t >= -(2 ** 63)) return 2 ** 64 + t;
  return 2 ** 63;
}

/**
 * Go's strconv.ParseInt(s, 10, 64) on b[s, e): the value (exact up to 2^53,
 * nearest beyond), or undefined where Go refuses it. `canonical` is set to
 * whether Go's writeInt would write the same text.
 */
export function parseGoInt(b: Buffer, s: number, e: number): number | undefined {
  let i = s;
  const c0 = b[i];
  if (c0 === PLUS || c0 === MINUS) i++;
  if (i >= e) return undefined;
  let v = 0;
  for (let j = i; j < e; j++) {
    const d = b[j]! - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  if (e - i > 18) {
    const big = BigInt(b.toString('latin1', s, e));
    if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
    return Number(big);
  }
  return c0 === MINUS ? -v : v;
}

/** Whether a timestamp that parsed is written as Go's writeInt writes it: no '+', no leading zero, no -0. */
export function isGoIntText(b: ArrayLike<number>, s: number, e: number): boolean {
  let i = s;
  if (b[i] === PLUS) return false;
  if (b[i] === MINUS) i++;
  return b[i] !== 48 || (e - i === 1 && i === s);
}

/**
 * expfmt's writeFloat: strconv.FormatFloat(v, 'g', -1, 64) with 0 (and -0)
 * as `0`. Both Go and ECMAScript produce the shortest digits that
 * round-trip; only the layout differs: Go switches to the exponent form when
 * the decimal exponent is < -4 or >= 6 (JS: >= 21) and writes at least two
 * exponent digits (`1e+06`, `1e-05`).
 */
export function formatFloat(v: number): string {
  if (v === 0) return '0';
  const abs = v < 0 ? -v : v;
  // [1e-4, 1e6) is exactly the range whose shortest form has exponent in
  // [-4, 5]: there Go's %f layout and JS's default layout coincide.
  if (abs >= 1e-4 && abs < 1e6) return String(v);
  if (v !== v) return 'NaN';
  if (abs === Infinity) return v > 0 ? '+Inf' : '-Inf';
  const t = v.toExponential();
  const at = t.indexOf('e');
  const digits = t.slice(at + 2);
  return t.slice(0, at + 1) + (t.charCodeAt(at + 1) === MINUS ? '-' : '+') + (digits.length < 2 ? '0' + digits : digits);
}
