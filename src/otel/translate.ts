// Snapshot → OpenTelemetry metric data (for the pull endpoint, OTLP/JSON
// pipelines and the daemon's own families; protobuf pipelines encode the
// scrape index directly, index-encoder.ts, to the same bytes), following the OTel specification's
// Prometheus compatibility rules: counter → monotonic cumulative Sum (name
// unchanged, no `_total` games), gauge/untyped → Gauge, histogram →
// explicit-bucket Histogram (de-cumulated), summary → Summary (our extension).
// Start times are tracked per series because Prometheus text carries none.
//
// A push translates ~50 000 points at 100 sandboxes, and nearly all of them
// are the series of the previous push with new values. So the translator
// keeps, per sandbox, its last parse (the next one shares its labels and
// strings, see reparseText) and per series its state and attributes object,
// found again by position; a push allocates little beyond the points.

import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type DataPoint, type MetricDescriptor } from '@opentelemetry/sdk-metrics';
import type { Label, Metric, MetricFamily, MetricType } from '../exposition/model.ts';
import { parseText, reparseText } from '../exposition/parse-text.ts';
import type { SandboxEntry } from '../discovery/registry.ts';
import type { SandboxScrape, Snapshot } from '../scrape/snapshot.ts';
import { shimFamilyName } from '../scrape/relabel.ts';
import { SHARED_ATTRIBUTES, SUMMARY_POINT_TYPE, type SharedAttributesHint, type OtelMetricData, type OtelResourceMetrics, type SummaryValue } from './model.ts';

export const SCOPE: InstrumentationScope = { name: 'kata-otel-monitor' };

/** A problem that cost some data but not the whole translation. */
export class TranslateError extends Error {
  readonly sandboxId: string | undefined;
  readonly family: string | undefined;
  constructor(message: string, where: { sandboxId?: string; family?: string; cause?: unknown } = {}) {
    super(message, { cause: where.cause });
    this.name = 'TranslateError';
    this.sandboxId = where.sandboxId;
    this.family = where.family;
  }
}

export interface TranslatorOptions {
  readonly resource: Resource;
  /** The daemon's own families (kata_monitor_*), placed first, without sandbox attributes. */
  readonly extraFamilies?: () => readonly MetricFamily[];
  readonly scope?: InstrumentationScope;
  /**
   * Prometheus text parser; the exposition one unless a test swaps it.
   * `previous`: this sandbox's last parse, when there is one (see reparseText).
   */
  readonly parse?: (text: string, previous?: readonly MetricFamily[]) => MetricFamily[];
  /** Clock for the daemon's own families, ms since epoch. */
  readonly now?: () => number;
}

export interface Translation {
  readonly resourceMetrics: OtelResourceMetrics;
  readonly errors: readonly TranslateError[];
  readonly dataPoints: number;
}

/** One series of one sandbox, kept from one snapshot to the next. */
interface SeriesState {
  /** Its labels when first seen: what identifies it within its family. */
  readonly labels: readonly Label[];
  /** Its point attributes, reused while its labels and sandbox attributes stay the same. */
  readonly attributes: Attributes;
  /** While its family is cumulative (a counter, histogram or summary; few are): its start time. */
  start: StartState | undefined;
}

interface StartState {
  startMs: number;
  /** The value whose decrease means a restart, and when it was seen. */
  lastValue: number;
  lastMs: number;
}

/**
 * The series of one family in one sandbox, in the order the shim wrote them.
 * Shims write the same series in the same order every time, so the next
 * snapshot finds a series' state at the same index after comparing its
 * labels, and builds no per-series key (building and hashing a key string
 * per point was ~30 % of translation in the profile, plus its garbage).
 * `byKey` is the fallback for series that moved, built once when the first
 * one does.
 *
 * The state also keeps each series' attributes object: it is the same from
 * one push to the next, and not allocating 50 000 of them per push (a third
 * of translation's garbage) took ~25 % off the push path's CPU (measured
 * with bench/otel.ts bodies: 93 → 126 ms median when they were rebuilt).
 */
interface FamilySeries {
  readonly series: SeriesState[];
  /** The sandbox attributes the series' attributes were built with. */
  readonly sandbox: Attributes;
  byKey?: Map<string, SeriesState>;
}

interface Acc {
  readonly type: MetricType;
  readonly descriptor: MetricDescriptor;
  readonly points: DataPoint<unknown>[];
}

