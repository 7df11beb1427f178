// The OpenTelemetry metric data we produce: the SDK's own types (so that an SDK
// MetricReader, the Prometheus exporter and the SDK's tooling accept them) plus
// one extension, Summary, which the JS SDK has no DataPointType for. Only our
// serializer (otlp-encode.ts) knows the extension; producer.ts strips it
// before handing data to SDK components.

import type { DataPoint, MetricData, MetricDescriptor, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Marks our Summary extension; the SDK's DataPointType values are numbers, so a string cannot collide. */
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

export interface OtelScopeMetrics {
  readonly scope: InstrumentationScope;
  readonly metrics: OtelMetricData[];
}

/** ResourceMetrics that may hold summaries. */
export interface OtelResourceMetrics {
  readonly resource: Resource;
  readonly scopeMetrics: OtelScopeMetrics[];
}

export function isSummary(m: OtelMetricData): m is SummaryMetricData {
  return m.dataPointType === SUMMARY_POINT_TYPE;
}

export function countDataPoints(rm: OtelResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

/**
 * Serialisation hint on a data point's attributes: these key/values are
 * shared by every point of one sandbox, so the protobuf encoder encodes them
 * once per sandbox and copies the bytes. A symbol key, so for-in,
 * Object.keys and JSON (what the SDK and the Prometheus exporter use) never
 * see it; the encoder checks the values still match before using it.
 */
export const SHARED_ATTRIBUTES = Symbol('kata.sharedAttributes');

/**
 * What the hint says. `keys` and `expected` describe the attribute objects
 * built on it (all of one label-name list in one sandbox): their keys in
 * order, and per key the value it must have to be part of the shared block
 * (undefined: a point's own attribute, written per point). Checking an
 * object against that list by position is much cheaper than looking every
 * key up in `shared`.
 */
export interface SharedAttributes {
  /** The sandbox's key/values, in the order they are encoded; the identity the encoded block is cached by. */
  readonly shared: Readonly<Record<string, string>>;
  readonly keys: readonly string[];
  readonly expected: readonly (string | undefined)[];
}

export interface SharedAttributesHint {
  [SHARED_ATTRIBUTES]?: SharedAttributes;
}

/**
 * One OTLP request already encoded as protobuf (the push path of
 * index-encoder.ts): what an export queue holds instead of the object model
 * when every exporter of a pipeline speaks protobuf. Gzipped when the
 * exporters compress: ~18 B a point instead of ~350 (the sandbox attributes
 * repeat), which is what lets a queue ride out an outage in little memory.
 */
export class EncodedRequest {
  readonly points: number;
  readonly #proto: Uint8Array | undefined;
  readonly #gzip: Uint8Array | undefined;
  constructor(points: number, bytes: { readonly proto?: Uint8Array; readonly gzip?: Uint8Array }) {
    if (!bytes.proto && !bytes.gzip) throw new TypeError('an encoded request needs its bytes');
    this.points = points;
    this.#proto = bytes.proto;
    this.#gzip = bytes.gzip;
  }

  /** The bytes to send: gzipped or not, made from the other form if it was not kept. */
  wire(gzip: boolean): Uint8Array {
    if (gzip) return this.#gzip ?? gzipSync(this.#proto!, { level: GZIP_LEVEL });
    return this.#proto ?? gunzipSync(this.#gzip!);
  }

  /** What it holds, in bytes. */
  get size(): number {
    return (this.#proto?.length ?? 0) + (this.#gzip?.length ?? 0);
  }
}

/**
 * zlib level of OTLP request bodies. Measured on a request of 8,192 points
 * (2.8 MB): level 1 650 MB/s to 18 B a point, level 6 (zlib's default)
 * 250 MB/s to 14 B a point. The CPU is worth more than the bytes here.
 */
export const GZIP_LEVEL = 1;

/** What an exporter queues: the object model (encoded at each attempt) or protobuf bytes. */
export type OtlpRequest = OtelResourceMetrics | EncodedRequest;

export function requestPoints(r: OtlpRequest): number {
  return r instanceof EncodedRequest ? r.points : countDataPoints(r);
}
