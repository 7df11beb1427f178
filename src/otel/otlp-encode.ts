// Our OTLP serializer: ExportMetricsServiceRequest as protobuf (hand-written
// writer, field numbers from proto/opentelemetry/…/metrics.proto) and as
// OTLP/JSON (the proto3 JSON mapping with OTLP's rules: lowerCamelCase keys,
// enums as integers, 64-bit integers as decimal strings). It exists because the
// SDK's serializers cannot carry Summary points (the JS SDK has no Summary
// type); it takes the SDK's MetricData plus our SummaryMetricData.

import { ValueType, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import { ProtobufWriter, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../wire/protobuf-writer.ts';
import { AggregationTemporality, DataPointType, type DataPoint } from '@opentelemetry/sdk-metrics';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { isSummary, SHARED_ATTRIBUTES, type SharedAttributes, type SharedAttributesHint, type OtelMetricData, type OtelResourceMetrics, type SummaryValue } from './model.ts';

export type OtlpEncoding = 'proto' | 'json';

export const CONTENT_TYPES: Readonly<Record<OtlpEncoding, string>> = {
  proto: 'application/x-protobuf',
  json: 'application/json',
};

export function encodeRequest(rms: readonly OtelResourceMetrics[], encoding: OtlpEncoding): Uint8Array {
  return encoding === 'proto' ? encodeProto(rms) : encodeJson(rms);
}

// ---------------------------------------------------------------- protobuf




/** Per-request memo: nanosecond words per HrTime, encoded shared-attribute blocks per field number. */
export class Times {
  readonly #memo = new Map<HrTime, [number, number]>();
  readonly #millis = new Map<number, [number, number]>();
  readonly blocks = new Map<number, Map<object, Uint8Array>>();
  get(t: HrTime): [number, number] {
    let w = this.#memo.get(t);
    if (!w) this.#memo.set(t, (w = words(t)));
    return w;
  }
  /** The same for ms since epoch, as the SDK's millisToHrTime would give them. */
  ofMillis(ms: number): [number, number] {
    let w = this.#millis.get(ms);
    if (!w) this.#millis.set(ms, (w = words(millisToHrTime(ms))));
    return w;
  }
}

/** Nanoseconds since epoch as fixed64's two 32-bit words. */
function words(t: HrTime): [number, number] {
  const ns = BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
  return [Number(ns & 0xffffffffn), Number(ns >> 32n)];
}

// Bytes reserved for the length of each kind of message, what it usually
// needs (a wrong guess costs moving that message's content, see
// ProtobufWriter.end): the request-wide ones hold megabytes, a metric tens of
// kilobytes to a few megabytes, a data point its ~250 bytes of sandbox
// attributes and more. With one byte for all, every point and every
// enclosing message was moved once more: encoding took ~20 % longer at 100
// sandboxes (measured, page faults of the new buffer aside).
export const LEN_OUTER = 4;
export const LEN_METRIC = 3;
export const LEN_POINT = 2;

/** Requests are alike from one push to the next: start at the last size instead of regrowing from small. */
let sizeHint = 64 * 1024;

export function encodeProto(rms: readonly OtelResourceMetrics[]): Uint8Array {
  const w = new ProtobufWriter(sizeHint);
  const times = new Times();
  for (const rm of rms) {
    const rmMark = w.open(1, LEN_OUTER);
    writeResource(w, rm.resource);
    for (const sm of rm.scopeMetrics) {
      const smMark = w.open(2, LEN_OUTER);
      writeScope(w, sm.scope);
      for (const m of sm.metrics) writeMetric(w, times, m);
      writeScopeSchema(w, sm.scope);
      w.end(smMark, LEN_OUTER);
    }
    writeResourceSchema(w, rm.resource);
    w.end(rmMark, LEN_OUTER);
  }
  sizeHint = Math.max(64 * 1024, Math.ceil(w.pos * 1.05));
  // Hand out a view unless too much of the buffer would be wasted.
  return w.pos >= w.buf.length * 0.75 ? w.buf.subarray(0, w.pos) : w.buf.slice(0, w.pos);
}

/** ResourceMetrics.resource (field 1). */
export function writeResource(w: ProtobufWriter, resource: Resource): void {
  const mark = w.open(1);
  writeAttributes(w, resource.attributes, 1);
  w.end(mark);
}

/** ResourceMetrics.schema_url (field 3), after the scope metrics. */
export function writeResourceSchema(w: ProtobufWriter, resource: Resource): void {
  if (resource.schemaUrl) {
    w.tag(3, WIRE_LEN);
    w.string(resource.schemaUrl);
  }
}

/** ScopeMetrics.scope (field 1). */
export function writeScope(w: ProtobufWriter, scope: InstrumentationScope): void {
  const mark = w.open(1);
  w.tag(1, WIRE_LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, WIRE_LEN);
    w.string(scope.version);
  }
  w.end(mark);
}

/** ScopeMetrics.schema_url (field 3), after the metrics. */
export function writeScopeSchema(w: ProtobufWriter, scope: InstrumentationScope): void {
  if (scope.schemaUrl) {
    w.tag(3, WIRE_LEN);
    w.string(scope.schemaUrl);
  }
}

/** One Metric (ScopeMetrics field 2); `times` is the request's memo. */
export function writeMetric(w: ProtobufWriter, times: Times, m: OtelMetricData): void {
  if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) return; // never produced; not in our proto subset
  const summary = isSummary(m);
  const kind = summary ? 'summary' : m.dataPointType === DataPointType.HISTOGRAM ? 'histogram' : m.dataPointType === DataPointType.SUM ? 'sum' : 'gauge';
  const frame = metricFrame(m.descriptor, kind, m.aggregationTemporality, !summary && m.dataPointType === DataPointType.SUM && m.isMonotonic);
  const mark = w.open(2, LEN_METRIC);
  w.raw(frame.head);
  const dm = w.open(frame.dataField, LEN_METRIC);
  if (summary) {
    for (const p of m.dataPoints) writeSummaryPoint(w, times, p);
  } else if (m.dataPointType === DataPointType.HISTOGRAM) {
    for (const p of m.dataPoints) writeHistogramPoint(w, times, p);
  } else {
    const asInt = m.descriptor.valueType === ValueType.INT;
    for (const p of m.dataPoints) writeNumberPoint(w, times, p, asInt);
  }
  w.raw(frame.tail);
  w.end(dm, LEN_METRIC);
  w.end(mark, LEN_METRIC);
}

