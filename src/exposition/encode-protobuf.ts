// The protobuf exposition format: varint-length-delimited
// io.prometheus.client.MetricFamily messages, as expfmt's FmtProtoDelim
// encoder writes them (protodelim.MarshalTo per family). Fields go out in
// field-number order like protobuf-go's marshaller; proto2 presence as Go's
// text parser leaves it: name, type, every value, sum and count always set,
// help/unit/timestamp only when the model has them.
//
// The encoder is hand-written (it runs on the /metrics path); the decoder
// loads proto/prometheus/metrics.proto with protobufjs, so tests check one
// independent implementation against the other.

import { packagePath } from '../package-info.ts';
import { ProtobufWriter } from '../wire/protobuf-writer.ts';
import protobuf from 'protobufjs';
import type { Bucket, Label, Metric, MetricFamily, MetricType, Quantile } from './model.ts';

const TYPE_NUMBER: Readonly<Record<MetricType, number>> = {
  counter: 0,
  gauge: 1,
  summary: 2,
  untyped: 3,
  histogram: 4,
};


function writeFamily(w: ProtobufWriter, f: MetricFamily): void {
  const outer = w.begin();
  w.byte(0x0a); // name = 1
  w.string(f.name);
  if (f.help !== undefined) {
    w.byte(0x12); // help = 2
    w.string(f.help);
  }
  w.byte(0x18); // type = 3
  w.varint(TYPE_NUMBER[f.type]);
  // Which Metric field carries a scalar: counter = 3, gauge = 2, untyped = 5.
  const scalarTag = f.type === 'counter' ? 0x1a : f.type === 'gauge' ? 0x12 : 0x2a;
  for (const m of f.metrics) {
    w.byte(0x22); // metric = 4
    const mm = w.begin();
    writeMetric(w, m, scalarTag);
    w.end(mm);
  }
  if (f.unit !== undefined) {
    w.byte(0x2a); // unit = 5
    w.string(f.unit);
  }
  w.end(outer);
}

function writeMetric(w: ProtobufWriter, m: Metric, scalarTag: number): void {
  const labels = m.labels;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as Label;
    w.byte(0x0a); // label = 1
    const lm = w.begin();
    w.byte(0x0a);
    w.string(l.name);
    w.byte(0x12);
    w.string(l.value);
    w.end(lm);
  }
  if (m.kind === 'scalar') {
    w.byte(scalarTag);
    w.byte(9);
    w.byte(0x09); // value = 1, fixed64
    w.double(m.value);
  } else if (m.kind === 'summary') {
    w.byte(0x22); // summary = 4
    const sm = w.begin();
    w.byte(0x08); // sample_count = 1
    w.uint64(m.count);
    w.byte(0x11); // sample_sum = 2
    w.double(m.sum);
    for (const q of m.quantiles) {
      w.byte(0x1a); // quantile = 3
      w.byte(18);
      w.byte(0x09);
      w.double(q.quantile);
      w.byte(0x11);
      w.double(q.value);
    }
    w.end(sm);
  }
  if (m.timestampMs !== undefined) {
    w.byte(0x30); // timestamp_ms = 6
    w.varint(Math.trunc(m.timestampMs)); // int64: negatives as two's complement
  }
  if (m.kind === 'histogram') {
    w.byte(0x3a); // histogram = 7
    const hm = w.begin();
    w.byte(0x08); // sample_count = 1
    w.uint64(m.count);
    w.byte(0x11); // sample_sum = 2
    w.double(m.sum);
    for (const b of m.buckets) {
      w.byte(0x1a); // bucket = 3
      const bm = w.begin();
      w.byte(0x08); // cumulative_count = 1
      w.uint64(b.cumulativeCount);
      w.byte(0x11); // upper_bound = 2
      w.double(b.upperBound);
      w.end(bm);
    }
    w.end(hm);
  }
}

/** All families as one delimited stream (families without metrics included, as Go would). */
export function encodeProtobufDelimited(families: readonly MetricFamily[]): Uint8Array {
  const w = new ProtobufWriter(64 * 1024);
  for (const f of families) writeFamily(w, f);
  return w.bytes();
}

/** One family as a delimited message, for callers that stream family by family. */
export function encodeFamilyProtobufDelimited(f: MetricFamily): Uint8Array {
  const w = new ProtobufWriter(1024);
  writeFamily(w, f);
  return w.bytes();
}

