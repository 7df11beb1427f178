// Decodes the Prometheus protobuf exposition format (delimited
// io.prometheus.client.MetricFamily) with protobufjs over our proto/ subset:
// a reader independent of the hand-written encoder it checks.

import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import type { Bucket, Label, Metric, MetricFamily, MetricType, Quantile } from '../../src/exposition/model.ts';


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
  return fileURLToPath(new URL('../../proto/prometheus/metrics.proto', import.meta.url));
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
