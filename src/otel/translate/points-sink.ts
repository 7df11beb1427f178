// The objects sink: the SDK's own metric data (sdk-metrics MetricData), for
// what reads objects: the OTel-named pull endpoint (exporter-prometheus, via
// a MetricProducer) and the debug exporter. The JS SDK has no Summary point
// type, so summaries are one extension of ours (SUMMARY_POINT_TYPE, a
// string that cannot collide with the SDK's numeric DataPointType); SDK
// components get the data without them (withoutSummaries).

import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type DataPoint, type MetricData, type MetricDescriptor, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { unescapeLabelValue } from '../../exposition/label-block.ts';
import { SCOPE, type Scope } from '../requests.ts';
import { pointLabels, type MetricHead, type OtlpSink, type SandboxAttributes } from './sink.ts';

export const SUMMARY_POINT_TYPE = 'summary';

export interface SummaryValue {
  readonly sum: number;
  readonly count: number;
  readonly quantiles: readonly { readonly quantile: number; readonly value: number }[];
}

export interface SummaryMetricData {
  readonly descriptor: MetricDescriptor;
  readonly aggregationTemporality: AggregationTemporality;
  readonly dataPointType: typeof SUMMARY_POINT_TYPE;
  readonly dataPoints: DataPoint<SummaryValue>[];
}

export type OtelMetricData = MetricData | SummaryMetricData;

/** ResourceMetrics that may hold summaries. */
export interface OtelResourceMetrics {
  readonly resource: Resource;
  readonly scopeMetrics: { readonly scope: Scope; readonly metrics: OtelMetricData[] }[];
}

export function isSummary(m: OtelMetricData): m is SummaryMetricData {
  return m.dataPointType === SUMMARY_POINT_TYPE;
}

/** The SDK's view: its components know no summaries. */
export function withoutSummaries(rm: OtelResourceMetrics): ResourceMetrics {
  return {
    resource: rm.resource,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({ scope: sm.scope, metrics: sm.metrics.filter((m): m is MetricData => !isSummary(m)) })),
  };
}

interface Open {
  readonly head: MetricHead;
  readonly points: DataPoint<unknown>[];
}

export class PointsSink implements OtlpSink {
  readonly #resource: Resource;
  readonly #requests: OtelResourceMetrics[] = [];
  readonly #times = new Map<number, HrTime>();
  readonly #templates = new WeakMap<SandboxAttributes, Attributes>();
  readonly #strings = new Strings();
  #lastSandbox: SandboxAttributes | undefined;
  #lastTemplate: Attributes = {};
  #metrics: OtelMetricData[] | undefined;
  #head: MetricHead | undefined;
  #open: Open | undefined;

  constructor(resource: Resource) {
    this.#resource = resource;
  }

  begin(m: MetricHead): void {
    this.end();
    this.#head = m;
  }

  number(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, value: number, _vs?: number, _ve?: number): void {
    this.#add(b, ls, le, sb, startMs, timeMs, value);
  }

  histogram(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, bounds: readonly number[], counts: readonly number[], n: number): void {
    this.#add(b, ls, le, sb, startMs, timeMs, { buckets: { boundaries: bounds.slice(0, n), counts: counts.slice(0, n + 1) }, sum, count });
  }

  summary(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, quantiles: readonly number[], values: readonly number[], n: number): void {
    const qs: { quantile: number; value: number }[] = [];
    for (let j = 0; j < n; j++) qs.push({ quantile: quantiles[j]!, value: values[j]! });
    const v: SummaryValue = { sum, count, quantiles: qs };
    this.#add(b, ls, le, sb, startMs, timeMs, v);
  }

  end(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const { head, points } = open;
    const descriptor: MetricDescriptor = { name: head.name, description: head.description, unit: '', valueType: ValueType.DOUBLE };
    const cumulative = AggregationTemporality.CUMULATIVE;
    switch (head.kind) {
      case 'sum':
        this.#metrics!.push({ descriptor, aggregationTemporality: cumulative, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: points as DataPoint<number>[] });
        break;
      case 'gauge':
        this.#metrics!.push({ descriptor, aggregationTemporality: cumulative, dataPointType: DataPointType.GAUGE, dataPoints: points as DataPoint<number>[] });
        break;
      case 'histogram':
        this.#metrics!.push({ descriptor, aggregationTemporality: cumulative, dataPointType: DataPointType.HISTOGRAM, dataPoints: points as DataPoint<never>[] });
        break;
      case 'summary':
        this.#metrics!.push({ descriptor, aggregationTemporality: cumulative, dataPointType: SUMMARY_POINT_TYPE, dataPoints: points as DataPoint<SummaryValue>[] });
        break;
    }
  }

  cut(): void {
    this.end();
    if (!this.#metrics) return;
    this.#requests.push({ resource: this.#resource, scopeMetrics: [{ scope: SCOPE, metrics: this.#metrics }] });
    this.#metrics = undefined;
  }

  finish(): OtelResourceMetrics[] {
    this.cut();
    return this.#requests;
  }

  #add(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, value: unknown): void {
    this.#metrics ??= [];
    this.#open ??= { head: this.#head!, points: [] };
    const template = this.#template(sb);
    let attributes: Attributes;
    if (ls < le) {
      const a: Attributes = {};
      const strings = this.#strings;
      pointLabels(b, ls, le, (ns, ne, vs, ve, escaped) => {
        a[strings.of(b, ns, ne)] = escaped ? unescapeLabelValue(b, vs, ve) : strings.of(b, vs, ve);
      });
      attributes = Object.assign(a, template);
    } else {
      // A copy (of the same shape, cheaply): no two points share an attributes object.
      attributes = { ...template };
    }
    this.#open.points.push({ startTime: this.#hr(startMs), endTime: this.#hr(timeMs), attributes, value });
  }

  /** A sandbox's attributes as an object, made once per walk. */
  #template(sb: SandboxAttributes): Attributes {
    if (sb === this.#lastSandbox) return this.#lastTemplate;
    let t = this.#templates.get(sb);
    if (!t) this.#templates.set(sb, (t = Object.fromEntries(sb.pairs)));
    this.#lastSandbox = sb;
    this.#lastTemplate = t;
    return t;
  }

  #hr(ms: number): HrTime {
    let t = this.#times.get(ms);
    if (!t) this.#times.set(ms, (t = millisToHrTime(ms)));
    return t;
  }
}

/**
 * Label names and short values as strings, made once per walk: the same
 * few recur on thousands of points (one string each instead of one per
 * point; found by a hash of their bytes, then compared).
 */
class Strings {
  readonly #seen = new Map<number, string>();

  of(b: Buffer, s: number, e: number): string {
    const n = e - s;
    if (n > 48) return b.toString('utf8', s, e);
    let h = n;
    for (let k = s; k < e; k++) {
      const c = b[k]!;
      if (c > 127) return b.toString('utf8', s, e);
      h = (Math.imul(h, 31) + c) | 0;
    }
    const known = this.#seen.get(h);
    if (known !== undefined && known.length === n) {
      let same = true;
      for (let k = 0; same && k < n; k++) same = known.charCodeAt(k) === b[s + k];
      if (same) return known;
    }
    const text = b.toString('latin1', s, e);
    this.#seen.set(h, text);
    return text;
  }
}