// --- decoding (tests, round trips, tools): protobufjs over our .proto ---

/** Shapes of Type.toObject(msg, { longs: String, defaults: false }): only present fields. */
interface LabelObj {
  name?: string;
  value?: string;
}
interface ValueObj {
  value?: number;
}
interface SummaryObj {
  sampleCount?: string;
  sampleSum?: number;
  quantile?: { quantile?: number; value?: number }[];
}
interface HistogramObj {
  sampleCount?: string;
  sampleCountFloat?: number;
  sampleSum?: number;
  bucket?: { cumulativeCount?: string; cumulativeCountFloat?: number; upperBound?: number }[];
}
interface MetricObj {
  label?: LabelObj[];
  gauge?: ValueObj;
  counter?: ValueObj;
  untyped?: ValueObj;
  summary?: SummaryObj;
  histogram?: HistogramObj;
  timestampMs?: string;
}
interface FamilyObj {
  name?: string;
  help?: string;
  type?: number;
  metric?: MetricObj[];
  unit?: string;
}

const TYPE_NAME: readonly MetricType[] = ['counter', 'gauge', 'summary', 'untyped', 'histogram'];

let familyType: protobuf.Type | undefined;

function protoPath(): string {
  return packagePath('proto', 'prometheus', 'metrics.proto');
}

function loadFamilyType(): protobuf.Type {
  familyType ??= protobuf.loadSync(protoPath()).lookupType('io.prometheus.client.MetricFamily');
  return familyType;
}

/** Decodes a delimited stream back into the model. A missing +Inf bucket stays missing. */
export function decodeProtobufDelimited(bytes: Uint8Array): MetricFamily[] {
  const T = loadFamilyType();
  const reader = protobuf.Reader.create(bytes);
  const out: MetricFamily[] = [];
  while (reader.pos < reader.len) {
    const msg = T.decodeDelimited(reader);
    const obj = T.toObject(msg, { longs: String, defaults: false }) as FamilyObj;
    out.push(toFamily(obj));
  }
  return out;
}

function toFamily(o: FamilyObj): MetricFamily {
  const type = TYPE_NAME[o.type ?? 0];
  if (type === undefined) throw new Error(`metric family "${o.name ?? ''}": unsupported type ${o.type ?? 0}`);
  const f: { name: string; help?: string; type: MetricType; unit?: string; metrics: Metric[] } = {
    name: o.name ?? '',
    type,
    metrics: (o.metric ?? []).map((m) => toMetric(m, type)),
  };
  // Presence as on the wire: absent help/unit stay absent, not undefined.
  if (o.help !== undefined) f.help = o.help;
  if (o.unit !== undefined) f.unit = o.unit;
  return f;
}

function toMetric(m: MetricObj, type: MetricType): Metric {
  const labels: Label[] = (m.label ?? []).map((l) => ({ name: l.name ?? '', value: l.value ?? '' }));
  const ts = m.timestampMs === undefined ? {} : { timestampMs: Number(m.timestampMs) };
  if (type === 'histogram') {
    const h = m.histogram ?? {};
    const buckets: Bucket[] = (h.bucket ?? []).map((b) => ({
      upperBound: b.upperBound ?? 0,
      cumulativeCount: (b.cumulativeCountFloat ?? 0) > 0 ? (b.cumulativeCountFloat as number) : Number(b.cumulativeCount ?? 0),
    }));
    const count = (h.sampleCountFloat ?? 0) > 0 ? (h.sampleCountFloat as number) : Number(h.sampleCount ?? 0);
    return { kind: 'histogram', labels, buckets, sum: h.sampleSum ?? 0, count, ...ts };
  }
  if (type === 'summary') {
    const s = m.summary ?? {};
    const quantiles: Quantile[] = (s.quantile ?? []).map((q) => ({ quantile: q.quantile ?? 0, value: q.value ?? 0 }));
    return { kind: 'summary', labels, quantiles, sum: s.sampleSum ?? 0, count: Number(s.sampleCount ?? 0), ...ts };
  }
  const holder = type === 'counter' ? m.counter : type === 'gauge' ? m.gauge : m.untyped;
  return { kind: 'scalar', labels, value: holder?.value ?? 0, ...ts };
}
