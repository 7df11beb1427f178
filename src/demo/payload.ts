// Realistic, changing shim /metrics bodies for the demo mode, tests and the
// benchmark. Built from the two recorded shim bodies in test/fixtures: each
// call advances one tick, in which counters grow, gauges wander around their
// recorded value, histograms take observations (buckets stay cumulative and
// the +Inf bucket equals _count) and summaries keep their quantiles ordered.
// Values are written as Go's expfmt writes them.
//
// Cheap per call (it runs for every simulated shim on every scrape): the
// fixture is parsed once into literal text split at the value positions, and
// a call only updates a Float64Array and formats the numbers.

import { existsSync, readFileSync } from 'node:fs';
import { packagePath } from '../package-info.ts';
import { formatFloat } from '../exposition/float.ts';
import { Sample, roleOf, sampleValue, specialValue } from '../exposition/samples.ts';
import { scanBody } from '../exposition/scan.ts';

export type FixtureName = 'a' | 'b';

export interface ShimPayloadOptions {
  /** Which recorded body to start from; by default chosen by the seed. */
  readonly fixture?: FixtureName;
}

export class FixtureNotFoundError extends Error {
  override readonly name = 'FixtureNotFoundError';
}

/**
 * A generator of shim bodies: every call returns the next body. Different
 * seeds give different (but equally valid) bodies; the same seed repeats.
 */
export function createShimPayload(seed: number | string, options: ShimPayloadOptions = {}): () => string {
  const rng = mulberry32(hashSeed(seed));
  const template = loadTemplate(options.fixture ?? (rng() < 0.5 ? 'a' : 'b'));
  const state = new PayloadState(template, rng);
  return () => {
    state.tick();
    return state.render();
  };
}

// ---- template -------------------------------------------------------------

interface Slot {
  readonly kind: 'counter' | 'gauge' | 'const' | 'histogram' | 'summary';
  readonly initial: number;
  /** Decimal places to round to; -1 keeps full precision. */
  readonly decimals: number;
}

/** One histogram or summary series of the template: where its values are. */
interface Series {
  /** Bucket or quantile slots, ascending, and their le / quantile. */
  readonly slots: number[];
  readonly bounds: number[];
  /** -1: none. */
  sumSlot: number;
  countSlot: number;
}

interface Template {
  /** parts[i] precedes value i; the last part follows the last value. */
  readonly parts: readonly string[];
  readonly slots: readonly Slot[];
  readonly histograms: readonly Series[];
  readonly summaries: readonly Series[];
}

const templates = new Map<FixtureName, Template>();

function loadTemplate(name: FixtureName): Template {
  let t = templates.get(name);
  if (!t) {
    const file = packagePath('test', 'fixtures', `shim-metrics-${name}.prom`);
    if (!existsSync(file)) {
      throw new FixtureNotFoundError(`demo payload fixture ${file} is missing: the demo mode needs test/fixtures/ from the source tree`);
    }
    t = parseTemplate(readFileSync(file));
    templates.set(name, t);
  }
  return t;
}

// Gauges that do not move in a real shim: build info, limits, start times.
const CONSTANT_GAUGE = /(_info|_start_time_seconds|_max_fds|_max_bytes|_last_gc_time_seconds)$/;