type Parsed = { readonly families: MetricFamily[] } | { readonly error: TranslateError };

export class Translator {
  readonly resource: Resource;
  readonly #extra: (() => readonly MetricFamily[]) | undefined;
  readonly #scope: InstrumentationScope;
  readonly #parse: (text: string, previous?: readonly MetricFamily[]) => MetricFamily[];
  readonly #now: () => number;
  /** Per sandbox scrape object: a body is parsed once however many readers translate it. */
  readonly #parsed = new WeakMap<SandboxScrape, Parsed>();
  /**
   * Series state by sandbox id ('' for the daemon's own families), then
   * family name as the shim wrote it. Two levels rather than one joined key:
   * both strings are the same objects from one push to the next (the
   * registry's id, the reparsed name), so their hashes are cached, where a
   * joined key was a new string to build and hash per family (~40 % of
   * translation in the profile).
   */
  #series = new Map<string, Map<string, FamilySeries>>();
  /** Exported family names by shim family name (go_* → kata_shim_go_*), those of the last snapshot. */
  #names = new Map<string, string>();
  /** Each sandbox's attributes, by id: the same object while its metadata stays the same. */
  #sandboxes = new Map<string, Attributes>();
  /** Each sandbox's last parsed body, by id: the next parse shares what did not change. */
  #families = new Map<string, readonly MetricFamily[]>();
  /** Per snapshot, not "the last one": a translation is not kept past its snapshot's readers (~13 MiB of points at 300 sandboxes). */
  readonly #memo = new WeakMap<Snapshot, Translation>();

  constructor(options: TranslatorOptions) {
    this.resource = options.resource;
    this.#extra = options.extraFamilies;
    this.#scope = options.scope ?? SCOPE;
    this.#parse = options.parse ?? ((text, previous) => (previous ? reparseText(text, previous) : parseText(text)));
    this.#now = options.now ?? Date.now;
  }

  /**
   * Translates one snapshot. The same snapshot object translated again (a
   * second pipeline, the pull endpoint) returns the same result, so series
   * state advances once per snapshot.
   */
  translate(snapshot: Snapshot): Translation {
    const known = this.#memo.get(snapshot);
    if (known) return known;
    const result = this.#translate(snapshot);
    this.#memo.set(snapshot, result);
    return result;
  }

