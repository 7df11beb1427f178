// The Prometheus data model, shaped like io.prometheus.client.MetricFamily so
// that the text, OpenMetrics and protobuf encoders and the OTel translation all
// read one structure. Label order is kept as written: kata-monitor appends its
// sandbox labels after the shim's own and dashboards see them in that order.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Label {
  readonly name: string;
  readonly value: string;
}

export interface Bucket {
  /** Upper bound (`le`); +Inf allowed. */
  readonly upperBound: number;
  /** Cumulative count, as on the wire. */
  readonly cumulativeCount: number;
}

export interface Quantile {
  readonly quantile: number;
  readonly value: number;
}

interface MetricBase {
  /** Labels in wire order, without `le` / `quantile`. */
  readonly labels: readonly Label[];
  /** int64 ms; a bigint only where a double cannot hold it exactly (beyond 2^53). */
  readonly timestampMs?: number | bigint;
}

export interface ScalarMetric extends MetricBase {
  readonly kind: 'scalar';
  readonly value: number;
}

export interface HistogramMetric extends MetricBase {
  readonly kind: 'histogram';
  /** Ascending by upper bound; includes +Inf when the source had it. */
  readonly buckets: readonly Bucket[];
  readonly sum: number;
  readonly count: number;
}

export interface SummaryMetric extends MetricBase {
  readonly kind: 'summary';
  readonly quantiles: readonly Quantile[];
  readonly sum: number;
  readonly count: number;
}

export type Metric = ScalarMetric | HistogramMetric | SummaryMetric;

export interface MetricFamily {
  readonly name: string;
  /** Absent when the source had no HELP line (Go's encoder then writes none). */
  readonly help?: string;
  readonly type: MetricType;
  readonly metrics: readonly Metric[];
}