/** A metric's fixed parts: what precedes its data points and what follows them. */
export interface MetricFrame {
  /** Metric fields name, description and unit. */
  readonly head: Uint8Array;
  /** The data field: 5 gauge, 7 sum, 9 histogram, 11 summary. */
  readonly dataField: number;
  /** The data message's fields after its points: temporality (sum, histogram), monotonic (sum). */
  readonly tail: Uint8Array;
}

const DATA_FIELD = { gauge: 5, sum: 7, histogram: 9, summary: 11 } as const;

/** The frame of a metric: its points go between head and tail, as field 1 of the data message. */
export function metricFrame(
  d: { readonly name: string; readonly description?: string; readonly unit?: string },
  kind: keyof typeof DATA_FIELD,
  temporality: AggregationTemporality,
  monotonic: boolean,
): MetricFrame {
  const h = new ProtobufWriter(128);
  h.tag(1, WIRE_LEN);
  h.string(d.name);
  if (d.description) {
    h.tag(2, WIRE_LEN);
    h.string(d.description);
  }
  if (d.unit) {
    h.tag(3, WIRE_LEN);
    h.string(d.unit);
  }
  const t = new ProtobufWriter(16);
  if (kind === 'sum' || kind === 'histogram') writeTemporality(t, temporality);
  if (kind === 'sum' && monotonic) {
    t.tag(3, WIRE_VARINT);
    t.varint(1);
  }
  return { head: h.bytes(), dataField: DATA_FIELD[kind], tail: t.bytes() };
}

