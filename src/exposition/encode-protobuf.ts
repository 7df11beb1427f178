// The protobuf exposition format: varint-length-delimited
// io.prometheus.client.MetricFamily messages, as expfmt's FmtProtoDelim
// encoder writes them (protodelim.MarshalTo per family). Fields go out in
// field-number order like protobuf-go's marshaller; proto2 presence as Go's
// text parser leaves it: name, type, every value, sum and count always set,
// help and timestamp only when the model has them.
//
// Hand-written (it runs on the /metrics path); tests decode it with
// protobufjs over proto/prometheus/metrics.proto, an independent reader.

import { ProtobufWriter } from '../wire/protobuf-writer.ts';
import type { Label, Metric, MetricFamily, MetricType } from './model.ts';

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
    if (typeof m.timestampMs === 'bigint') w.varintBig(m.timestampMs);
    else w.varint(Math.trunc(m.timestampMs)); // int64: negatives as two's complement
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