function parseTemplate(fixture: Buffer): Template {
  const { body, rec, heads, runs, samples } = scanBody(fixture);
  const familyOf = new Int32Array(samples);
  for (let o = 0; o < runs.length; o += 3) familyOf.fill(runs[o]!, runs[o + 1]!, runs[o + 2]!);
  const parts: string[] = [];
  const slots: Slot[] = [];
  const series = new Map<string, Series>();
  const histograms: Series[] = [];
  const summaries: Series[] = [];
  const s = new Sample();
  let at = 0;
  for (let r = 0; r < samples; r++) {
    s.read(rec, r);
    const { name, type } = heads[familyOf[r]!]!;
    const value = sampleValue(body, s);
    let kind: Slot['kind'];
    if (type === 'histogram' || type === 'summary') {
      kind = type;
      // A series is its labels as written without le / quantile. An unlabelled
      // series' buckets or quantiles (`{}`) have always grouped apart from its
      // _sum and _count: kept, so that a seed's payloads stay the same.
      const key = name + (s.ls >= 0 ? `{${body.toString('latin1', s.ls, s.le)}}` : s.ss >= 0 ? '{}' : '');
      let g = series.get(key);
      if (!g) {
        g = { slots: [], bounds: [], sumSlot: -1, countSlot: -1 };
        series.set(key, g);
        (type === 'histogram' ? histograms : summaries).push(g);
      }
      const role = roleOf(body, s, true);
      if (role === 'special') {
        g.slots.push(slots.length);
        g.bounds.push(specialValue(body, s));
      } else if (role === 'sum') g.sumSlot = slots.length;
      else g.countSlot = slots.length;
    } else if (type === 'counter') {
      kind = 'counter';
    } else {
      kind = CONSTANT_GAUGE.test(name) || value === 0 || !Number.isFinite(value) ? 'const' : 'gauge';
    }
    slots.push({ kind, initial: value, decimals: decimalsOf(body.toString('latin1', s.vs, s.ve), value) });
    parts.push(body.toString('latin1', at, s.vs));
    at = s.ve;
  }
  parts.push(body.toString('latin1', at));
  return { parts, slots, histograms, summaries };
}

/** Round like the recorded value: integers stay integers, 178.04 keeps two places. */
function decimalsOf(token: string, value: number): number {
  if (Number.isInteger(value)) return 0;
  const dot = token.indexOf('.');
  if (dot < 0 || token.includes('e')) return -1;
  const d = token.length - dot - 1;
  return d <= 6 ? d : -1;
}

// ---- state ----------------------------------------------------------------

interface HistogramGroup extends Series {
  /** Non-cumulative counts: where new observations land, weighted by the past. */
  readonly counts: number[];
  readonly weights: number[];
  sum: number;
  count: number;
  readonly integerSum: boolean;
}

class PayloadState {
  readonly #t: Template;
  readonly #rng: () => number;
  readonly #values: Float64Array;
  /** Per gauge: a bounded random walk in [-1, 1] and the seed-shifted base. */
  readonly #walk: Float64Array;
  readonly #base: Float64Array;
  /** Per counter: mean increment per tick. */
  readonly #rate: Float64Array;
  readonly #counters: number[] = [];
  readonly #gauges: number[] = [];
  readonly #histograms: readonly HistogramGroup[];
  /** Literal parts interleaved with formatted values, and the values they show. */
  readonly #pieces: string[];
  readonly #rendered: Float64Array;

