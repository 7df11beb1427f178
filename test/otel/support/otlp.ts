// One push of a snapshot in every form the walk writes (translate/encode.ts):
// protobuf and OTLP/JSON, plain and gzipped, and the SDK's objects. Each
// form is read back independently (protobufjs over proto/ for the bytes, the
// objects as they are) into one neutral shape, and the forms are checked to
// carry exactly the same data before a test looks at it.

import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { DataPointType, type Histogram } from '@opentelemetry/sdk-metrics';
import { planOf, type ProcessorConfig } from '../../../src/otel/processors/plan.ts';
import type { Forms } from '../../../src/otel/requests.ts';
import { encodeSnapshot, type EncodedPush } from '../../../src/otel/translate/encode.ts';
import { isSummary, type OtelResourceMetrics } from '../../../src/otel/translate/points-sink.ts';
import type { Plan, Translator } from '../../../src/otel/translate/walk.ts';
import type { Snapshot } from '../../../src/scrape/snapshot.ts';
import { decodeJson, decodeProto, type DecodedKeyValue, type DecodedPoint, type DecodedRequest } from './receiver.ts';

export const RESOURCE = resourceFromAttributes({ 'service.name': 'kata-monitor', 'host.name': 'node-1' });

export function plan(processors: readonly ProcessorConfig[] = [], resource = RESOURCE): Plan {
  return planOf(resource, processors);
}

export type Kind = 'gauge' | 'sum' | 'histogram' | 'summary';
type Scalar = string | number | boolean;

/** A data point, whatever form it came in. Counts are decimal strings (uint64). */
export interface Point {
  /** In order. */
  readonly attrs: readonly (readonly [string, Scalar])[];
  /** Nanoseconds since the epoch, decimal. */
  readonly start: string;
  readonly time: string;
  readonly value?: number;
  readonly count?: string;
  readonly sum?: number;
  readonly buckets?: readonly string[];
  readonly bounds?: readonly number[];
  readonly quantiles?: readonly (readonly [number, number])[];
}

export interface Metric {
  readonly name: string;
  readonly description: string;
  readonly kind: Kind;
  /** 2: cumulative (sums and histograms), 0: none given (gauges, summaries). */
  readonly temporality: number;
  readonly monotonic: boolean;
  readonly points: readonly Point[];
}

export interface Request {
  readonly resource: readonly (readonly [string, Scalar])[];
  readonly scope: { readonly name: string; readonly version?: string };
  readonly metrics: readonly Metric[];
}

const ALL_FORMS: Forms = { proto: true, protoGzip: true, json: true, jsonGzip: true, points: true };

export interface Pushed {
  readonly push: EncodedPush;
  readonly requests: readonly Request[];
}

/**
 * Walks `snapshot` once into every form (or only those of `forms`, e.g. one
 * exporter's), checks that the forms made agree (gzip = plain, protobuf =
 * OTLP/JSON = objects) and returns the requests.
 */
export async function pushAll(translator: Translator, snapshot: Snapshot, p: Plan = plan(), forms: Forms = ALL_FORMS): Promise<Pushed> {
  const push = await encodeSnapshot(translator, snapshot, p, forms);
  const requests = push.requests.map((r, i) => {
    const seen: Request[] = [];
    for (const encoding of ['proto', 'json'] as const) {
      const plainMade = encoding === 'proto' ? forms.proto : forms.json;
      const zipMade = encoding === 'proto' ? forms.protoGzip : forms.jsonGzip;
      if (!plainMade && !zipMade) continue;
      const plain = Buffer.from(r.bytes(encoding, false));
      if (plainMade && zipMade) assert.deepEqual(gunzipSync(r.bytes(encoding, true)), plain, `request ${i}: gzipped ${encoding} = plain`);
      seen.push(encoding === 'proto' ? fromDecoded(decodeProto(plain)) : fromDecoded(decodeJson(plain.toString('utf8'))));
    }
    if (forms.points) seen.push(fromObjects(r.objects()));
    for (let k = 1; k < seen.length; k++) assert.deepStrictEqual(seen[k], seen[0], `request ${i}: every form carries the same data`);
    assert.equal(r.points, pointCount(seen[0]!), `request ${i}: its point count`);
    return seen[0]!;
  });
  return { push, requests };
}

export function pointCount(r: Request): number {
  return r.metrics.reduce((n, m) => n + m.points.length, 0);
}

/** All metrics of the requests, in order (a metric cut across requests appears once per request). */
export function metricsOf(requests: readonly Request[]): Metric[] {
  return requests.flatMap((r) => r.metrics);
}

export function metric(requests: readonly Request[], name: string): Metric {
  const ms = metricsOf(requests).filter((m) => m.name === name);
  assert.ok(ms.length > 0, `metric ${name} present`);
  return { ...ms[0]!, points: ms.flatMap((m) => m.points) };
}

export function attrs(p: Point): Record<string, Scalar> {
  return Object.fromEntries(p.attrs);
}

/** The point of `name` whose attributes include `match`. */
export function point(requests: readonly Request[], name: string, match: Record<string, Scalar> = {}): Point {
  const p = metric(requests, name).points.find((x) => Object.entries(match).every(([k, v]) => attrs(x)[k] === v));
  assert.ok(p, `point of ${name} with ${JSON.stringify(match)}`);
  return p;
}

