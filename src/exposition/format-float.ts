// Float formatting exactly as Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which
// expfmt uses for every sample value. Both Go and ECMAScript produce the
// shortest digit string that round-trips, so only the layout differs: Go's 'g'
// with shortest precision switches to exponent form when the decimal exponent
// is < -4 or >= 6 (JS switches at >= 21), and writes at least two exponent
// digits (`1e+06`, `1e-05`).

/** `strconv.FormatFloat(v, 'g', -1, 64)`: `+Inf`, `-Inf`, `NaN`, `-0`, `1e+06`. */
export function formatFloat(v: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const abs = v < 0 ? -v : v;
  // [1e-4, 1e6) is exactly the range whose shortest form has exponent in
  // [-4, 5]: there Go's %f layout and JS's default layout coincide.
  if (abs >= 1e-4 && abs < 1e6) return String(v);
  if (v !== v) return 'NaN';
  if (abs === Infinity) return v > 0 ? '+Inf' : '-Inf';
  return exponentForm(v);
}

/**
 * expfmt's writeFloat: like formatFloat but 0 and -0 both print as `0`
 * (it special-cases `f == 0`, which is true for -0 too).
 */
export function writeFloat(v: number): string {
  // Small integers dominate real bodies; String() is right for them.
  if (v === 0) return '0';
  return formatFloat(v);
}

function exponentForm(v: number): string {
  // toExponential() without an argument yields the shortest round-trip
  // digits, as "d.ddde+N" / "de-N".
  const s = v.toExponential();
  const e = s.indexOf('e');
  const sign = s.charCodeAt(e + 1) === 45 /* - */ ? '-' : '+';
  const digits = s.slice(e + 2);
  return s.slice(0, e + 1) + sign + (digits.length < 2 ? '0' + digits : digits);
}