/** SDK enum (DELTA=0, CUMULATIVE=1) → OTLP enum (DELTA=1, CUMULATIVE=2). */
function otlpTemporality(t: AggregationTemporality): number {
  return t === AggregationTemporality.DELTA ? 1 : 2;
}

function writeTemporality(w: ProtobufWriter, t: AggregationTemporality): void {
  w.tag(2, WIRE_VARINT);
  w.varint(otlpTemporality(t));
}

function writeTimes(w: ProtobufWriter, times: Times, p: DataPoint<unknown>): void {
  const s = times.get(p.startTime);
  w.tag(2, WIRE_I64);
  w.fixed64(s[0], s[1]);
  const e = times.get(p.endTime);
  w.tag(3, WIRE_I64);
  w.fixed64(e[0], e[1]);
}

function writeNumberPoint(w: ProtobufWriter, times: Times, p: DataPoint<number>, asInt: boolean): void {
  const mark = w.open(1, LEN_POINT);
  writeTimes(w, times, p);
  if (asInt) {
    w.tag(6, WIRE_I64);
    const v = BigInt.asUintN(64, BigInt(Math.trunc(p.value)));
    w.fixed64(Number(v & 0xffffffffn), Number(v >> 32n));
  } else {
    w.tag(4, WIRE_I64);
    w.double(p.value);
  }
  writeAttributes(w, p.attributes, 7, times);
  w.end(mark, LEN_POINT);
}

interface HistogramValue {
  readonly buckets: { readonly boundaries: readonly number[]; readonly counts: readonly number[] };
  readonly sum?: number;
  readonly count: number;
  readonly min?: number;
  readonly max?: number;
}

function writeHistogramPoint(w: ProtobufWriter, times: Times, p: DataPoint<HistogramValue>): void {
  const mark = w.open(1, LEN_POINT);
  const h = p.value;
  writeTimes(w, times, p);
  w.tag(4, WIRE_I64);
  w.count(h.count);
  if (h.sum !== undefined) {
    w.tag(5, WIRE_I64);
    w.double(h.sum);
  }
  if (h.buckets.counts.length > 0) {
    const c = w.open(6);
    for (const n of h.buckets.counts) w.count(n);
    w.end(c);
  }
  if (h.buckets.boundaries.length > 0) {
    const b = w.open(7);
    for (const x of h.buckets.boundaries) w.double(x);
    w.end(b);
  }
  writeAttributes(w, p.attributes, 9, times);
  if (h.min !== undefined) {
    w.tag(11, WIRE_I64);
    w.double(h.min);
  }
  if (h.max !== undefined) {
    w.tag(12, WIRE_I64);
    w.double(h.max);
  }
  w.end(mark, LEN_POINT);
}

function writeSummaryPoint(w: ProtobufWriter, times: Times, p: DataPoint<SummaryValue>): void {
  const mark = w.open(1, LEN_POINT);
  const s = p.value;
  writeTimes(w, times, p);
  w.tag(4, WIRE_I64);
  w.count(s.count);
  w.tag(5, WIRE_I64);
  w.double(s.sum);
  for (const q of s.quantiles) {
    const qm = w.open(6);
    w.tag(1, WIRE_I64);
    w.double(q.quantile);
    w.tag(2, WIRE_I64);
    w.double(q.value);
    w.end(qm);
  }
  writeAttributes(w, p.attributes, 7, times);
  w.end(mark, LEN_POINT);
}

export function writeKeyValue(w: ProtobufWriter, field: number, key: string, v: AttributeValue): void {
  const mark = w.open(field);
  w.tag(1, WIRE_LEN);
  w.string(key);
  const vm = w.open(2);
  writeAnyValue(w, v);
  w.end(vm);
  w.end(mark);
}

