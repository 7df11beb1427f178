// OpenMetrics 1.0 text, laid out as Go's expfmt.MetricFamilyToOpenMetrics
// (v0.62) does: HELP, TYPE, samples; floats always carry a `.` or an exponent
// (`1.0`, `0.0`); counts (`_count`, bucket counts) are integers; timestamps are
// seconds; `# EOF` closes the body.
//
// One deliberate difference: Go types a counter whose name lacks `_total` as
// `unknown` and keeps its name; we follow the OpenMetrics spec instead and
// keep it a counter whose sample is `<name>_total` (the metadata name never
// carries `_total`). Serving OpenMetrics is opt-in for exactly this reason.
// The text format has no units, so neither has what we write.

import { formatFloat } from './float.ts';
import type { Metric, MetricFamily } from './model.ts';
import { encodeSamples, escapeLabelValue, type NumberStyle } from './encode-text.ts';

/** Go's writeOpenMetricsFloat: like 'g' formatting, but `1` → `1.0`. */
export function formatOpenMetricsFloat(v: number): string {
  if (v === 0) return '0.0';
  const s = formatFloat(v);
  if (v !== v || v === Infinity || v === -Infinity) return s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */ || c === 101 /* e */) return s;
  }
  return s + '.0';
}

/** Go's writeUint for counts; non-integral input (not from our parser) falls back to a float. */
function formatCount(v: number): string {
  if (Number.isSafeInteger(v) && v >= 0) return String(v);
  if (Number.isInteger(v) && v > 0 && v < 18446744073709551616) return BigInt(v).toString();
  return formatOpenMetricsFloat(v);
}


/** One family in OpenMetrics form (no `# EOF`); '' for a family with no metrics. */
export function encodeFamilyOpenMetrics(f: MetricFamily): string {
  if (f.metrics.length === 0) return '';
  let meta = f.name;
  let sampleName = f.name;
  let type: string = f.type;
  if (f.type === 'counter') {
    if (meta.endsWith('_total')) meta = meta.slice(0, -6);
    else sampleName = meta + '_total';
  } else if (f.type === 'untyped') {
    type = 'unknown';
  }
  let out = f.help === undefined ? '' : '# HELP ' + meta + ' ' + escapeLabelValue(f.help) + '\n'; // escaped as label values are
  out += '# TYPE ' + meta + ' ' + type + '\n';
  for (const m of f.metrics) out += encodeMetric(sampleName, m);
  return out;
}

/** A complete OpenMetrics body, `# EOF` included. */
export function encodeOpenMetrics(families: readonly MetricFamily[]): string {
  let out = '';
  for (const f of families) out += encodeFamilyOpenMetrics(f);
  return out + OPENMETRICS_EOF;
}

const OPENMETRICS_EOF = '# EOF\n';

const OPENMETRICS_NUMBERS: NumberStyle = { value: formatOpenMetricsFloat, count: formatCount };

function encodeMetric(name: string, m: Metric): string {
  const ts = m.timestampMs === undefined ? '\n' : ' ' + formatOpenMetricsFloat(Number(m.timestampMs) / 1000) + '\n';
  return encodeSamples(name, m, ts, OPENMETRICS_NUMBERS);
}
