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

type SlotKind = 'counter' | 'gauge' | 'const' | 'bucket' | 'hsum' | 'hcount' | 'quantile' | 'ssum' | 'scount';

interface Slot {
  readonly kind: SlotKind;
  readonly initial: number;
  /** Decimal places to round to; -1 keeps full precision. */
  readonly decimals: number;
  /** Histogram/summary series this slot belongs to. */
  readonly group: number;
  /** `le` for buckets, the quantile for quantiles. */
  readonly bound: number;
}

interface Template {
  /** parts[i] precedes value i; the last part follows the last value. */
  readonly parts: readonly string[];
  readonly slots: readonly Slot[];
  readonly groupCount: number;
}

const templates = new Map<FixtureName, Template>();

function loadTemplate(name: FixtureName): Template {
  let t = templates.get(name);
  if (!t) {
    const file = packagePath('test', 'fixtures', `shim-metrics-${name}.prom`);
    if (!existsSync(file)) {
      throw new FixtureNotFoundError(`demo payload fixture ${file} is missing: the demo mode needs test/fixtures/ from the source tree`);
    }
    t = parseTemplate(readFileSync(file, 'utf8'));
    templates.set(name, t);
  }
  return t;
}


// Gauges that do not move in a real shim: build info, limits, start times.
const CONSTANT_GAUGE = /(_info|_start_time_seconds|_max_fds|_max_bytes|_last_gc_time_seconds)$/;

function parseTemplate(text: string): Template {
  const parts: string[] = [];
  const slots: Slot[] = [];
  const groups = new Map<string, number>();
  let literal = '';
  let family = '';
  let type = 'untyped';
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE ')) {
        const [, , name = '', t = 'untyped'] = line.split(' ');
        family = name;
        type = t;
      }
      literal += line + '\n';
      continue;
    }
    const nameEnd = endOfNameAndLabels(line);
    let valueStart = nameEnd;
    while (line.charCodeAt(valueStart) === 32) valueStart++;
    let valueEnd = line.indexOf(' ', valueStart);
    if (valueEnd < 0) valueEnd = line.length;
    const token = line.slice(valueStart, valueEnd);
    const value = token === '+Inf' ? Infinity : token === '-Inf' ? -Infinity : Number(token);
    const series = line.slice(0, nameEnd);
    const sampleName = series.includes('{') ? series.slice(0, series.indexOf('{')) : series;
    const suffix = sampleName.slice(family.length);
    let kind: SlotKind;
    let bound = 0;
    let group = -1;
    if (type === 'histogram' || type === 'summary') {
      // One series = the sample's labels without le / quantile.
      const key = family + labelsWithout(series.slice(sampleName.length), type === 'histogram' ? 'le' : 'quantile');
      group = groups.get(key) ?? groups.size;
      groups.set(key, group);
      if (type === 'histogram') {
        kind = suffix === '_bucket' ? 'bucket' : suffix === '_sum' ? 'hsum' : 'hcount';
        if (kind === 'bucket') bound = parseBound(labelValue(series, 'le'));
      } else {
        kind = suffix === '_sum' ? 'ssum' : suffix === '_count' ? 'scount' : 'quantile';
        if (kind === 'quantile') bound = Number(labelValue(series, 'quantile'));
      }
    } else if (type === 'counter') {
      kind = 'counter';
    } else {
      kind = CONSTANT_GAUGE.test(family) || value === 0 || !Number.isFinite(value) ? 'const' : 'gauge';
    }
    parts.push(literal + line.slice(0, valueStart));
    slots.push({ kind, initial: value, decimals: decimalsOf(token, value), group, bound });
    literal = line.slice(valueEnd) + '\n';
  }
  parts.push(literal);
  return { parts, slots, groupCount: groups.size };
}

/** Index just past the metric name and its `{...}`, skipping quoted label values. */
function endOfNameAndLabels(line: string): number {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  if (line[i] !== '{') return i;
  let quoted = false;
  for (i++; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '}') return i + 1;
  }
  return i;
}

function labelsWithout(labels: string, name: string): string {
  return labels.replace(new RegExp(`,?${name}="[^"]*"`), '');
}

function labelValue(series: string, name: string): string {
  const m = new RegExp(`[{,]${name}="([^"]*)"`).exec(series);
  return m?.[1] ?? '';
}

