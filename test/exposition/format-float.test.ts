import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { formatFloat, writeFloat } from '../../src/exposition/format-float.ts';

// Expected outputs of Go's strconv.FormatFloat(v, 'g', -1, 64).
const GO_CASES: readonly (readonly [number, string])[] = [
  [0, '0'],
  [-0, '-0'],
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

test('formatFloat matches Go strconv.FormatFloat(v, \'g\', -1, 64)', () => {
  for (const [v, want] of GO_CASES) assert.equal(formatFloat(v), want, `formatFloat(${v})`);
});

test('writeFloat is expfmt\'s writeFloat: -0 prints as 0, everything else as formatFloat', () => {
  assert.equal(writeFloat(-0), '0');
  assert.equal(writeFloat(0), '0');
  for (const [v, want] of GO_CASES) if (v !== 0) assert.equal(writeFloat(v), want);
});

test('exponent form has a sign and at least two digits; it is used exactly when exp < -4 or exp >= 6', () => {
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

test('round trip: Number(formatFloat(x)) is x for random doubles', () => {
  const bytes = randomBytes(8 * 20000);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    const x = view.getFloat64(i * 8, true);
    if (!Number.isFinite(x)) continue;
    const s = formatFloat(x);
    assert.ok(Object.is(Number(s), x), `${x} → ${s}`);
    assert.match(s, /^-?(\d+(\.\d+)?|\d(\.\d+)?e[+-]\d{2,3})$/, s);
    checked++;
  }
  // Also random values of everyday magnitudes, where the fixed form applies.
  for (let i = 0; i < 20000; i++) {
    const x = (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 16 - 6);
    assert.ok(Object.is(Number(formatFloat(x)), x), `${x}`);
    checked++;
  }
  assert.ok(checked > 30000);
});
