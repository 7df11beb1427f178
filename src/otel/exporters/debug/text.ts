// The debug exporter's two text layouts, as the collector's debug exporter
// (v0.161) writes them, so that its output reads the same here and there
// (test/interop/collector-debug.test.ts compares them line for line):
//
// normal (exporter/debugexporter/internal/normal): a line per resource and
// scope, then a line per data point, `name{k=v,…} value`; histograms as
// `count=… sum=… le<bound>=<count> … <last count>`, summaries as
// `count=… sum=… q<quantile>=<value> …`.
//
// detailed (internal/otlptext): every resource, scope, metric descriptor and
// data point, one field a line.
//
// Numbers and times are written as Go's fmt writes them there: %v (shortest,
// with an exponent from 1e+06 or under 1e-04), %f (six decimals), %d, and
// time.Time's String() in UTC ("2006-01-02 15:04:05.999999999 +0000 UTC").

import { ValueType, type Attributes, type AttributeValue, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { isSummary, type OtelMetricData, type OtelResourceMetrics, type SummaryValue } from '../../translate/points-sink.ts';

type Kind = 'Gauge' | 'Sum' | 'Histogram' | 'Summary';

function kindOf(m: OtelMetricData): Kind {
  if (isSummary(m)) return 'Summary';
  if (m.dataPointType === DataPointType.HISTOGRAM) return 'Histogram';
  return m.dataPointType === DataPointType.SUM ? 'Sum' : 'Gauge';
}

const isInt = (m: OtelMetricData): boolean => m.descriptor.valueType === ValueType.INT;

// ------------------------------------------------------------------ normal

export function normalText(rm: OtelResourceMetrics): string {
  let out = `ResourceMetrics #0${attributesString(rm.resource.attributes)}\n`;
  rm.scopeMetrics.forEach((sm, j) => {
    const details = `${sm.scope.name}${sm.scope.version ? `@${sm.scope.version}` : ''}`;
    out += `ScopeMetrics #${j}${details ? ` ${details}` : ''}\n`;
    for (const m of sm.metrics) {
      for (const p of m.dataPoints as DataPoint<unknown>[]) out += `${m.descriptor.name}{${pointAttributes(p.attributes)}} ${normalValue(m, p.value)}\n`;
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
    if (h.min !== undefined) text += ` min=${goV(h.min)}`;
    if (h.max !== undefined) text += ` max=${goV(h.max)}`;
    const { boundaries, counts } = h.buckets;
    counts.forEach((c, k) => {
      text += ` ${k < boundaries.length ? `le${goV(boundaries[k]!)}=` : ''}${goInt(c)}`;
    });
    return text;
  }
  return isInt(m) ? goInt(v as number) : goV(v as number);
}

/** `k=v k=v` after a space, or nothing. */
function attributesString(a: Attributes): string {
  const parts = Object.entries(a).map(([k, v]) => `${k}=${asString(v)}`);
  return parts.length > 0 ? ` ${parts.join(' ')}` : '';
}

function pointAttributes(a: Attributes): string {
  return Object.entries(a)
    .map(([k, v]) => `${k}=${asString(v)}`)
    .join(',');
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
      (m.dataPoints as DataPoint<unknown>[]).forEach((p, i) => pointLines(out, m, kind, p, i));
    });
  });
  return out.join('\n') + '\n';
}

function pointLines(out: string[], m: OtelMetricData, kind: Kind, p: DataPoint<unknown>, i: number): void {
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
    if (h.min !== undefined) out.push(`Min: ${goF(h.min)}`);
    if (h.max !== undefined) out.push(`Max: ${goF(h.max)}`);
    h.buckets.boundaries.forEach((b, k) => out.push(`ExplicitBounds #${k}: ${goF(b)}`));
    h.buckets.counts.forEach((c, k) => out.push(`Buckets #${k}, Count: ${goInt(c)}`));
  } else {
    out.push(`Value: ${isInt(m) ? goInt(p.value as number) : goF(p.value as number)}`);
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

/** Go's %d of a count (an integer; JS keeps it exactly up to 2^53). */
function goInt(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : BigInt(Math.trunc(n)).toString();
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return undefined;
}

/** Go's %v of a float64: the shortest digits that read back, with an exponent (at least two digits) when it is under -4 or at least 6. */
export function goV(v: number): string {
  const s = special(v);
  if (s) return s;
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, e] = v.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(v);
}

/** Go's %f of a float64: six decimals, never an exponent. */
export function goF(v: number): string {
  const s = special(v);
  if (s) return s;
  if (Object.is(v, -0)) return '-0.000000';
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  return `${BigInt(v).toString()}.000000`;
}

/** Go's time.Time.String() of a UTC time: nanoseconds with their trailing zeros cut. */
export function goTime(t: HrTime): string {
  const [s, ns] = t;
  const iso = new Date(s * 1000).toISOString();
  const fraction = ns > 0 ? `.${String(ns).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction} +0000 UTC`;
}