function parseBound(s: string): number {
  return s === '+Inf' ? Infinity : Number(s);
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

interface HistogramGroup {
  readonly buckets: number[]; // slot indices, ascending le
  readonly bounds: number[];
  /** Non-cumulative counts: where new observations land, weighted by the past. */
  readonly counts: number[];
  readonly weights: number[];
  sum: number;
  count: number;
  sumSlot: number;
  countSlot: number;
  integerSum: boolean;
}

interface SummaryGroup {
  readonly quantiles: number[]; // slot indices, ascending quantile
  sumSlot: number;
  countSlot: number;
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
  readonly #histograms: HistogramGroup[] = [];
  readonly #summaries: SummaryGroup[] = [];
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
    this.#pieces = [];
    for (let i = 0; i < n; i++) this.#pieces.push(t.parts[i]!, '');
    this.#pieces.push(t.parts[n]!);
    const hist = new Map<number, HistogramGroup>();
    const summ = new Map<number, SummaryGroup>();
    for (let i = 0; i < n; i++) {
      const s = t.slots[i]!;
      let v = s.initial;
      switch (s.kind) {
        case 'counter':
          if (v > 0) {
            // Sandboxes of different ages: scale the recorded totals.
            v = round(v * (0.5 + rng()), s.decimals);
            // At least one unit of the recorded precision, or rounding would freeze it.
            this.#rate[i] = s.decimals === 0 ? Math.max(1, Math.round(v * 0.0005)) : Math.max(v * 0.0005, s.decimals > 0 ? 2 * 10 ** -s.decimals : 0);
            this.#counters.push(i);
          }
          break;
        case 'gauge':
          this.#base[i] = v * (0.9 + 0.2 * rng());
          this.#walk[i] = 2 * rng() - 1;
          this.#gauges.push(i);
          v = this.#gauge(i, s.decimals);
          break;
        case 'bucket':
        case 'hsum':
        case 'hcount': {
          let g = hist.get(s.group);
          if (!g) {
            g = { buckets: [], bounds: [], counts: [], weights: [], sum: 0, count: 0, sumSlot: -1, countSlot: -1, integerSum: true };
            hist.set(s.group, g);
            this.#histograms.push(g);
          }
          if (s.kind === 'bucket') {
            g.buckets.push(i);
            g.bounds.push(s.bound);
          } else if (s.kind === 'hsum') {
            g.sumSlot = i;
            g.sum = v;
            g.integerSum = s.decimals === 0;
          } else {
            g.countSlot = i;
            g.count = v;
          }
          break;
        }
        case 'quantile':
        case 'ssum':
        case 'scount': {
          let g = summ.get(s.group);
          if (!g) {
            g = { quantiles: [], sumSlot: -1, countSlot: -1 };
            summ.set(s.group, g);
            this.#summaries.push(g);
          }
          if (s.kind === 'quantile') {
            g.quantiles.push(i);
            this.#base[i] = v;
          }
          else if (s.kind === 'ssum') g.sumSlot = i;
          else g.countSlot = i;
          break;
        }
        case 'const':
          break;
      }
      this.#values[i] = v;
    }
    for (const g of this.#histograms) {
      let prev = 0;
      for (const slot of g.buckets) {
        const cum = t.slots[slot]!.initial;
        g.counts.push(cum - prev);
        prev = cum;
      }
      // Observations land where they landed before, with a little spread.
      for (const c of g.counts) g.weights.push(c + 0.05);
    }
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
      const w = this.#walk[i]! + (rng() - 0.5) * 0.4;
      this.#walk[i] = w > 1 ? 1 : w < -1 ? -1 : w;
      v[i] = this.#gauge(i, slots[i]!.decimals);
    }
    for (const g of this.#histograms) if (rng() < 0.6) this.#observe(g);
    for (const g of this.#summaries) this.#summary(g);
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
    for (let j = 0; j < g.buckets.length; j++) {
      cum += g.counts[j]!;
      v[g.buckets[j]!] = cum;
    }
    if (g.sumSlot >= 0) v[g.sumSlot] = g.sum;
    // With a +Inf bucket, _count is exactly the last cumulative bucket.
    if (g.countSlot >= 0) v[g.countSlot] = g.bounds[g.bounds.length - 1] === Infinity ? cum : g.count;
  }

  #summary(g: SummaryGroup): void {
    const rng = this.#rng;
    const v = this.#values;
    // Each quantile wanders ±20 % around its recorded value; sorting keeps them ordered.
    const qs = g.quantiles.map((slot) => {
      const w = this.#walk[slot]! + (rng() - 0.5) * 0.4;
      this.#walk[slot] = w > 1 ? 1 : w < -1 ? -1 : w;
      return this.#base[slot]! * (1 + 0.2 * this.#walk[slot]!);
    });
    qs.sort((a, b) => a - b);
    for (let j = 0; j < qs.length; j++) v[g.quantiles[j]!] = qs[j]!;
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
