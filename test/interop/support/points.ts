// Export requests flattened into data points in one canonical form, whatever
// wrote them: the collector's OTLP/JSON lines (zero values left out, 64-bit
// integers as strings, NaN as "NaN") and protobufjs' decoding in our test
// receiver (test/otel/support/receiver.ts) both come out the same when they
// mean the same. Each point carries its metric's and resource's frame, so two
// points compare as a whole.

import { isDeepStrictEqual } from 'node:util';
import type { JsonDouble, OtlpJsonAnyValue, OtlpJsonKeyValue, OtlpJsonMetric, OtlpJsonPoint, OtlpJsonRequest } from './collector.ts';

export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';

export interface Point {
  /** Typed attribute values: `string:…`, `int:…`, `double:…`, `bool:…`, or the JSON of anything else. */
  readonly resource: Readonly<Record<string, string>>;
  readonly scope: { readonly name: string; readonly version: string; readonly attributes: Readonly<Record<string, string>> };
  /** The resource's and the scope's, space-separated. */
  readonly schemaUrls: string;
  readonly metric: string;
  readonly description: string;
  readonly unit: string;
  readonly type: MetricType;
  /** Sums and histograms: 1 delta, 2 cumulative. */
  readonly temporality?: number;
  readonly monotonic?: boolean;
  readonly attributes: Readonly<Record<string, string>>;
  readonly start: string;
  readonly time: string;
  readonly flags: number;
  /** Gauges and sums. */
  readonly value?: { readonly double: number } | { readonly int: string };
  /** Histograms and summaries. */
  readonly count?: string;
  /** Summaries always; histograms only when present (it is optional there). */
  readonly sum?: number;
  readonly bucketCounts?: readonly string[];
  readonly explicitBounds?: readonly number[];
  readonly min?: number;
  readonly max?: number;
  readonly quantiles?: readonly { readonly quantile: number; readonly value: number }[];
}

/** What a request is, structurally, in both forms (the receiver's decoded objects fit it). */
export type AnyRequest = OtlpJsonRequest;

export function points(requests: readonly AnyRequest[]): Point[] {
  const out: Point[] = [];
  for (const req of requests) {
    for (const rm of req.resourceMetrics ?? []) {
      const resource = attributes(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? []) {
        const scope = { name: sm.scope?.name ?? '', version: sm.scope?.version ?? '', attributes: attributes(sm.scope?.attributes) };
        const schemaUrls = `${rm.schemaUrl ?? ''} ${sm.schemaUrl ?? ''}`;
        for (const m of sm.metrics ?? []) out.push(...metricPoints(m, { resource, scope, schemaUrls }));
      }
    }
  }
  return out;
}

function metricPoints(m: OtlpJsonMetric, context: Pick<Point, 'resource' | 'scope' | 'schemaUrls'>): Point[] {
  const frame = { ...context, metric: m.name ?? '', description: m.description ?? '', unit: m.unit ?? '' };
  if (m.gauge) return (m.gauge.dataPoints ?? []).map((p) => ({ ...frame, type: 'gauge' as const, ...common(p), value: numberValue(p) }));
  if (m.sum) {
    const kind = { type: 'sum' as const, temporality: m.sum.aggregationTemporality ?? 0, monotonic: m.sum.isMonotonic ?? false };
    return (m.sum.dataPoints ?? []).map((p) => ({ ...frame, ...kind, ...common(p), value: numberValue(p) }));
  }
  if (m.histogram) {
    const kind = { type: 'histogram' as const, temporality: m.histogram.aggregationTemporality ?? 0 };
    return (m.histogram.dataPoints ?? []).map((p) => ({
      ...frame,
      ...kind,
      ...common(p),
      count: p.count ?? '0',
      ...optional('sum', p.sum),
      bucketCounts: p.bucketCounts ?? [],
      explicitBounds: (p.explicitBounds ?? []).map(double),
      ...optional('min', p.min),
      ...optional('max', p.max),
    }));
  }
  if (m.summary) {
    return (m.summary.dataPoints ?? []).map((p) => ({
      ...frame,
      type: 'summary' as const,
      ...common(p),
      count: p.count ?? '0',
      sum: double(p.sum ?? 0),
      quantiles: (p.quantileValues ?? []).map((q) => ({ quantile: double(q.quantile ?? 0), value: double(q.value ?? 0) })),
    }));
  }
  // Never sent by the daemon; kept visible rather than dropped if it ever shows.
  if (m.exponentialHistogram) return [{ ...frame, type: 'exponentialHistogram', attributes: {}, start: '0', time: '0', flags: 0 }];
  return [];
}

function common(p: OtlpJsonPoint): Pick<Point, 'attributes' | 'start' | 'time' | 'flags'> {
  return { attributes: attributes(p.attributes), start: p.startTimeUnixNano ?? '0', time: p.timeUnixNano ?? '0', flags: p.flags ?? 0 };
}

function numberValue(p: OtlpJsonPoint): Point['value'] {
  if (p.asDouble !== undefined) return { double: double(p.asDouble) };
  if (p.asInt !== undefined) return { int: p.asInt };
  return undefined;
}

/** A present optional double field (histogram sum, min, max): absence is meaningful there. */
function optional<K extends 'sum' | 'min' | 'max'>(key: K, v: JsonDouble | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: double(v) } as Partial<Record<K, number>>);
}

/** OTLP/JSON writes NaN and ±Infinity as strings; protobufjs hands back numbers. */
export function double(v: JsonDouble | string): number {
  return typeof v === 'number' ? v : Number(v);
}

export function attributes(kvs: readonly OtlpJsonKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs ?? []) out[kv.key] = typed(kv.value ?? {});
  return out;
}

function typed(v: OtlpJsonAnyValue): string {
  if (v.stringValue !== undefined) return `string:${v.stringValue}`;
  if (v.intValue !== undefined) return `int:${v.intValue}`;
  if (v.doubleValue !== undefined) return `double:${double(v.doubleValue)}`;
  if (v.boolValue !== undefined) return `bool:${v.boolValue}`;
  return JSON.stringify(v);
}

/** Metric name + attributes + time: what identifies a point across the two sinks. */
export function pointKey(p: Point): string {
  const attrs = Object.entries(p.attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${p.metric}${JSON.stringify(attrs)}@${p.time}`;
}

/** The series of a point: metric name + attributes. */
export function seriesKey(p: Point): string {
  return pointKey(p).replace(/@\d+$/, '');
}

export interface PointDiff {
  /** Keys only one side has (with how many points each side has for them). */
  readonly missing: { key: string; expected: number; actual: number }[];
  /** Points both sides have under one key that differ: the first pair of each key. */
  readonly changed: { key: string; expected: Point; actual: Point }[];
}

/** Matches points by pointKey (in order, when a key repeats) and reports what differs. */
export function diffPoints(expected: readonly Point[], actual: readonly Point[]): PointDiff {
  const want = Map.groupBy(expected, pointKey);
  const got = Map.groupBy(actual, pointKey);
  const missing: PointDiff['missing'] = [];
  const changed: PointDiff['changed'] = [];
  for (const key of new Set([...want.keys(), ...got.keys()])) {
    const w = want.get(key) ?? [];
    const g = got.get(key) ?? [];
    if (w.length !== g.length) missing.push({ key, expected: w.length, actual: g.length });
    // Strict deep equality: NaN equals NaN there (JSON would not).
    const i = w.findIndex((p, n) => g[n] !== undefined && !isDeepStrictEqual(p, g[n]));
    if (i >= 0) changed.push({ key, expected: w[i]!, actual: g[i]! });
  }
  return { missing, changed };
}