  /** Series whose start time is being tracked (for tests and the status page). */
  get trackedSeries(): number {
    let n = 0;
    for (const fams of this.#series.values()) for (const f of fams.values()) for (const s of f.series) if (s.start) n++;
    return n;
  }

  #translate(snapshot: Snapshot): Translation {
    const errors: TranslateError[] = [];
    const accs = new Map<string, Acc>();
    const next = new Map<string, Map<string, FamilySeries>>();
    const names = new Map<string, string>();
    const sandboxes = new Map<string, Attributes>();
    const families = new Map<string, readonly MetricFamily[]>();
    const times = new Map<number, HrTime>();
    // Consecutive points mostly share one time (their sandbox's scrape): skip the map then.
    let lastMs = NaN;
    let lastHr: HrTime = [0, 0];
    const hr = (ms: number): HrTime => {
      if (ms === lastMs) return lastHr;
      let t = times.get(ms);
      if (!t) times.set(ms, (t = millisToHrTime(ms)));
      lastMs = ms;
      lastHr = t;
      return t;
    };
    const ctx: Ctx = { accs, hr, errors };
    const seriesOf = (sandboxId: string): SandboxSeries => {
      let fams = next.get(sandboxId);
      if (!fams) next.set(sandboxId, (fams = new Map()));
      return { prev: this.#series.get(sandboxId), next: fams };
    };
    const exportName = (shimName: string): string => {
      let n = names.get(shimName);
      if (n === undefined) names.set(shimName, (n = this.#names.get(shimName) ?? shimFamilyName(shimName)));
      return n;
    };

    if (this.#extra) {
      let extra: readonly MetricFamily[] = [];
      try {
        extra = this.#extra();
      } catch (e) {
        errors.push(new TranslateError(`self metrics unavailable: ${message(e)}`, { cause: e }));
      }
      const nowMs = this.#now();
      const series = seriesOf('');
      for (const f of extra) addFamily(ctx, f, f.name, '', EMPTY, nowMs, series);
    }

    for (const scrape of snapshot.sandboxes) {
      if (scrape.body === undefined) continue;
      const parsed = this.#parseOnce(scrape);
      if ('error' in parsed) {
        errors.push(parsed.error);
        continue;
      }
      families.set(scrape.sandbox.id, parsed.families);
      const sbAttrs = sandboxAttributes(scrape, this.#sandboxes.get(scrape.sandbox.id));
      sandboxes.set(scrape.sandbox.id, sbAttrs);
      const series = seriesOf(scrape.sandbox.id);
      for (const f of parsed.families) addFamily(ctx, f, exportName(f.name), scrape.sandbox.id, sbAttrs, scrape.at, series);
    }

    this.#series = next;
    this.#names = names;
    this.#sandboxes = sandboxes;
    this.#families = families;
    const metrics: OtelMetricData[] = [];
    let dataPoints = 0;
    for (const acc of accs.values()) {
      dataPoints += acc.points.length;
      metrics.push(toMetricData(acc));
    }
    return {
      resourceMetrics: { resource: this.resource, scopeMetrics: [{ scope: this.#scope, metrics }] },
      errors,
      dataPoints,
    };
  }

  #parseOnce(scrape: SandboxScrape): Parsed {
    let p = this.#parsed.get(scrape);
    if (!p) {
      try {
        p = { families: this.#parse(scrape.body ? scrape.body.toString('utf8') : '', this.#families.get(scrape.sandbox.id)) };
      } catch (e) {
        p = { error: new TranslateError(`sandbox ${scrape.sandbox.id}: unparsable shim metrics: ${message(e)}`, { sandboxId: scrape.sandbox.id, cause: e }) };
      }
      this.#parsed.set(scrape, p);
    }
    return p;
  }
}

interface Ctx {
  readonly accs: Map<string, Acc>;
  readonly hr: (ms: number) => HrTime;
  readonly errors: TranslateError[];
}

/** One sandbox's series: as of the previous snapshot, and this one's (being filled), by family name. */
interface SandboxSeries {
  readonly prev: ReadonlyMap<string, FamilySeries> | undefined;
  readonly next: Map<string, FamilySeries>;
}

const EMPTY: Attributes = Object.freeze({});

/**
 * The four kata-monitor labels (always, as on /metrics) plus k8s.* semconv
 * keys when known; `previous` (this sandbox's last ones) when they are the
 * same, so that the attributes built with them stay valid.
 */
function sandboxAttributes(scrape: SandboxScrape, previous: Attributes | undefined): Attributes {
  const m = scrape.sandbox.metadata;
  if (previous && previous['cri_uid'] === m.uid && previous['cri_name'] === m.name && previous['cri_namespace'] === m.namespace) return previous;
  const a = podAttributes(scrape.sandbox);
  const keys = Object.keys(a);
  (a as SharedAttributesHint)[SHARED_ATTRIBUTES] = { shared: { ...a }, keys, expected: keys.map((k) => a[k]) };
  return a;
}

function addFamily(ctx: Ctx, f: MetricFamily, name: string, sandboxId: string, sbAttrs: Attributes, atMs: number, sandboxSeries: SandboxSeries): void {
  let acc = ctx.accs.get(name);
  if (!acc) {
    acc = {
      type: f.type,
      descriptor: { name, description: f.help ?? '', unit: f.unit ?? '', valueType: ValueType.DOUBLE },
      points: [],
    };
    ctx.accs.set(name, acc);
  } else if (!sameKind(acc.type, f.type)) {
    // One OTLP metric has one type: keep the first one seen, report the rest.
    ctx.errors.push(
      new TranslateError(`family ${name} is a ${f.type} in sandbox ${sandboxId || '(self)'} but a ${acc.type} elsewhere; skipped there`, {
        sandboxId,
        family: name,
      }),
    );
    return;
  }
  const cumulative = f.type === 'counter' || f.type === 'histogram' || f.type === 'summary';
  const kind = f.type === 'histogram' || f.type === 'summary' ? f.type : 'scalar';
  const series = new SeriesTracker(sandboxSeries, f.name, sbAttrs);
  for (const m of f.metrics) {
    if (m.kind !== kind) {
      ctx.errors.push(new TranslateError(`family ${name}: a ${m.kind} sample in a ${f.type} family; skipped`, { sandboxId, family: name }));
      continue;
    }
    const ms = m.timestampMs ?? atMs;
    const end = ctx.hr(ms);
    const s = series.next(m.labels);
    let start = end;
    if (cumulative) start = ctx.hr(startOf(s, resetValue(m), ms));
    else s.start = undefined; // should its family become a counter again, it starts anew
    acc.points.push({ startTime: start, endTime: end, attributes: s.attributes, value: pointValue(m) });
  }
}

/** The four kata-monitor labels, as on /metrics, then the k8s.* semconv keys when known: every point of a sandbox carries them. */
export function podAttributes(sandbox: SandboxEntry): Record<string, string> {
  const { id, metadata: m } = sandbox;
  const a: Record<string, string> = { sandbox_id: id, cri_uid: m.uid, cri_name: m.name, cri_namespace: m.namespace };
  if (m.uid) a['k8s.pod.uid'] = m.uid;
  if (m.name) a['k8s.pod.name'] = m.name;
  if (m.namespace) a['k8s.namespace.name'] = m.namespace;
  return a;
}

/** Whether two families of one name can be one OTLP metric (untyped is a gauge). */
export function sameKind(a: MetricType, b: MetricType): boolean {
  const gaugeish = (t: MetricType) => (t === 'untyped' ? 'gauge' : t);
  return gaugeish(a) === gaugeish(b);
}

/** The value whose decrease means the series restarted. */
function resetValue(m: Metric): number {
  return m.kind === 'scalar' ? m.value : m.count;
}

/**
 * A cumulative series' start time. First seen (or first seen cumulative):
 * it starts now. A decrease: the process behind it restarted after our
 * previous observation, which becomes the new start.
 */
function startOf(s: SeriesState, value: number, ms: number): number {
  const t = s.start;
  if (!t) {
    s.start = { startMs: ms, lastValue: value, lastMs: ms };
    return ms;
  }
  if (value < t.lastValue) t.startMs = t.lastMs;
  t.lastValue = value;
  t.lastMs = ms;
  return t.startMs;
}

/** The series of one family in one sandbox, matched against the previous snapshot's. */
class SeriesTracker {
  readonly #prev: FamilySeries | undefined;
  readonly #next: SeriesState[];
  /** Whether the previous series' attributes were built with this snapshot's sandbox attributes. */
  readonly #sameSandbox: boolean;
  readonly #sandbox: Attributes;
  #attributes: AttributeMaker | undefined;
  /** Index in the previous snapshot's list of the next series, as if nothing moved. */
  #at: number;

  constructor(series: SandboxSeries, family: string, sandbox: Attributes) {
    this.#prev = series.prev?.get(family);
    this.#sandbox = sandbox;
    this.#sameSandbox = this.#prev?.sandbox === sandbox;
    let next = series.next.get(family);
    // A second family of this name in one sandbox (only the daemon's own could be): append.
    if (!next) series.next.set(family, (next = { series: [], sandbox }));
    this.#next = next.series;
    this.#at = next.series.length;
  }

  /** The state of the series with these labels: last snapshot's, or a new one. */
  next(labels: readonly Label[]): SeriesState {
    const prev = this.#prev;
    let s = prev?.series[this.#at++];
    if (prev !== undefined && (s === undefined || !sameLabels(s.labels, labels))) s = lookUp(prev, labels);
    if (s === undefined || !this.#sameSandbox) {
      this.#attributes ??= new AttributeMaker(this.#sandbox);
      const attributes = this.#attributes.of(labels);
      s = { labels, attributes, start: s?.start };
    }
    this.#next.push(s);
    return s;
  }
}

function sameLabels(a: readonly Label[], b: readonly Label[]): boolean {
  if (a === b) return true; // reparseText hands back the same array when nothing changed
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) {
    const x = a[j] as Label;
    const y = b[j] as Label;
    if (x !== y && (x.name !== y.name || x.value !== y.value)) return false;
  }
  return true;
}

/** A series that is not where it was: by its labels (in wire order, length-prefixed so no value forges another set). */
function lookUp(prev: FamilySeries, labels: readonly Label[]): SeriesState | undefined {
  if (!prev.byKey) {
    prev.byKey = new Map();
    for (const s of prev.series) prev.byKey.set(labelsKey(s.labels), s);
  }
  return prev.byKey.get(labelsKey(labels));
}

function labelsKey(labels: readonly Label[]): string {
  let k = '';
  for (const l of labels) k += `${l.name}=${l.value.length}:${l.value}`;
  return k;
}

/**
 * Point attributes: the shim's labels, then the sandbox's (ours win over a
 * shim label of the same name, as they identify the sandbox). Points of one
 * family mostly have the same label names, so each is a clone of a template
 * with those keys, its label values written over: one copy instead of a
 * dozen property additions (measured ~3x faster), and one encoder hint
 * (SharedAttributes: the keys in order) for all of them.
 */
class AttributeMaker {
  readonly #sandbox: Attributes;
  /** The labels whose names the template has, in order. */
  #names: readonly Label[] = [];
  #template: Attributes = EMPTY;
  /** Indices of the labels the template's values come from (those the sandbox's do not override). */
  #own: number[] = [];

  constructor(sandbox: Attributes) {
    this.#sandbox = sandbox;
  }

  of(labels: readonly Label[]): Attributes {
    if (labels.length === 0) return this.#sandbox;
    if (!sameNames(this.#names, labels)) this.#newTemplate(labels);
    // Object.assign onto {} copies the template's shape at once; a spread was
    // ~4x slower here, where the call site sees many shapes (measured).
    const a: Attributes = Object.assign({}, this.#template);
    for (const j of this.#own) {
      const l = labels[j] as Label;
      a[l.name] = l.value;
    }
    return a;
  }

  #newTemplate(labels: readonly Label[]): void {
    const sandbox = this.#sandbox;
    const a: Attributes = {};
    for (const l of labels) a[l.name] = l.value;
    for (const k in sandbox) a[k] = sandbox[k];
    const hint = (sandbox as SharedAttributesHint)[SHARED_ATTRIBUTES];
    if (hint) {
      // The same keys in the same order as every clone: the encoder checks a point against them by position.
      const keys = Object.keys(a);
      const expected = keys.map((k) => (Object.hasOwn(hint.shared, k) ? hint.shared[k] : undefined));
      (a as SharedAttributesHint)[SHARED_ATTRIBUTES] = { shared: hint.shared, keys, expected };
    }
    this.#names = labels;
    this.#template = a;
    this.#own = [];
    for (let j = 0; j < labels.length; j++) if (!Object.hasOwn(sandbox, (labels[j] as Label).name)) this.#own.push(j);
  }
}

function sameNames(a: readonly Label[], b: readonly Label[]): boolean {
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if ((a[j] as Label).name !== (b[j] as Label).name) return false;
  return true;
}

function pointValue(m: Metric): unknown {
  switch (m.kind) {
    case 'scalar':
      return m.value;
    case 'histogram': {
      const boundaries: number[] = [];
      const counts: number[] = [];
      let prev = 0;
      for (const b of m.buckets) {
        if (b.upperBound === Infinity) break;
        boundaries.push(b.upperBound);
        // Cumulative counts should never fall; if a shim's do, clamp rather than send negatives.
        counts.push(Math.max(0, b.cumulativeCount - prev));
        prev = Math.max(prev, b.cumulativeCount);
      }
      counts.push(Math.max(0, m.count - prev));
      return { buckets: { boundaries, counts }, sum: m.sum, count: m.count };
    }
    case 'summary': {
      const v: SummaryValue = { sum: m.sum, count: m.count, quantiles: m.quantiles };
      return v;
    }
  }
}

function toMetricData(acc: Acc): OtelMetricData {
  const { descriptor, points } = acc;
  const cumulative = AggregationTemporality.CUMULATIVE;
  switch (acc.type) {
    case 'counter':
      return { descriptor, aggregationTemporality: cumulative, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: points as DataPoint<number>[] };
    case 'histogram':
      return { descriptor, aggregationTemporality: cumulative, dataPointType: DataPointType.HISTOGRAM, dataPoints: points as DataPoint<never>[] };
    case 'summary':
      return { descriptor, aggregationTemporality: cumulative, dataPointType: SUMMARY_POINT_TYPE, dataPoints: points as DataPoint<SummaryValue>[] };
    case 'gauge':
    case 'untyped':
      return { descriptor, aggregationTemporality: cumulative, dataPointType: DataPointType.GAUGE, dataPoints: points as DataPoint<number>[] };
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