  constructor(t: Template, rng: () => number) {
    this.#t = t;
    this.#rng = rng;
    const n = t.slots.length;
    this.#values = new Float64Array(n);
    this.#walk = new Float64Array(n);
    this.#base = new Float64Array(n);
    this.#rate = new Float64Array(n);
    this.#rendered = new Float64Array(n);
    // A packed array of strings: join() is fastest on it.
    this.#pieces = t.parts.flatMap((p, i) => (i < n ? [p, ''] : [p]));
    for (let i = 0; i < n; i++) {
      const s = t.slots[i]!;
      let v = s.initial;
      if (s.kind === 'counter' && v > 0) {
        // Sandboxes of different ages: scale the recorded totals.
        v = round(v * (0.5 + rng()), s.decimals);
        // At least one unit of the recorded precision, or rounding would freeze it.
        this.#rate[i] = s.decimals === 0 ? Math.max(1, Math.round(v * 0.0005)) : Math.max(v * 0.0005, s.decimals > 0 ? 2 * 10 ** -s.decimals : 0);
        this.#counters.push(i);
      } else if (s.kind === 'gauge') {
        this.#base[i] = v * (0.9 + 0.2 * rng());
        this.#walk[i] = 2 * rng() - 1;
        this.#gauges.push(i);
        v = this.#gauge(i, s.decimals);
      } else if (s.kind === 'summary') {
        this.#base[i] = v;
      }
      this.#values[i] = v;
    }
    const initial = (slot: number): number => (slot < 0 ? 0 : t.slots[slot]!.initial);
    this.#histograms = t.histograms.map((g) => {
      const counts = g.slots.map((slot, j) => initial(slot) - (j === 0 ? 0 : initial(g.slots[j - 1]!)));
      // Observations land where they landed before, with a little spread.
      const weights = counts.map((c) => c + 0.05);
      return { ...g, counts, weights, sum: initial(g.sumSlot), count: initial(g.countSlot), integerSum: g.sumSlot < 0 || t.slots[g.sumSlot]!.decimals === 0 };
    });
    // Age the histograms a little so every seed starts elsewhere.
    const warmup = Math.floor(rng() * 30);
    for (let k = 0; k < warmup; k++) for (const g of this.#histograms) this.#observe(g);
  }

  tick(): void {
    const rng = this.#rng;
    const v = this.#values;
    const slots = this.#t.slots;
    for (const i of this.#counters) {
      if (rng() < 0.8) v[i] = round(v[i]! + this.#rate[i]! * (0.5 + rng()), slots[i]!.decimals);
    }
    for (const i of this.#gauges) {
      this.#step(i);
      v[i] = this.#gauge(i, slots[i]!.decimals);
    }
    for (const g of this.#histograms) if (rng() < 0.6) this.#observe(g);
    for (const g of this.#t.summaries) this.#summary(g);
  }

  render(): string {
    // Re-format only values that moved since the last call (most histogram
    // buckets and every constant do not), then one join: a flat string.
    const v = this.#values;
    const last = this.#rendered;
    const pieces = this.#pieces;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x !== last[i] || pieces[2 * i + 1] === '') {
        last[i] = x;
        pieces[2 * i + 1] = formatFloat(x);
      }
    }
    return pieces.join('');
  }

  /** One step of slot i's bounded random walk; the new position. */
  #step(i: number): number {
    const w = this.#walk[i]! + (this.#rng() - 0.5) * 0.4;
    this.#walk[i] = w > 1 ? 1 : w < -1 ? -1 : w;
    return this.#walk[i]!;
  }

  #gauge(i: number, decimals: number): number {
    // ±5 % around the base: memory, fds, threads move but do not drift away.
    const x = this.#base[i]! * (1 + 0.05 * this.#walk[i]!);
    return decimals === 0 ? Math.max(0, Math.round(x)) : round(x, decimals);
  }

  #observe(g: HistogramGroup): void {
    const rng = this.#rng;
    const n = 1 + Math.floor(rng() * 3);
    let total = 0;
    for (const w of g.weights) total += w;
    for (let k = 0; k < n; k++) {
      let r = rng() * total;
      let b = 0;
      while (b < g.weights.length - 1 && (r -= g.weights[b]!) > 0) b++;
      g.counts[b]!++;
      const hi = g.bounds[b]!;
      const lo = b === 0 ? 0 : g.bounds[b - 1]!;
      const top = Number.isFinite(hi) ? hi : lo * 2;
      const x = lo + (top - lo) * rng();
      g.sum += g.integerSum ? Math.round(x) : x;
    }
    g.count += n;
    const v = this.#values;
    let cum = 0;
    for (let j = 0; j < g.slots.length; j++) {
      cum += g.counts[j]!;
      v[g.slots[j]!] = cum;
    }
    if (g.sumSlot >= 0) v[g.sumSlot] = g.sum;
    // With a +Inf bucket, _count is exactly the last cumulative bucket.
    if (g.countSlot >= 0) v[g.countSlot] = g.bounds[g.bounds.length - 1] === Infinity ? cum : g.count;
  }

  #summary(g: Series): void {
    const rng = this.#rng;
    const v = this.#values;
    // Each quantile wanders ±20 % around its recorded value; sorting keeps them ordered.
    const qs = g.slots.map((slot) => this.#base[slot]! * (1 + 0.2 * this.#step(slot)));
    qs.sort((a, b) => a - b);
    for (let j = 0; j < qs.length; j++) v[g.slots[j]!] = qs[j]!;
    if (rng() < 0.5 && g.countSlot >= 0) {
      const n = 1 + Math.floor(rng() * 2);
      v[g.countSlot] = v[g.countSlot]! + n;
      const median = qs[qs.length >> 1] ?? 0;
      if (g.sumSlot >= 0) v[g.sumSlot] = v[g.sumSlot]! + n * median;
    }
  }
}

function round(x: number, decimals: number): number {
  if (decimals < 0) return x;
  if (decimals === 0) return Math.round(x);
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

function hashSeed(seed: number | string): number {
  const s = String(seed);
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Small, fast, seedable PRNG: payloads must be reproducible per seed. */
function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
