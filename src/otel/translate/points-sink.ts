// The objects sink: the SDK's own metric data (MetricData), for the OTel-named pull endpoint and
// the debug exporter. The SDK has no Summary point type: summaries are our own (SUMMARY_POINT_TYPE,
// a string that cannot collide with its numeric DataPointType), left out for SDK components.

import { ValueType, type Attributes } from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type DataPoint, type MetricData, type MetricDescriptor, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { labelNameEnd, labelValueEnd, unescapeLabelValue } from '../../exposition/label-block.ts';
import { SCOPE } from '../requests.ts';
import { isOurLabel, memo, type MetricHead, type OtlpSink, type SandboxAttributes } from './sink.ts';

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
  readonly scopeMetrics: { readonly scope: InstrumentationScope; readonly metrics: OtelMetricData[] }[];
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

const DATA_POINT_TYPE = { gauge: DataPointType.GAUGE, sum: DataPointType.SUM, histogram: DataPointType.HISTOGRAM, summary: SUMMARY_POINT_TYPE } as const;

export class PointsSink implements OtlpSink {
  readonly #resource: Resource;
  readonly #requests: OtelResourceMetrics[] = [];
  readonly #hr = memo(millisToHrTime);
  /** A sandbox's attributes as an object. */
  readonly #template = memo((sb: SandboxAttributes): Attributes => Object.fromEntries(sb.pairs));
  readonly #strings = new Strings();
  #metrics: OtelMetricData[] | undefined;
  #head: MetricHead | undefined;
  /** The points of the open metric (#head) in this request. */
  #points: DataPoint<unknown>[] | undefined;

  constructor(resource: Resource) {
    this.#resource = resource;
  }

  begin(m: MetricHead): void {
    this.end();
    this.#head = m;
  }

  number(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, value: number): void {
    this.#add(b, ls, le, sb, startMs, timeMs, value);
  }

  histogram(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, bounds: readonly number[], counts: readonly number[], n: number): void {
    this.#add(b, ls, le, sb, startMs, timeMs, { buckets: { boundaries: bounds.slice(0, n), counts: counts.slice(0, n + 1) }, sum, count });
  }

  summary(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, quantiles: readonly number[], values: readonly number[], n: number): void {
    const qs: { quantile: number; value: number }[] = [];
    for (let j = 0; j < n; j++) qs.push({ quantile: quantiles[j]!, value: values[j]! });
    this.#add(b, ls, le, sb, startMs, timeMs, { sum, count, quantiles: qs } satisfies SummaryValue);
  }

  end(): void {
    const points = this.#points;
    if (!points) return;
    this.#points = undefined;
    const { name, description, kind } = this.#head!;
    this.#metrics!.push({
      descriptor: { name, description, unit: '', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DATA_POINT_TYPE[kind],
      ...(kind === 'sum' && { isMonotonic: true }),
      dataPoints: points,
    } as OtelMetricData);
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
    this.#points ??= [];
    const template = this.#template(sb);
    let attributes: Attributes;
    if (ls < le) {
      const a: Attributes = {};
      const strings = this.#strings;
      for (let i = ls; i < le; ) {
        const ne = labelNameEnd(b, i, le);
        const ve = labelValueEnd(b, ne + 2, le);
        if (!isOurLabel(b, i, ne)) {
          const raw = strings.of(b, ne + 2, ve);
          a[strings.of(b, i, ne)] = raw.includes('\\') ? unescapeLabelValue(b, ne + 2, ve) : raw;
        }
        i = ve + 2; // the quote and the comma
      }
      attributes = Object.assign(a, template);
    } else {
      // A copy (of the same shape, cheaply): no two points share an attributes object.
      attributes = { ...template };
    }
    this.#points.push({ startTime: this.#hr(startMs), endTime: this.#hr(timeMs), attributes, value });
  }
}

/** Label names and short values as strings, made once per walk (found by a hash of their bytes): the same few recur on thousands of points. */
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