function writeAttributes(w: ProtobufWriter, attrs: Attributes, field: number, memo?: Times): void {
  const hint = memo && (attrs as SharedAttributesHint)[SHARED_ATTRIBUTES];
  if (!hint) {
    for (const key in attrs) {
      const v = attrs[key];
      if (v !== undefined && v !== null) writeKeyValue(w, field, key, v);
    }
    return;
  }
  if (!writeAsLaidOut(w, attrs, field, hint, memo)) writeEdited(w, attrs, field, hint.shared, memo);
}

/**
 * The usual case: the attributes are still as the translator built them, so
 * the point's own ones are written and the sandbox's copied as one block
 * encoded once per request. Checked key by key against the hint's list, by
 * position: a few compares per key (looking each key up in `shared`
 * instead made encoding ~20 % slower, measured). False, with nothing
 * written, when the attributes no longer match it.
 */
function writeAsLaidOut(w: ProtobufWriter, attrs: Attributes, field: number, hint: SharedAttributes, memo: Times): boolean {
  const start = w.pos;
  const { keys, expected } = hint;
  let i = 0;
  for (const key in attrs) {
    const v = attrs[key];
    const e = expected[i];
    if (key !== keys[i++] || (e !== undefined && v !== e)) {
      w.pos = start;
      return false;
    }
    if (e === undefined && v !== undefined && v !== null) writeKeyValue(w, field, key, v);
  }
  if (i !== keys.length) {
    w.pos = start;
    return false;
  }
  w.raw(sharedBlock(memo, field, hint.shared));
  return true;
}

/** The sandbox's attributes as protobuf KeyValues of `field`, encoded once per request. */
function sharedBlock(memo: Times, field: number, shared: Readonly<Record<string, string>>): Uint8Array {
  let byField = memo.blocks.get(field);
  if (!byField) memo.blocks.set(field, (byField = new Map()));
  let block = byField.get(shared);
  if (!block) {
    const bw = new ProtobufWriter(256);
    for (const key in shared) writeKeyValue(bw, field, key, shared[key]!);
    block = bw.buf.slice(0, bw.pos);
    byField.set(shared, block);
  }
  return block;
}

/**
 * Someone changed the attributes after translation: those that differ from
 * the sandbox's first, in order, then the sandbox's that still match (all of
 * them: one block, when none was edited away).
 */
function writeEdited(w: ProtobufWriter, attrs: Attributes, field: number, shared: Readonly<Record<string, string>>, memo: Times): void {
  let matched = 0;
  let total = 0;
  for (const key in shared) total++;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined || v === null) continue;
    if (shared[key] === v) matched++;
    else writeKeyValue(w, field, key, v);
  }
  if (matched !== total) {
    for (const key in attrs) {
      const v = attrs[key];
      if (v !== undefined && v !== null && shared[key] === v) writeKeyValue(w, field, key, v);
    }
    return;
  }
  w.raw(sharedBlock(memo, field, shared));
}

function writeAnyValue(w: ProtobufWriter, v: AttributeValue | null | undefined): void {
  if (typeof v === 'string') {
    w.tag(1, WIRE_LEN);
    w.string(v);
  } else if (typeof v === 'boolean') {
    w.tag(2, WIRE_VARINT);
    w.varint(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      w.tag(3, WIRE_VARINT);
      w.varint(v);
    } else {
      w.tag(4, WIRE_I64);
      w.double(v);
    }
  } else if (Array.isArray(v)) {
    const am = w.open(5);
    for (const item of v as readonly (string | number | boolean | null | undefined)[]) {
      const im = w.open(1);
      if (item !== null && item !== undefined) writeAnyValue(w, item);
      w.end(im);
    }
    w.end(am);
  }
}

// ---------------------------------------------------------------- JSON

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

export function encodeJson(rms: readonly OtelResourceMetrics[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(toJsonRequest(rms)));
}

