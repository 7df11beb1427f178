// Durations and sizes as written in the YAML file. Durations follow Go's
// time.ParseDuration (what collector configs use: "5s", "1m30s", "250ms");
// a bare number other than 0 is refused, because Go would read it as
// nanoseconds and a reader would guess seconds or milliseconds.

// Microseconds as Go spells them: us, µs (U+00B5 micro sign) or μs (U+03BC Greek mu).
const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A Go duration string → milliseconds (may be fractional below 1 ms). */
export function parseDuration(text: string): Parsed<number> {
  const s = text.trim();
  if (s === '0' || s === '+0' || s === '-0') return { ok: true, value: 0 };
  if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) {
    return { ok: false, reason: `invalid duration "${text}": a unit is required, e.g. "${s}s" or "${s}ms"` };
  }
  const sign = s.startsWith('-') ? -1 : 1;
  let rest = s.replace(/^[+-]/, '');
  let total = 0;
  if (rest === '') return { ok: false, reason: `invalid duration "${text}"` };
  while (rest !== '') {
    const part = /^(\d+\.?\d*|\.\d+)([a-zµμ]+)/.exec(rest);
    if (!part) return { ok: false, reason: `invalid duration "${text}"` };
    const unit = Object.hasOwn(DURATION_UNIT_MS, part[2]!) ? DURATION_UNIT_MS[part[2]!] : undefined;
    if (unit === undefined) {
      return { ok: false, reason: `invalid duration "${text}": unknown unit "${part[2]}" (use ns, us, ms, s, m or h)` };
    }
    total += Number(part[1]) * unit;
    rest = rest.slice(part[0].length);
  }
  return { ok: true, value: sign * total };
}

// Case-insensitive, a trailing "b" optional ("k", "kb", "KiB"); a bare "b" is bytes.
const SIZE_UNIT: Readonly<Record<string, number>> = { '': 1, k: 1e3, m: 1e6, g: 1e9, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3 };

/** "64MiB", "1GB", "512 KiB" or a plain integer → bytes. */
export function parseSize(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  if (!m) return { ok: false, reason: `invalid size "${text}" (use bytes or a unit: 64MiB, 1GB)` };
  const unitText = m[2] ?? '';
  const key = unitText.toLowerCase().replace(/b$/, '');
  const unit = Object.hasOwn(SIZE_UNIT, key) ? SIZE_UNIT[key] : undefined;
  if (unit === undefined) {
    return { ok: false, reason: `invalid size "${text}": unknown unit "${unitText}" (use B, KB, MB, GB, KiB, MiB or GiB)` };
  }
  const value = Number(m[1]) * unit;
  if (!Number.isSafeInteger(Math.round(value))) return { ok: false, reason: `invalid size "${text}": too large` };
  return { ok: true, value: Math.round(value) };
}
