// Numbers of the text format as Go's expfmt reads and writes them
// (src/exposition/float.ts): values and le/quantile bounds through
// parseGoFloat (strconv.ParseFloat without hex or underscores), timestamps
// through parseGoInt (strconv.ParseInt), values written by formatFloat
// (expfmt's writeFloat), and isGoFloatText / isGoIntText, which tell
// whether a number is already spelled as Go would write it (a body whose
// numbers all are can be copied as it is).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { formatFloat, goUint64, isGoFloatText, isGoIntText, parseGoFloat, parseGoInt } from '../../src/exposition/float.ts';
import * as float from '../../src/exposition/float.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const parse = (s: string): number | undefined => parseGoFloat(bytes(s), 0, s.length);
const parseInt64 = (s: string): number | undefined => parseGoInt(bytes(s), 0, s.length);
const goSpelled = (s: string, v: number): boolean => isGoFloatText(bytes(s), 0, s.length, v);

// Expected outputs of Go's expfmt writeFloat: strconv.FormatFloat(v, 'g', -1, 64), with 0 and -0 as "0".
const GO_CASES: readonly (readonly [number, string])[] = [
  [0, '0'],
  [-0, '0'],
  [1, '1'],
  [-1, '-1'],
  [0.5, '0.5'],
  [100000, '100000'],
  [999999, '999999'],
  [1e6, '1e+06'],
  [1234567, '1.234567e+06'],
  [17699380, '1.769938e+07'],
  [4.101001596e9, '4.101001596e+09'],
  [123456.7, '123456.7'],
  [0.0001, '0.0001'],
  [0.00012345, '0.00012345'],
  [0.00001, '1e-05'],
  [8.90474992338568e-5, '8.90474992338568e-05'],
  [-1.5e-7, '-1.5e-07'],
  [1e21, '1e+21'],
  [1e100, '1e+100'],
  [2 ** 53, '9.007199254740992e+15'],
  [2 ** 53 + 2, '9.007199254740994e+15'],
  [1.8446744073709552e19, '1.8446744073709552e+19'],
  [5e-324, '5e-324'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [-1.7976931348623157e308, '-1.7976931348623157e+308'],
  [2.2250738585072014e-308, '2.2250738585072014e-308'],
  [0.1 + 0.2, '0.30000000000000004'],
  [1.7049178109327023e9, '1.7049178109327023e+09'],
  [0.02540286876604194, '0.02540286876604194'],
  [Infinity, '+Inf'],
  [-Infinity, '-Inf'],
  [NaN, 'NaN'],
];

// ---- formatFloat: expfmt's writeFloat ----

test("formatFloat writes what Go's writeFloat writes: strconv 'g' shortest, 0 and -0 as 0", () => {
  for (const [v, want] of GO_CASES) assert.equal(formatFloat(v), want, `formatFloat(${v})`);
});

test('the exponent form has a sign and at least two digits; it is used exactly when exp < -4 or exp >= 6', () => {
  for (let e = -12; e <= 25; e++) {
    const v = Number(`3e${e}`);
    const s = formatFloat(v);
    if (e < -4 || e >= 6) {
      assert.match(s, /^3e[+-]\d{2,3}$/, `3e${e}`);
      assert.equal(Number(s.slice(2)), e);
    } else {
      assert.doesNotMatch(s, /e/, `3e${e}`);
    }
  }
});

/** Random doubles: any bit pattern (finite), and everyday magnitudes where the fixed form applies. */
function randomDoubles(n: number): number[] {
  const raw = randomBytes(8 * n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = view.getFloat64(i * 8, true);
    if (Number.isFinite(x)) out.push(x);
    out.push((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 16 - 6));
  }
  return out;
}

test('round trip: what formatFloat writes reads back as the same double', () => {
  const xs = randomDoubles(20000);
  for (const x of xs) {
    const s = formatFloat(x);
    assert.ok(Object.is(parse(s), x === 0 ? 0 : x), `${x} → ${s}`);
    assert.ok(Object.is(Number(s), x === 0 ? 0 : x), `${x} → ${s}`);
    assert.match(s, /^-?(\d+(\.\d+)?|\d(\.\d+)?e[+-]\d{2,3})$/, s);
  }
  assert.ok(xs.length > 30000);
});

// ---- parseGoFloat: expfmt's parseFloat ----

test('values read exactly as Number() reads them: short and long mantissas, exponents, signs', () => {
  const values = [
    '0', '-0', '0.0', '-0.0', '7', '00012', '12345.678', '0.1', '0.30000000000000004', '123456789012345', '999999999999999',
    '1234567890123456', '9007199254740993', '18446744073709551615', '4.101001596e+09', '1.769938e+07', '8.90474992338568e-05',
    '1.6682515279389917e-05', '1e22', '1e23', '1.5E-22', '3e-23', '.5', '5.', '.5e1', '5.e-1', '2.2250738585072014e-308',
    '5e-324', '1.7976931348623157e308', '0.000001234', '-12.5e3', '+7', '+.5', '1e-400', '1E+0006',
  ];
  for (const v of values) assert.ok(Object.is(parse(v), Number(v)), `value ${v}`);
  assert.equal(parse('9007199254740993'), 9007199254740992, 'rounded like strconv.ParseFloat');
  assert.equal(parse('1e-400'), 0, 'an underflow is not an error in Go');
});

test('Inf, Infinity and NaN are read in any case; Inf takes a sign, NaN does not', () => {
  for (const s of ['Inf', 'inf', '+Inf', '+inf', 'INF', 'Infinity', '+infinity', 'INFINITY']) assert.equal(parse(s), Infinity, s);
  for (const s of ['-Inf', '-inf', '-Infinity', '-INFINITY']) assert.equal(parse(s), -Infinity, s);
  for (const s of ['NaN', 'nan', 'NAN', 'nAn']) assert.ok(Number.isNaN(parse(s)), s);
  for (const s of ['+NaN', '-NaN', 'Infin', 'infinit', 'in', 'Info']) assert.equal(parse(s), undefined, s);
});

test('what strconv.ParseFloat refuses is refused: no hex, no underscores, no overflow, no blanks, nothing empty', () => {
  for (const s of ['', '1.2.3', '1e', '1e+', '-', '+', '.', '-.', '1-2', '+-1', '--1', '1ee5', '0x10', '0x1p3', '1_000', '1e400', '-1e400', ' 4', '4 ', '1\r', 'e5', '1e5.5']) {
    assert.equal(parse(s), undefined, JSON.stringify(s));
  }
});

test('a value is read between the offsets it is given', () => {
  const b = bytes('x 12.5 7\n');
  assert.equal(parseGoFloat(b, 2, 6), 12.5);
  assert.equal(parseGoFloat(b, 2, 4), 12);
  assert.equal(parseGoFloat(b, 7, 8), 7);
});

// ---- isGoFloatText: is this spelling the one Go writes? ----

test('the spellings Go writes are recognised as such; every other spelling of the same number is not', () => {
  for (const [v, text] of GO_CASES) assert.ok(goSpelled(text, v), `${text} is how Go writes ${v}`);
  const others: readonly (readonly [string, number])[] = [
    ['1.0', 1], ['+1', 1], ['01', 1], ['1e0', 1], ['1.', 1], ['-0', 0], ['0.0', 0], ['.5', 0.5], ['0.50', 0.5], ['5e-1', 0.5],
    ['1000000', 1e6], ['1e6', 1e6], ['1E+06', 1e6], ['1e+6', 1e6], ['1e+006', 1e6], ['10e+05', 1e6], ['0.00001', 1e-5], ['1e-5', 1e-5],
    ['123456.70', 123456.7], ['inf', Infinity], ['Inf', Infinity], ['+inf', Infinity], ['Infinity', Infinity], ['-inf', -Infinity],
    ['nan', NaN], ['NAN', NaN], ['9007199254740993', 9007199254740992], ['0.30000000000000004441', 0.1 + 0.2], ['100000.0', 100000],
  ];
  for (const [text, v] of others) assert.ok(!goSpelled(text, v), `${text} is not how Go writes ${v}`);
});

test('for any spelling of any double, isGoFloatText says whether it is exactly formatFloat of its value, and parseGoFloat reports the same', () => {
  let checked = 0;
  for (const x of randomDoubles(5000)) {
    const spellings = new Set([
      formatFloat(x), String(x), x.toExponential(), x.toExponential().toUpperCase(), x.toPrecision(17), x.toPrecision(16),
      `+${formatFloat(x)}`, formatFloat(x).replace(/e([+-])0?(\d)$/, 'e$1$2'), formatFloat(x).replace(/^(-?)(\d)/, '$10$2'),
      formatFloat(x).includes('.') ? `${formatFloat(x)}0` : `${formatFloat(x)}.0`,
      Math.abs(x) < 1e21 ? x.toFixed(3) : formatFloat(x),
    ]);
    for (const s of spellings) {
      const v = parse(s);
      if (v === undefined) continue;
      const expected = s === formatFloat(v);
      assert.equal(goSpelled(s, v), expected, `isGoFloatText(${s})`);
      // parseGoFloat leaves the same verdict in goFloatTextIsCanonical (read by the scanner for every value).
      assert.equal(float.goFloatTextIsCanonical, expected, `goFloatTextIsCanonical after parsing ${s}`);
      checked++;
    }
  }
  assert.ok(checked > 40000, `${checked} spellings checked`);
});

// ---- timestamps: strconv.ParseInt and writeInt ----

test('timestamps are read as Go reads an int64: a sign is allowed, the range is int64, nothing else', () => {
  assert.equal(parseInt64('1704917810932'), 1704917810932);
  assert.equal(parseInt64('+5'), 5);
  assert.equal(parseInt64('-5'), -5);
  assert.equal(parseInt64('007'), 7);
  assert.equal(parseInt64('0'), 0);
  assert.equal(parseInt64('9223372036854775807'), 9223372036854775807);
  assert.equal(parseInt64('-9223372036854775808'), -9223372036854775808);
  for (const s of ['', '+', '-', '1.5', '1e3', '0x10', '1_000', '9223372036854775808', '-9223372036854775809', ' 1', '1 ']) {
    assert.equal(parseInt64(s), undefined, JSON.stringify(s));
  }
});

test("a timestamp is spelled as Go's writeInt spells it: no '+', no leading zero, no -0", () => {
  for (const s of ['0', '5', '-5', '1704917810932', '-9223372036854775808']) assert.ok(isGoIntText(bytes(s), 0, s.length), s);
  for (const s of ['+5', '05', '-05', '-0', '00', '+0']) assert.ok(!isGoIntText(bytes(s), 0, s.length), s);
});

// ---- counts: Go's uint64(float64) on amd64 ----

test("histogram and summary counts become what Go's uint64(v) makes of the value on amd64", () => {
  assert.equal(goUint64(3), 3);
  assert.equal(goUint64(2.9), 2, 'truncated');
  assert.equal(goUint64(0.5), 0);
  assert.equal(goUint64(-0.5), 0);
  assert.equal(goUint64(-1), 2 ** 64 - 1, 'a negative count wraps around 2^64');
  assert.equal(goUint64(-(2 ** 63)), 2 ** 63);
  assert.equal(goUint64(2 ** 63), 2 ** 63);
  assert.equal(goUint64(1.8e19), 1.8e19, 'in range');
  for (const v of [NaN, Infinity, -Infinity, 2 ** 64, 1e30, -1e30]) assert.equal(goUint64(v), 2 ** 63, `${v}: the conversion's "indefinite"`);
});