/** The OTLP/JSON object of an ExportMetricsServiceRequest. */
export function toJsonRequest(rms: readonly OtelResourceMetrics[]): { resourceMetrics: Json[] } {
  const nanos = new Map<HrTime, string>();
  const ns = (t: HrTime): string => {
    let s = nanos.get(t);
    if (s === undefined) nanos.set(t, (s = (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString()));
    return s;
  };
  return {
    resourceMetrics: rms.map((rm) => {
      const out: { [k: string]: Json } = {
        resource: { attributes: jsonAttributes(rm.resource.attributes) },
        scopeMetrics: rm.scopeMetrics.map((sm) => {
          const scope: { [k: string]: Json } = { name: sm.scope.name };
          if (sm.scope.version) scope['version'] = sm.scope.version;
          const o: { [k: string]: Json } = { scope, metrics: sm.metrics.flatMap((m) => jsonMetric(m, ns)) };
          if (sm.scope.schemaUrl) o['schemaUrl'] = sm.scope.schemaUrl;
          return o;
        }),
      };
      if (rm.resource.schemaUrl) out['schemaUrl'] = rm.resource.schemaUrl;
      return out;
    }),
  };
}

/** proto3 JSON: non-finite doubles are the strings "NaN", "Infinity", "-Infinity". */
function jd(v: number): Json {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function jcount(n: number): string {
  return String(n > 0 ? Math.round(n) : 0);
}

function jsonMetric(m: OtelMetricData, ns: (t: HrTime) => string): Json[] {
  if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) return [];
  const d = m.descriptor;
  const out: { [k: string]: Json } = { name: d.name };
  if (d.description) out['description'] = d.description;
  if (d.unit) out['unit'] = d.unit;
  const base = (p: DataPoint<unknown>): { [k: string]: Json } => ({
    attributes: jsonAttributes(p.attributes),
    startTimeUnixNano: ns(p.startTime),
    timeUnixNano: ns(p.endTime),
  });
  if (isSummary(m)) {
    out['summary'] = {
      dataPoints: m.dataPoints.map((p) => ({
        ...base(p),
        count: jcount(p.value.count),
        sum: jd(p.value.sum),
        quantileValues: p.value.quantiles.map((q) => ({ quantile: jd(q.quantile), value: jd(q.value) })),
      })),
    };
  } else if (m.dataPointType === DataPointType.HISTOGRAM) {
    out['histogram'] = {
      dataPoints: m.dataPoints.map((p) => {
        const h: HistogramValue = p.value;
        const o: { [k: string]: Json } = {
          ...base(p),
          count: jcount(h.count),
          bucketCounts: h.buckets.counts.map(jcount),
          explicitBounds: h.buckets.boundaries.map(jd),
        };
        if (h.sum !== undefined) o['sum'] = jd(h.sum);
        if (h.min !== undefined) o['min'] = jd(h.min);
        if (h.max !== undefined) o['max'] = jd(h.max);
        return o;
      }),
      aggregationTemporality: otlpTemporality(m.aggregationTemporality),
    };
  } else {
    const asInt = d.valueType === ValueType.INT;
    const dataPoints = m.dataPoints.map((p) => ({
      ...base(p),
      ...(asInt ? { asInt: String(Math.trunc(p.value)) } : { asDouble: jd(p.value) }),
    }));
    if (m.dataPointType === DataPointType.SUM) {
      out['sum'] = { dataPoints, aggregationTemporality: otlpTemporality(m.aggregationTemporality), isMonotonic: m.isMonotonic };
    } else {
      out['gauge'] = { dataPoints };
    }
  }
  return [out];
}

function jsonAttributes(attrs: Attributes): Json[] {
  const out: Json[] = [];
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined || v === null) continue;
    out.push({ key, value: jsonAnyValue(v) });
  }
  return out;
}

function jsonAnyValue(v: AttributeValue | null | undefined): { [k: string]: Json } {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: jd(v) };
  if (Array.isArray(v)) {
    return { arrayValue: { values: (v as readonly (string | number | boolean | null | undefined)[]).map((x) => jsonAnyValue(x)) } };
  }
  return {};
}
