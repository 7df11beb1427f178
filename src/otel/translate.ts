// Snapshot → OpenTelemetry metric data, following the OTel specification's
// Prometheus compatibility rules: counter → monotonic cumulative Sum (name
// unchanged, no `_total` games), gauge/untyped → Gauge, histogram →
// explicit-bucket Histogram (de-cumulated), summary → Summary (our extension).
// Start times are tracked per series because Prometheus text carries none.

import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type DataPoint, type MetricDescriptor } from '@opentelemetry/sdk-metrics';
import type { Label, Metric, MetricFamily, MetricType } from '../exposition/model.ts';
import { parseText } from '../exposition/parse-text.ts';
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
  /** Prometheus text parser; the exposition one unless a test swaps it. */
  readonly parse?: (text: string) => MetricFamily[];
  /** Clock for the daemon's own families, ms since epoch. */
  readonly now?: () => number;
}

export interface Translation {
  readonly resourceMetrics: OtelResourceMetrics;
  readonly errors: readonly TranslateError[];
  readonly dataPoints: number;
}

interface SeriesState {
  startMs: number;
  lastValue: number;
  lastMs: number;
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
  readonly #parse: (text: string) => MetricFamily[];
  readonly #now: () => number;
  /** Per sandbox scrape object: a body is parsed once however many readers translate it. */
  readonly #parsed = new WeakMap<SandboxScrape, Parsed>();
  #series = new Map<string, SeriesState>();
  #last: { snapshot: Snapshot; result: Translation } | undefined;

  constructor(options: TranslatorOptions) {
    this.resource = options.resource;
    this.#extra = options.extraFamilies;
    this.#scope = options.scope ?? SCOPE;
    this.#parse = options.parse ?? parseText;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Translates one snapshot. The same snapshot object translated again (a
   * second pipeline, the pull endpoint) returns the same result, so series
   * state advances once per snapshot.
   */
  translate(snapshot: Snapshot): Translation {
    if (this.#last?.snapshot === snapshot) return this.#last.result;
    const result = this.#translate(snapshot);
    this.#last = { snapshot, result };
    return result;
  }

  /** Series whose start time is being tracked (for tests and the status page). */
  get trackedSeries(): number {
    return this.#series.size;
  }

  #translate(snapshot: Snapshot): Translation {
    const errors: TranslateError[] = [];
    const accs = new Map<string, Acc>();
    const next = new Map<string, SeriesState>();
    const times = new Map<number, HrTime>();
    const hr = (ms: number): HrTime => {
      let t = times.get(ms);
      if (!t) times.set(ms, (t = millisToHrTime(ms)));
      return t;
    };
    const ctx: Ctx = { accs, next, prev: this.#series, hr, errors };

    if (this.#extra) {
      let extra: readonly MetricFamily[] = [];
      try {
        extra = this.#extra();
      } catch (e) {
        errors.push(new TranslateError(`self metrics unavailable: ${message(e)}`, { cause: e }));
      }
      const nowMs = this.#now();
      for (const f of extra) addFamily(ctx, f, f.name, '', EMPTY, nowMs);
    }

    for (const scrape of snapshot.sandboxes) {
      if (scrape.body === undefined) continue;
      const parsed = this.#parseOnce(scrape);
      if ('error' in parsed) {
        errors.push(parsed.error);
        continue;
      }
      const sbAttrs = sandboxAttributes(scrape);
      for (const f of parsed.families) addFamily(ctx, f, shimFamilyName(f.name), scrape.sandbox.id, sbAttrs, scrape.at);
    }

    this.#series = next;
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
        p = { families: this.#parse(scrape.body ? scrape.body.toString('utf8') : '') };
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
  readonly next: Map<string, SeriesState>;
  readonly prev: ReadonlyMap<string, SeriesState>;
  readonly hr: (ms: number) => HrTime;
  readonly errors: TranslateError[];
}

const EMPTY: Attributes = Object.freeze({});

/** The four kata-monitor labels (always, as on /metrics) plus k8s.* semconv keys when known. */
function sandboxAttributes(scrape: SandboxScrape): Attributes {
  const { id, metadata: m } = scrape.sandbox;
  const a: Record<string, string> = { sandbox_id: id, cri_uid: m.uid, cri_name: m.name, cri_namespace: m.namespace };
  if (m.uid) a['k8s.pod.uid'] = m.uid;
  if (m.name) a['k8s.pod.name'] = m.name;
  if (m.namespace) a['k8s.namespace.name'] = m.namespace;
  (a as SharedAttributesHint)[SHARED_ATTRIBUTES] = { ...a };
  return a;
}

function addFamily(ctx: Ctx, f: MetricFamily, name: string, sandboxId: string, sbAttrs: Attributes, atMs: number): void {
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
  for (const m of f.metrics) {
    if (m.kind !== kind) {
      ctx.errors.push(new TranslateError(`family ${name}: a ${m.kind} sample in a ${f.type} family; skipped`, { sandboxId, family: name }));
      continue;
    }
    const ms = m.timestampMs ?? atMs;
    const end = ctx.hr(ms);
    let start = end;
    if (cumulative) start = ctx.hr(trackStart(ctx, seriesKey(name, sandboxId, m.labels), resetValue(m), ms));
    acc.points.push({ startTime: start, endTime: end, attributes: attributes(m.labels, sbAttrs), value: pointValue(m) });
  }
}

function sameKind(a: MetricType, b: MetricType): boolean {
  const gaugeish = (t: MetricType) => (t === 'untyped' ? 'gauge' : t);
  return gaugeish(a) === gaugeish(b);
}

/** The value whose decrease means the series restarted. */
function resetValue(m: Metric): number {
  return m.kind === 'scalar' ? m.value : m.count;
}

function seriesKey(name: string, sandboxId: string, labels: readonly Label[]): string {
  let k = name + '\u0000' + sandboxId;
  for (const l of labels) k += '\u0000' + l.name + '=' + l.value;
  return k;
}

/**
 * First seen: the series starts now. A decrease: the process behind it
 * restarted after our previous observation, which becomes the new start.
 */
function trackStart(ctx: Ctx, key: string, value: number, ms: number): number {
  const prev = ctx.prev.get(key);
  if (!prev) {
    ctx.next.set(key, { startMs: ms, lastValue: value, lastMs: ms });
    return ms;
  }
  if (value < prev.lastValue) prev.startMs = prev.lastMs;
  prev.lastValue = value;
  prev.lastMs = ms;
  ctx.next.set(key, prev);
  return prev.startMs;
}

function attributes(labels: readonly Label[], sbAttrs: Attributes): Attributes {
  if (labels.length === 0) return sbAttrs;
  const a: Attributes = {};
  for (const l of labels) a[l.name] = l.value;
  // Ours win over a shim label of the same name, as they identify the sandbox.
  for (const k in sbAttrs) a[k] = sbAttrs[k];
  const shared = (sbAttrs as SharedAttributesHint)[SHARED_ATTRIBUTES];
  if (shared) (a as SharedAttributesHint)[SHARED_ATTRIBUTES] = shared;
  return a;
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
