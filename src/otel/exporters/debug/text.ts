// The debug exporter's two text layouts, normal (a line per data point) and detailed (a line
// per field), as the collector's debug exporter (v0.161, internal/normal and internal/otlptext)
// writes them, numbers and times in Go's fmt (test/interop/collector-debug.test.ts compares them);
// a count's %d is written as the text format writes a timestamp (Go's writeInt).

import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { formatTimestamp as goInt } from '../../../exposition/encode-text.ts';
import { formatFloat } from '../../../exposition/float.ts';
import { isSummary, type OtelMetricData, type OtelResourceMetrics, type SummaryValue } from '../../translate/points-sink.ts';

type Kind = 'Gauge' | 'Sum' | 'Histogram' | 'Summary';

function kindOf(m: OtelMetricData): Kind {
  if (isSummary(m)) return 'Summary';
  if (m.dataPointType === DataPointType.HISTOGRAM) return 'Histogram';
  return m.dataPointType === DataPointType.SUM ? 'Sum' : 'Gauge';
}

// ------------------------------------------------------------------ normal

export function normalText(rm: OtelResourceMetrics): string {
  const resource = pairs(rm.resource.attributes, ' ');
  let out = `ResourceMetrics #0${resource ? ` ${resource}` : ''}\n`;
  rm.scopeMetrics.forEach((sm, j) => {
    const details = `${sm.scope.name}${sm.scope.version ? `@${sm.scope.version}` : ''}`;
    out += `ScopeMetrics #${j}${details ? ` ${details}` : ''}\n`;
    for (const m of sm.metrics) {
      for (const p of m.dataPoints as DataPoint<unknown>[]) out += `${m.descriptor.name}{${pairs(p.attributes, ',')}} ${normalValue(m, p.value)}\n`;
    }
  });
  return out;
}

function normalValue(m: OtelMetricData, v: unknown): string {
  if (isSummary(m)) {
    const s = v as SummaryValue;
    return `count=${goInt(s.count)} sum=${goF(s.sum)}${s.quantiles.map((q) => ` q${goV(q.quantile)}=${goV(q.value)}`).join('')}`;
  }
  if (m.dataPointType === DataPointType.HISTOGRAM) {
    const h = v as Histogram;
    let text = `count=${goInt(h.count)}`;
    if (h.sum !== undefined) text += ` sum=${goV(h.sum)}`;
    const { boundaries, counts } = h.buckets;
    return text + counts.map((c, k) => ` ${k < boundaries.length ? `le${goV(boundaries[k]!)}=` : ''}${goInt(c)}`).join('');
  }
  return goV(v as number);
}

function pairs(a: Attributes, separator: string): string {
  return Object.entries(a).map(([k, v]) => `${k}=${asString(v)}`).join(separator);
}

// ---------------------------------------------------------------- detailed

export function detailedText(rm: OtelResourceMetrics): string {
  const out: string[] = ['ResourceMetrics #0', 'Resource SchemaURL: '];
  attributeLines(out, 'Resource attributes', rm.resource.attributes);
  rm.scopeMetrics.forEach((sm, j) => {
    out.push(`ScopeMetrics #${j}`, 'ScopeMetrics SchemaURL: ', `InstrumentationScope ${sm.scope.name} ${sm.scope.version ?? ''}`);
    sm.metrics.forEach((m, k) => {
      const kind = kindOf(m);
      out.push(`Metric #${k}`, 'Descriptor:', `     -> Name: ${m.descriptor.name}`, `     -> Description: ${m.descriptor.description}`, `     -> Unit: ${m.descriptor.unit}`, `     -> DataType: ${kind}`);
      if (kind === 'Sum') out.push(`     -> IsMonotonic: ${String((m as { isMonotonic?: boolean }).isMonotonic ?? false)}`);
      if (kind === 'Sum' || kind === 'Histogram') out.push(`     -> AggregationTemporality: ${m.aggregationTemporality === AggregationTemporality.DELTA ? 'Delta' : 'Cumulative'}`);
      (m.dataPoints as DataPoint<unknown>[]).forEach((p, i) => pointLines(out, kind, p, i));
    });
  });
  return out.join('\n') + '\n';
}

function pointLines(out: string[], kind: Kind, p: DataPoint<unknown>, i: number): void {
  out.push(`${kind === 'Gauge' || kind === 'Sum' ? 'Number' : kind}DataPoints #${i}`);
  attributeLines(out, 'Data point attributes', p.attributes);
  out.push(`StartTimestamp: ${goTime(p.startTime)}`, `Timestamp: ${goTime(p.endTime)}`);
  if (kind === 'Summary') {
    const s = p.value as SummaryValue;
    out.push(`Count: ${goInt(s.count)}`, `Sum: ${goF(s.sum)}`);
    s.quantiles.forEach((q, k) => out.push(`QuantileValue #${k}: Quantile ${goF(q.quantile)}, Value ${goF(q.value)}`));
  } else if (kind === 'Histogram') {
    const h = p.value as Histogram;
    out.push(`Count: ${goInt(h.count)}`);
    if (h.sum !== undefined) out.push(`Sum: ${goF(h.sum)}`);
    h.buckets.boundaries.forEach((b, k) => out.push(`ExplicitBounds #${k}: ${goF(b)}`));
    h.buckets.counts.forEach((c, k) => out.push(`Buckets #${k}, Count: ${goInt(c)}`));
  } else {
    out.push(`Value: ${goF(p.value as number)}`);
  }
}

/** A header and one `     -> key: Type(value)` line per attribute; nothing at all when there are none. */
function attributeLines(out: string[], header: string, a: Attributes): void {
  const entries = Object.entries(a);
  if (entries.length === 0) return;
  out.push(`${header}:`);
  for (const [k, v] of entries) out.push(`     -> ${k}: ${typed(v)}`);
}

// ------------------------------------------------------- Go's formatting

/** pcommon.Value's type name and AsString(), as otlptext shows an attribute. */
function typed(v: AttributeValue | undefined): string {
  if (typeof v === 'string') return `Str(${v})`;
  if (typeof v === 'boolean') return `Bool(${v})`;
  if (typeof v === 'number') return Number.isInteger(v) ? `Int(${v})` : `Double(${asString(v)})`;
  if (Array.isArray(v)) return `Slice(${JSON.stringify(v)})`;
  return `Empty()`;
}

/** pcommon.Value.AsString(): doubles as ECMAScript writes numbers (which is what pdata mimics). */
function asString(v: AttributeValue | undefined): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : Number.isNaN(v) ? 'NaN' : '-Inf';
  if (Array.isArray(v)) return JSON.stringify(v);
  return String(v ?? '');
}

/** Go's %v of a float64: strconv's 'g' (as the text format writes values), but -0 keeps its sign. */
function goV(v: number): string {
  return Object.is(v, -0) ? '-0' : formatFloat(v);
}

/** Go's %f of a float64: six decimals, never an exponent. */
function goF(v: number): string {
  if (!Number.isFinite(v)) return formatFloat(v); // NaN, +Inf, -Inf
  if (Object.is(v, -0)) return '-0.000000';
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  return `${BigInt(v).toString()}.000000`;
}

/** Go's time.Time.String() of a UTC time: nanoseconds with their trailing zeros cut. */
function goTime(t: HrTime): string {
  const [s, ns] = t;
  const iso = new Date(s * 1000).toISOString();
  const fraction = ns > 0 ? `.${String(ns).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction} +0000 UTC`;
}