export const ns = (ms: number): string => String(BigInt(ms) * 1_000_000n);

// protobufjs' objects (from either encoding): absent fields are proto3 defaults.

function scalarOf(v: DecodedKeyValue['value'] & { doubleValue?: number }): Scalar {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  return '';
}

const kvs = (list: readonly DecodedKeyValue[] | undefined): [string, Scalar][] => (list ?? []).map((kv) => [kv.key, scalarOf(kv.value)]);

function pointOfDecoded(kind: Kind, p: DecodedPoint): Point {
  const base = { attrs: kvs(p.attributes), start: p.startTimeUnixNano ?? '0', time: p.timeUnixNano ?? '0' };
  if (kind === 'gauge' || kind === 'sum') return { ...base, value: p.asDouble ?? 0 };
  if (kind === 'histogram') return { ...base, count: p.count ?? '0', sum: p.sum ?? 0, buckets: p.bucketCounts ?? [], bounds: p.explicitBounds ?? [] };
  return { ...base, count: p.count ?? '0', sum: p.sum ?? 0, quantiles: (p.quantileValues ?? []).map((q) => [q.quantile ?? 0, q.value ?? 0] as const) };
}

export function fromDecoded(req: DecodedRequest): Request {
  assert.equal(req.resourceMetrics.length, 1, 'one ResourceMetrics per request');
  const rm = req.resourceMetrics[0]!;
  assert.equal(rm.scopeMetrics.length, 1, 'one ScopeMetrics per request');
  const sm = rm.scopeMetrics[0]!;
  return {
    resource: kvs(rm.resource?.attributes),
    scope: { name: sm.scope?.name ?? '', ...(sm.scope?.version && { version: sm.scope.version }) },
    metrics: sm.metrics.map((m): Metric => {
      const kind: Kind = m.gauge ? 'gauge' : m.sum ? 'sum' : m.histogram ? 'histogram' : 'summary';
      const data = m.gauge ?? m.sum ?? m.histogram ?? m.summary;
      assert.ok(data, `metric ${m.name} has data`);
      assert.equal(m.unit ?? '', '', 'no unit');
      return {
        name: m.name,
        description: m.description ?? '',
        kind,
        temporality: m.sum?.aggregationTemporality ?? m.histogram?.aggregationTemporality ?? 0,
        monotonic: m.sum?.isMonotonic ?? false,
        points: data.dataPoints.map((p) => pointOfDecoded(kind, p)),
      };
    }),
  };
}

// The SDK's objects (the points sink).

/** An HrTime as OTLP's fixed64 carries it (a time before 1970 wraps, as in Go's collector). */
const nanos = (t: [number, number]): string => String(BigInt.asUintN(64, BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])));
const entries = (a: Attributes): [string, Scalar][] => Object.entries(a).map(([k, v]) => [k, v as Scalar]);
/** A count as an OTLP encoder writes the uint64: whole, at most 2^64 - 1. */
export const uint = (n: number): string => (n >= 2 ** 64 ? '18446744073709551615' : n > 0 ? BigInt(Math.round(n)).toString() : '0');

export function fromObjects(rm: OtelResourceMetrics): Request {
  assert.equal(rm.scopeMetrics.length, 1, 'one ScopeMetrics per request');
  const sm = rm.scopeMetrics[0]!;
  return {
    resource: entries(rm.resource.attributes),
    scope: { name: sm.scope.name, ...(sm.scope.version && { version: sm.scope.version }) },
    metrics: sm.metrics.map((m): Metric => {
      assert.equal(m.descriptor.valueType, 1 /* DOUBLE */, `${m.descriptor.name}: valueType DOUBLE (or OTLP/JSON carries no value)`);
      const base = (p: { attributes: Attributes; startTime: [number, number]; endTime: [number, number] }) => ({ attrs: entries(p.attributes), start: nanos(p.startTime), time: nanos(p.endTime) });
      const head = { name: m.descriptor.name, description: m.descriptor.description, monotonic: false };
      if (isSummary(m)) {
        return {
          ...head,
          kind: 'summary',
          temporality: 0,
          points: m.dataPoints.map((p) => ({ ...base(p), count: uint(p.value.count), sum: p.value.sum, quantiles: p.value.quantiles.map((q) => [q.quantile, q.value] as const) })),
        };
      }
      switch (m.dataPointType) {
        case DataPointType.GAUGE:
          return { ...head, kind: 'gauge', temporality: 0, points: m.dataPoints.map((p) => ({ ...base(p), value: p.value })) };
        case DataPointType.SUM:
          return { ...head, kind: 'sum', temporality: m.aggregationTemporality === 1 ? 2 : -1, monotonic: m.isMonotonic, points: m.dataPoints.map((p) => ({ ...base(p), value: p.value })) };
        default: {
          const points = (m.dataPoints as { attributes: Attributes; startTime: [number, number]; endTime: [number, number]; value: Histogram }[]).map((p) => {
            assert.equal(p.value.min, undefined, 'no min');
            assert.equal(p.value.max, undefined, 'no max');
            return { ...base(p), count: uint(p.value.count), sum: p.value.sum ?? 0, buckets: p.value.buckets.counts.map(uint), bounds: p.value.buckets.boundaries };
          });
          return { ...head, kind: 'histogram', temporality: m.aggregationTemporality === 1 ? 2 : -1, points };
        }
      }
    }),
  };
}
